#!/usr/bin/env bash
# Session 16, call 6: sample-ahead.mjs with rounds in alternating order (4fea446; the library code as
# call 5), 16 rounds of 512 tokens a variant, once: whether `generate T=1`'s place at the end of
# every round (calls 1, 2 and 5) weighed on it.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 280 node sample-ahead.mjs 16 512 2>&1 | grep -v '^Warning' > $R/sample-ahead.1.txt)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
