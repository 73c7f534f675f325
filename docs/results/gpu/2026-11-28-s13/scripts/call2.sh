#!/usr/bin/env bash
# Session 13, call 2: workgroup memory an SM gives a WebGPU kernel, and whether it bounds the vec4
# chunk kernels (tools/gpu/occupancy-variants.mjs for kernel-time.mjs); then the official Mamba-3
# prefill (perf_ref.py) and our model suite (SISO, MIMO r4) on the same machine. Code: 6ef6d5e.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/occupancy-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 200 node kernel-time.mjs occupancy-variants.json 2>&1 | grep -v '^Warning' > $R/occ.txt )
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
mkdir -p $R/anchors
timeout 200 python3 .gpu/anchors/perf_ref.py .gpu/ref > $R/anchors/perf_ref.json 2> $R/anchors/perf_ref.err; echo "perf_ref rc $?" >> $R/gpu.txt
cp $R/anchors/perf_ref.json /tmp/
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
OUT=$R bash tools/gpu/compare.sh new model > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
