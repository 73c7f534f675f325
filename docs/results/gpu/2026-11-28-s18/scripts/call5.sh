#!/usr/bin/env bash
# Session 18, call 5: graph decode of the final GPU code (aa203a3's bundle; the later commits change
# composites and docs only) beside the official CUDA-graph decode step in the same run:
# decode_ref.py (the decode half of `compare.sh anchors`), then `compare.sh new decode`.
# Results are written straight into $OUT.
R=$OUT
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
mkdir -p $R/anchors
timeout 200 python3 .gpu/anchors/decode_ref.py .gpu/ref > $R/anchors/decode_ref.json 2> $R/anchors/decode_ref.err
cp $R/anchors/decode_ref.json /tmp/
date -u >> $R/gpu.txt
OUT=$R timeout 150 bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
