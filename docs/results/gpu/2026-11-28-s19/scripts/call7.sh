#!/usr/bin/env bash
# Session 19, call 7: the kept code (one slice an iteration; the fetch only reads) in the model's
# prefill, then the official Mamba-1/2 and Mamba-3 prefill scripts on the same machine.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
OUT=$R/new1 timeout 100 bash tools/gpu/compare.sh new prefill > /dev/null 2>&1; echo "new prefill rc $? $(date -u +%T)" >> $R/gpu.txt; pack
OUT=$R timeout 130 bash tools/gpu/compare.sh family > /dev/null 2>&1; echo "family rc $? $(date -u +%T)" >> $R/gpu.txt; pack
mkdir -p $R/anchors; timeout 80 python3 .gpu/anchors/perf_ref.py .gpu/ref > $R/anchors/perf_ref.json 2> $R/anchors/perf_ref.err; echo "perf_ref rc $? $(date -u +%T)" >> $R/gpu.txt; pack
