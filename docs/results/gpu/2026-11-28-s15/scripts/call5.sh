#!/usr/bin/env bash
# Session 15, call 5: read-groups.mjs with the `generate` variant (its paced groups, ec51c60),
# 8 rounds of 512 tokens a variant, twice. Code: this session's tree.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && for i in 1 2; do timeout 240 node read-groups.mjs 8 512 2>&1 | grep -v '^Warning' > $R/read-groups.$i.txt; done)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
