#!/usr/bin/env bash
# Session 17, call 5: graph-copies.mjs (a step graph run's log and row copies as buffer copies,
# which end the compute pass, or as copy dispatches inside it; two backends in one process),
# 10 rounds of 384 tokens, bf16 and f32.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 420 node graph-copies.mjs 10 384 2>&1 | grep -v '^Warning' > $R/graph-copies.1.txt)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
