#!/usr/bin/env bash
# Session 20, call 2: the prefill products at 1,024-3,072 rows on every tile the rule can pick, timed
# as a chain (KT_CHAIN=1), twice; then call 1's model runs with the backends in the reverse order.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; node --version; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
bash .gpu/unpack.sh
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/decode-variants.json /tmp/m3/
cd /tmp/m3
for i in 1 2; do KT_CHAIN=1 timeout 150 node kernel-time.mjs decode-variants.json > $R/kt$i.txt 2>&1; echo "kt$i rc $? $(date -u +%T)" >> $R/gpu.txt; pack; done
export MAMBA3_MATMUL_TILES=128x128x8-8x8wu,64x128x8-8x8wu
timeout 280 node bench.mjs --suite model --backend webgpu-mm-64x128x8-8x8wu --backend webgpu-mm-128x128x8-8x8wu --backend webgpu --set models=SISO,Mamba-1,Mamba-2 \
  --set lengths=1280,1536,1792,2048,2304,2560,2816,3072 --set prefillRuns=5 --set decodeSteps=4 \
  --json $R/tilesB.json --md $R/tilesB.md > $R/tilesB.log 2>&1
echo "tilesB rc $? $(date -u +%T)" >> $R/gpu.txt; pack
