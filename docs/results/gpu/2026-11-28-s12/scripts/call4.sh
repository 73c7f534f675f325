#!/usr/bin/env bash
# Session 12, call 4: base6 (HEAD b883268) vs new (the matmul without its k bound checks where the
# slices tile K): prefill at 512/1024/2048/8192 and per-kernel profiles at 8192; the official Mamba-2 first.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
timeout 150 bash tools/gpu/compare.sh family > /dev/null 2>&1
date -u >> $R/gpu.txt
for b in base6 new; do bash tools/gpu/compare.sh $b prefill prefill1k > /dev/null 2>&1; done
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
date -u >> $R/gpu.txt
for b in new base6; do bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b/profile8kf.json $R/$b/profile8kf-$b.json; done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
