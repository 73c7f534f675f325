#!/usr/bin/env bash
# Session 18, call 1: the picks that write the next step's embedded rows (lmHeadArgmaxEmbed,
# sampleByInverseCdfEmbed) against the step before (the ids-only pick, then the embedding's
# gather), greedy and sampled graphs, bf16 and f32, 12 rounds in one process
# (`head-pick.mjs 12 384 --next-rows`); then the official code (`compare.sh anchors`) and this
# code's graph decode and decode parts in the same run (`compare.sh new decode parts`).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 170 node head-pick.mjs 12 384 --next-rows > $R/next-rows.txt 2>&1)
date -u >> $R/gpu.txt
OUT=$R timeout 230 bash tools/gpu/compare.sh anchors > /dev/null 2>&1
date -u >> $R/gpu.txt
OUT=$R timeout 170 bash tools/gpu/compare.sh new decode parts > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
