#!/usr/bin/env bash
# On the GPU host: the parity recipe (train on 64 bits, evaluate on 256) through WebGPU, with
# and without the data-dependent rotations. Usage: . .gpu/setup.sh && bash tools/gpu/parity.sh OUT_DIR [STEPS]
set -uo pipefail
out=${1:?usage: parity.sh OUT_DIR [STEPS]}
steps=${2:-2000}
. "$(dirname "$0")/enter-bundle.sh" "$out"
for complex in true false; do
  timeout 280 node cli.mjs train --task parity --backend webgpu --complex $complex --steps "$steps" \
    --train-length 64 --eval-length 256 --batch-size 64 --lr 0.01 --d-model 32 --n-layer 1 --d-state 16 --headdim 8 \
    --seed 1 --eval-every 250 --out "$out/parity-$complex.json" 2>&1 | grep -v '^Warning' | tr '\r' '\n' | grep -v '^parity complex' | tee -a "$out/parity.log"
done
