#!/usr/bin/env bash
# Session 17, call 1: head-pick.mjs (the greedy pick folded into the LM head, against the old
# step captured with the kernel unregistered; vocabularies 50,280 and 50,277; bf16 and f32),
# 12 rounds of 384 tokens; then compare.sh new decode (the bench's graph decode rows).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 330 node head-pick.mjs 12 384 2>&1 | grep -v '^Warning' > $R/head-pick.1.txt)
date -u >> $R/gpu.txt
OUT=$R timeout 220 bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
