#!/usr/bin/env bash
# Parity with mixed-density training strings (see trainParity's mixedDensity), several at once.
set -uo pipefail
out=${1:?usage: parity-sweep2.sh OUT_DIR}
bash "$(dirname "$0")/../../.gpu/unpack.sh"
cd /tmp/m3
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$out"
run() { # name complex steps lr dModel dState headdim
  timeout 400 node cli.mjs train --task parity --backend webgpu --complex "$2" --steps "$3" --lr "$4" \
    --d-model "$5" --n-layer 1 --d-state "$6" --headdim "$7" --train-length 64 --eval-length 256 --batch-size 64 \
    --seed 1 --eval-every 500 --mixed-density --out "$out/$1.json" > "$out/$1.log" 2>&1
}
run md-d32 true 4000 0.01 32 16 8 &
run md-d64 true 3500 0.005 64 32 16 &
run md-d32-real false 4000 0.01 32 16 8 &
wait
for f in "$out"/*.log; do echo "== $f"; grep -v '^Warning' "$f" | tr '\r' '\n' | grep -v '^parity complex'; done
