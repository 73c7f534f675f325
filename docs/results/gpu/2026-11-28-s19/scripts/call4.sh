#!/usr/bin/env bash
# Session 19, call 4: the final tiled product (fetched words' arithmetic at the store, two slices
# an iteration in the unrolled forms) in the model: prefill base/new/new/base, batched decode
# base/new, then the official Mamba-1/2 and Mamba-3 scripts on the same machine.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
i=0
for s in base new new base; do
  i=$((i+1)); OUT=$R/$s$i timeout 150 bash tools/gpu/compare.sh $s prefill > /dev/null 2>&1; echo "$s prefill rc $? $(date -u +%T)" >> $R/gpu.txt; pack
done
for s in base new; do
  i=$((i+1)); OUT=$R/$s$i timeout 120 bash tools/gpu/compare.sh $s batch > /dev/null 2>&1; echo "$s batch rc $? $(date -u +%T)" >> $R/gpu.txt; pack
done
OUT=$R timeout 150 bash tools/gpu/compare.sh family > /dev/null 2>&1; echo "family rc $? $(date -u +%T)" >> $R/gpu.txt; pack
OUT=$R timeout 200 bash tools/gpu/compare.sh anchors > /dev/null 2>&1; echo "anchors rc $? $(date -u +%T)" >> $R/gpu.txt; pack
