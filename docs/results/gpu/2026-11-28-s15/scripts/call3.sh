#!/usr/bin/env bash
# Session 15, call 3: generate's grouped reads (StepGraph.collect). tools/gpu/read-groups.mjs
# (8 rounds of 512 tokens a variant, bf16 then f32 weights) twice, then `compare.sh new decode`
# (graph decode with groups of 8 beside a read a token; SISO and MIMO r4, f32 and bf16).
# Code: this session's tree.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && for i in 1 2; do timeout 200 node read-groups.mjs 8 512 2>&1 | grep -v '^Warning' > $R/read-groups.$i.txt; done)
OUT=$R bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
