#!/usr/bin/env bash
# Session 17, call 7: where goal 1 stands on the session's final library code (the fused head
# pick; a run's log and row copies as dispatches with their offsets in a uniform), beside the
# official code in the same run: `compare.sh anchors`, then `compare.sh new decode`.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
OUT=$R timeout 260 bash tools/gpu/compare.sh anchors > /dev/null 2>&1
date -u >> $R/gpu.txt
OUT=$R timeout 170 bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
