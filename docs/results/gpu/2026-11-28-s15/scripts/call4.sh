#!/usr/bin/env bash
# Session 15, call 4: read-groups.mjs once more on another machine (8 rounds of 512 tokens), then
# `compare.sh new batch` (batched graph decode, batches 1/8/32/128, now read in groups of 8 as
# generate does, and generate serving 32 prompts). Code: this session's tree (0825054).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 200 node read-groups.mjs 8 512 2>&1 | grep -v '^Warning' > $R/read-groups.1.txt)
OUT=$R bash tools/gpu/compare.sh new batch > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
