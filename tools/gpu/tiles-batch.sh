#!/usr/bin/env bash
# On the GPU host (issue 16, goals 2 and 3), about six minutes:
# 1. the register-tile sweep on the prefill products, the leading variants only, two rounds
#    taking turns (ranked by the median);
# 2. the same on batched-decode products (8/32/128 rows), one round: the decode GEMV ('auto')
#    against the tiled kernel with K split ('auto-tiled', two forced variants; gemvMaxRows 0)
#    (with four variants and two rounds it ran past 100 s on an H200 and printed nothing);
# 3. model prefill at 512/2048/8192, SISO and MIMO r4: 'auto' and forced variants;
# 4. batched graph decode at batch 1/8/32/128: the decode GEMV up to 128 rows (webgpu), and the
#    tiled kernel above 16 and above 4 rows (webgpu-gemvmax16, webgpu-gemvmax4).
# Usage, after bundling (see bench.sh): . .gpu/setup.sh && bash tools/gpu/tiles-batch.sh OUT_DIR
# Env: TILES (prefill sweep list), MODEL_TILES (forced variants of step 3).
set -uo pipefail
out=${1:?usage: tiles-batch.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
log="$out/run.log"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; date -u; } 2>&1 | tee "$log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[\|^  matmul ' ; }
tiles=${TILES:-128x64x8-8x8,128x128x8-8x8,128x128x8-8x8w,128x128x8-8x8wu,128x128x16-8x8w,128x128x16-8x8wu,128x64x16-8x8wu,64x128x16-8x8w}
echo "== 1. prefill products $(date -u +%T)" | tee -a "$log"
timeout 200 node bench.mjs --suite webgpu-kernels --backend cpu --set only=matmul --set tiles=$tiles --set rounds=2 \
  --json "$out/sweep-prefill.json" 2>&1 | q | tee -a "$log"
echo "== 2. batched-decode products $(date -u +%T)" | tee -a "$log"
timeout 150 node bench.mjs --suite webgpu-kernels --backend cpu --set only=matmul --set shapes=decode \
  --set tiles=32x64x16-4x4w,64x64x16-4x4w --set rounds=1 --json "$out/sweep-decode.json" 2>&1 | q | tee -a "$log"
mt=${MODEL_TILES:-128x128x8-8x8wu,128x128x8-8x8}
backends="--backend webgpu"; for t in ${mt//,/ }; do backends="$backends --backend webgpu-mm-$t"; done
echo "== 3. model prefill: auto, $mt $(date -u +%T)" | tee -a "$log"
MAMBA3_MATMUL_TILES=$mt timeout 170 node bench.mjs --suite model $backends --set lengths=512,2048,8192 --set decodeSteps=4 \
  --json "$out/model-prefill.json" 2>&1 | q | grep -i 'prefill\|error' | tee -a "$log"
echo "== 4. batched decode $(date -u +%T)" | tee -a "$log"
timeout 100 node bench.mjs --suite model --backend webgpu --backend webgpu-gemvmax16 --backend webgpu-gemvmax4 --set models=SISO \
  --set lengths=512 --set decodeSteps=64 --set batches=1,8,32,128 --json "$out/batch.json" 2>&1 | q | grep -i 'batch\|error' | tee -a "$log"
echo "== done $(date -u +%T)" | tee -a "$log"
