#!/usr/bin/env bash
# Session 12, call 2: base6 (HEAD b883268) vs new (pipelined chunk kernels, kWhole matmul):
# per-kernel profiles at 8192 (alternating, twice each), scalar-vs-vec4 scan kernels (SISO, MIMO r4),
# prefill tok/s, the products alone old vs new code.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
for i in 1 2; do for b in base6 new; do
  bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b $R/$b-p$i
done; done
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
( cd /tmp/m3 && for v in new legacy; do timeout 120 node bench.mjs --suite webgpu-profile --set length=8192 --set scan=$v --json $R/scan-$v.json > $R/scan-$v.log 2>&1; done )
date -u >> $R/gpu.txt
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/decode-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 100 node kernel-time.mjs decode-variants.json > $R/kt.txt 2>&1 )
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
bash tools/gpu/compare.sh base6 prefill > /dev/null 2>&1
bash tools/gpu/compare.sh new prefill > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
