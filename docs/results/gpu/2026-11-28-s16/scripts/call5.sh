#!/usr/bin/env bash
# Session 16, call 5: sample-ahead.mjs with the session's final code (2ddb398: writeAhead and the
# sampling pick in workgroup memory), 16 rounds of 512 tokens a variant, twice.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && for i in 1 2; do timeout 250 node sample-ahead.mjs 16 512 2>&1 | grep -v '^Warning' > $R/sample-ahead.$i.txt; done)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
