#!/usr/bin/env bash
# Session 13, call 5: Mamba-1's staged chunk outputs with 64 (today), 128 and 256 channels a
# workgroup (occupancy-variants.mjs, kernel-time.mjs), one layer at 8192 tokens.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/occupancy-variants.json /tmp/m3/
( cd /tmp/m3 && for i in 1 2; do timeout 100 node kernel-time.mjs occupancy-variants.json '^m1out' 2>&1 | grep -v '^Warning'; done > $R/kt.txt )
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
