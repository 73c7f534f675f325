#!/usr/bin/env bash
# Session 13, call 6: base7 (6ef6d5e) vs new (685553a: Mamba-1's staged chunk outputs 128 channels
# a workgroup): per-kernel profiles at 8192 (alternating, twice each), then prefill tok/s.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
for i in 1 2; do for b in new base7; do
  bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b $R/$b-p$i
done; done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
bash tools/gpu/compare.sh base7 prefill > /dev/null 2>&1
bash tools/gpu/compare.sh new prefill > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
