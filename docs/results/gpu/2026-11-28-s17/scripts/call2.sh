#!/usr/bin/env bash
# Session 17, call 2: head-pick-forms.mjs (the head epilogue's key forms each / check / flush,
# keys of 256 or 16 ids, beside the old step), 10 rounds of 384 tokens, vocabulary 50,277.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 400 node head-pick-forms.mjs 10 384 2>&1 | grep -v '^Warning' > $R/head-pick-forms.1.txt)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
