#!/usr/bin/env bash
# Session 15, call 1: fewer readbacks in the graph decode (compare.sh reads), twice, with the
# host's cost a dispatch (encode-cost.mjs) between. Code: this session's tree.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
OUT=$R/a bash tools/gpu/compare.sh new reads > /dev/null 2>&1
(cd /tmp/m3 && timeout 60 node encode-cost.mjs > $R/encode-cost.txt 2>&1)
OUT=$R/b bash tools/gpu/compare.sh new reads > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
