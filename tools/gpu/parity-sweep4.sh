#!/usr/bin/env bash
# Parity with label smoothing (and the controls), the batch-128 recipe: seeds, batch 256, schedule at once on the GPU host.
set -uo pipefail
out=${1:?usage: parity-sweep4.sh OUT_DIR}
bash "$(dirname "$0")/../../.gpu/unpack.sh"
cd /tmp/m3
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$out"
run() { # name complex steps lr dModel dState headdim batch extra...
  local name=$1 complex=$2 steps=$3 lr=$4 d=$5 n=$6 p=$7 b=$8
  shift 8
  timeout 560 node cli.mjs train --task parity --backend webgpu --complex "$complex" --steps "$steps" --lr "$lr" \
    --d-model "$d" --n-layer 1 --d-state "$n" --headdim "$p" --train-length 64 --eval-length 256 --batch-size "$b" \
    --eval-every 500 --mixed-density --out "$out/$name.json" --seed 1 "$@" > "$out/$name.log" 2>&1
}
run b128-s2 true 3500 0.005 64 32 16 128 --label-smoothing 0.1 --seed 2 &
run b128-s3 true 3500 0.005 64 32 16 128 --label-smoothing 0.1 --seed 3 &
run b128-lr3 true 3500 0.003 64 32 16 128 --label-smoothing 0.1 &
run b128-ls20 true 3500 0.005 64 32 16 128 --label-smoothing 0.2 &
run b128-min0 true 3500 0.005 64 32 16 128 --label-smoothing 0.1 --min-lr 0 &
run b256 true 2500 0.005 64 32 16 256 --label-smoothing 0.1 &
run b256-lr3 true 2500 0.003 64 32 16 256 --label-smoothing 0.1 &
run b128-real false 3500 0.005 64 32 16 128 --label-smoothing 0.1 &
wait
for f in "$out"/*.log; do echo "== $f"; grep -v '^Warning' "$f" | tr '\r' '\n' | grep -v '^parity complex'; done
