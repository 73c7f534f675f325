#!/usr/bin/env bash
# Session 18, call 3: the session's final library code (1ffb39b; bench and probes unchanged since)
# beside the official code in the same run: `compare.sh anchors`, then `compare.sh new decode
# parts batch` (graph decode at 512 tokens, SISO and MIMO r4, f32 and bf16; the decode step's
# parts; batched graph decode at batches 1/8/32/128 and generate serving 32 prompts).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
OUT=$R timeout 230 bash tools/gpu/compare.sh anchors > /dev/null 2>&1
date -u >> $R/gpu.txt
OUT=$R timeout 300 bash tools/gpu/compare.sh new decode parts batch > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
