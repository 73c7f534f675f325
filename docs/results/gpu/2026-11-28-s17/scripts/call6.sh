#!/usr/bin/env bash
# Session 17, call 6: graph-copies.mjs again on another machine (10 rounds of 384 tokens), then
# `compare.sh new decode` with copy dispatches as the default (graph decode at 512 tokens, SISO
# and MIMO r4, f32 and bf16; no anchors in this call: call 4's official figures stand beside it).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 240 node graph-copies.mjs 10 384 2>&1 | grep -v '^Warning' > $R/graph-copies.2.txt)
date -u >> $R/gpu.txt
OUT=$R timeout 200 bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
