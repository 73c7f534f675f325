#!/usr/bin/env bash
# Session 17, call 3: head-pick-forms.mjs (keys of 16 to 256 ids, the pick's key loads issued
# together, beside the old step), 10 rounds of 384 tokens, vocabulary 50,277; then head-pick.mjs
# (the default, keys of 16, beside the old step at 50,280 and 50,277, and generate) 8 rounds.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && timeout 250 node head-pick-forms.mjs 10 384 2>&1 | grep -v '^Warning' > $R/head-pick-forms.2.txt)
date -u >> $R/gpu.txt
(cd /tmp/m3 && timeout 250 node head-pick.mjs 8 384 2>&1 | grep -v '^Warning' > $R/head-pick.2.txt)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
