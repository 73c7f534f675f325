#!/usr/bin/env bash
# Session 13, call 1: base7 (HEAD 6ef6d5e) vs new (the vec4 chunk kernels double-buffered: one
# barrier a step): per-kernel profiles at 8192 (alternating, twice each), the vec4 and scalar scan
# kernels (SISO, MIMO r4), prefill tok/s.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
for i in 1 2; do for b in base7 new; do
  bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b $R/$b-p$i
done; done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
bash tools/gpu/compare.sh new scan8k > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
bash tools/gpu/compare.sh base7 prefill > /dev/null 2>&1
bash tools/gpu/compare.sh new prefill > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
