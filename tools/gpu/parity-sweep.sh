#!/usr/bin/env bash
# On the GPU host: several parity recipes at once (one Node process and WebGPU device each; the
# runs are dispatch-bound, so they share the GPU well). Usage: . .gpu/setup.sh && bash tools/gpu/parity-sweep.sh OUT_DIR
set -uo pipefail
out=${1:?usage: parity-sweep.sh OUT_DIR}
bash "$(dirname "$0")/../../.gpu/unpack.sh"
cd /tmp/m3
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$out"
run() { # name complex steps lr dModel nLayer dState headdim
  timeout 540 node cli.mjs train --task parity --backend webgpu --complex "$2" --steps "$3" --lr "$4" \
    --d-model "$5" --n-layer "$6" --d-state "$7" --headdim "$8" --train-length 64 --eval-length 256 --batch-size 64 \
    --seed 1 --eval-every 500 --out "$out/$1.json" > "$out/$1.log" 2>&1
}
run a-d32-l1 true 5000 0.01 32 1 16 8 &
run b-d64-l1 true 4000 0.005 64 1 32 16 &
run c-d32-l2 true 4000 0.01 32 2 16 8 &
run d-d64-l2 true 3000 0.005 64 2 16 16 &
run e-d64-l2-real false 3000 0.005 64 2 16 16 &
wait
for f in "$out"/*.log; do echo "== $f"; grep -v '^Warning' "$f" | tr '\r' '\n' | grep -v '^parity complex'; done
