#!/usr/bin/env bash
# Session 20, call 1: the prefill tile rule in the model at 1,280-3,072 tokens: 'auto' beside each
# tile forced (128x128 and 64x128, the two WAVE_TILES), SISO / Mamba-1 / Mamba-2, then the official
# Mamba-3 prefill (perf_ref.py: 512/2048/8192) on the same machine.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; node --version; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
bash .gpu/unpack.sh
export MAMBA3_MATMUL_TILES=128x128x8-8x8wu,64x128x8-8x8wu
cd /tmp/m3
run() { # $1: name, then backends
  local name=$1; shift
  timeout 280 node bench.mjs --suite model $(printf -- '--backend %s ' "$@") --set models=SISO,Mamba-1,Mamba-2 \
    --set lengths=1280,1536,1792,2048,2304,2560,2816,3072 --set prefillRuns=5 --set decodeSteps=4 \
    --json $R/$name.json --md $R/$name.md > $R/$name.log 2>&1
  echo "$name rc $? $(date -u +%T)" >> $R/gpu.txt
}
run tilesA webgpu webgpu-mm-128x128x8-8x8wu webgpu-mm-64x128x8-8x8wu; pack
cd - > /dev/null
mkdir -p $R/anchors; timeout 90 python3 .gpu/anchors/perf_ref.py .gpu/ref > $R/anchors/perf_ref.json 2> $R/anchors/perf_ref.err; echo "perf_ref rc $? $(date -u +%T)" >> $R/gpu.txt; pack
