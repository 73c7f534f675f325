#!/usr/bin/env bash
# Session 15, call 7: read-groups.mjs with `generate` greedy (temperature 0) and at its default
# temperature 1, 8 rounds of 512 tokens a variant, twice. Code: this session's tree.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && for i in 1 2; do timeout 200 node read-groups.mjs 8 512 2>&1 | grep -v '^Warning' > $R/read-groups.$i.txt; done)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
