#!/usr/bin/env bash
# Session 13, call 4: the vec4 and the scalar scan kernels (`scan=legacy`) on one machine with the
# current code (base7 = 6ef6d5e), SISO and MIMO r4 at 8192 tokens, twice (the profiles now and
# then run one model at 1.4-2.5x in every kernel).
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
for i in 1 2; do bash tools/gpu/compare.sh base7 scan8k > /dev/null 2>&1; mv $R/base7 $R/base7-s$i; date -u >> $R/gpu.txt; cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null; done
