#!/usr/bin/env bash
# Session 17, call 4: where goal 1 stands on this session's code (greedy graphs end in the fused
# head pick, keys of 16), beside the official code in the same run: `compare.sh anchors`, then
# `compare.sh new decode parts` (graph decode at 512 tokens, SISO and MIMO r4, f32 and bf16
# weights; GPU µs of each part of a decode step, the fused head pick among them).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
OUT=$R timeout 300 bash tools/gpu/compare.sh anchors > /dev/null 2>&1
date -u >> $R/gpu.txt
OUT=$R timeout 250 bash tools/gpu/compare.sh new decode parts > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
