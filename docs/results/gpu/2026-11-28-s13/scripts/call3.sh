#!/usr/bin/env bash
# Session 13, call 3: kernel-time.mjs on the chunk kernels old (6ef6d5e: chunk outputs 13 KiB of
# workgroup memory) and new (the decays in Ss after the pass over N: 12 KiB), and on the products
# with shallower or unpadded staging (occupancy-variants.mjs); then base7 vs new in the model:
# per-kernel profiles at 8192 (alternating, twice each) and prefill tok/s.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/occupancy-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 150 node kernel-time.mjs occupancy-variants.json '^(chunk(Output|State) \+0 (old|new)|mm .* new)$' 2>&1 | grep -v '^Warning' > $R/kt.txt )
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
export OUT=$R
for i in 1 2; do for b in base7 new; do
  bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b $R/$b-p$i
done; done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
bash tools/gpu/compare.sh base7 prefill > /dev/null 2>&1
bash tools/gpu/compare.sh new prefill > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
