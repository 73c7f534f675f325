#!/usr/bin/env bash
# Parity with label smoothing (and the controls), eight runs at once on the GPU host.
set -uo pipefail
out=${1:?usage: parity-sweep3.sh OUT_DIR}
bash "$(dirname "$0")/../../.gpu/unpack.sh"
cd /tmp/m3
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$out"
run() { # name complex steps lr dModel dState headdim batch extra...
  local name=$1 complex=$2 steps=$3 lr=$4 d=$5 n=$6 p=$7 b=$8
  shift 8
  timeout 530 node cli.mjs train --task parity --backend webgpu --complex "$complex" --steps "$steps" --lr "$lr" \
    --d-model "$d" --n-layer 1 --d-state "$n" --headdim "$p" --train-length 64 --eval-length 256 --batch-size "$b" \
    --seed 1 --eval-every 500 --mixed-density --out "$out/$name.json" "$@" > "$out/$name.log" 2>&1
}
run ls10-d64 true 3500 0.005 64 32 16 64 --label-smoothing 0.1 &
run ls20-d64 true 3500 0.005 64 32 16 64 --label-smoothing 0.2 &
run ls05-d64 true 3500 0.005 64 32 16 64 --label-smoothing 0.05 &
run ls10-d32 true 4000 0.01 32 16 8 64 --label-smoothing 0.1 &
run ls10-d64-long true 6000 0.005 64 32 16 64 --label-smoothing 0.1 --min-lr 0 &
run ls10-d64-b128 true 3500 0.005 64 32 16 128 --label-smoothing 0.1 &
run wd10-d64 true 3500 0.005 64 32 16 64 --weight-decay 0.1 &
run ls10-d64-real false 3500 0.005 64 32 16 64 --label-smoothing 0.1 &
wait
for f in "$out"/*.log; do echo "== $f"; grep -v '^Warning' "$f" | tr '\r' '\n' | grep -v '^parity complex'; done
