#!/usr/bin/env bash
# On the GPU host: the parity (and modular arithmetic) sweeps BENCHMARKS.md reports, several runs at once (one Node process
# and WebGPU device each; the runs are dispatch-bound, so they share the GPU well).
# Usage: . .gpu/setup.sh && bash tools/gpu/parity-sweep.sh SWEEP OUT_DIR   (SWEEP: 1 to 10)
set -uo pipefail
sweep=${1:?usage: parity-sweep.sh SWEEP OUT_DIR}
out=${2:?usage: parity-sweep.sh SWEEP OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
# run NAME TIMEOUT_S FLAGS...: one state-tracking training (parity unless --task says otherwise; 64
# symbols, evaluated on 256), in the background.
run() {
  local name=$1 limit=$2
  shift 2
  timeout "$limit" node cli.mjs train --task parity --backend webgpu --train-length 64 --eval-length 256 \
    --eval-every 500 --out "$out/$name.json" "$@" > "$out/$name.log" 2>&1 &
}
# Flags shared by a sweep's runs: d_model 32 (d_state 16, headdim 8), 64 (32, 16) or 128 (32, 32).
d32="--d-model 32 --d-state 16 --headdim 8"
d64="--d-model 64 --d-state 32 --headdim 16"
d128="--d-model 128 --d-state 32 --headdim 32"
case "$sweep" in
  1) # sizes and depth, fair-coin strings
    run a-d32-l1 540 --complex true --steps 5000 --lr 0.01 $d32 --n-layer 1 --batch-size 64 --seed 1
    run b-d64-l1 540 --complex true --steps 4000 --lr 0.005 $d64 --n-layer 1 --batch-size 64 --seed 1
    run c-d32-l2 540 --complex true --steps 4000 --lr 0.01 $d32 --n-layer 2 --batch-size 64 --seed 1
    run d-d64-l2 540 --complex true --steps 3000 --lr 0.005 --d-model 64 --d-state 16 --headdim 16 --n-layer 2 --batch-size 64 --seed 1
    run e-d64-l2-real 540 --complex false --steps 3000 --lr 0.005 --d-model 64 --d-state 16 --headdim 16 --n-layer 2 --batch-size 64 --seed 1 ;;
  2) # strings with a random density of ones
    run md-d32 400 --complex true --steps 4000 --lr 0.01 $d32 --n-layer 1 --batch-size 64 --seed 1 --mixed-density
    run md-d64 400 --complex true --steps 3500 --lr 0.005 $d64 --n-layer 1 --batch-size 64 --seed 1 --mixed-density
    run md-d32-real 400 --complex false --steps 4000 --lr 0.01 $d32 --n-layer 1 --batch-size 64 --seed 1 --mixed-density ;;
  3) # label smoothing, batch, schedule
    m="--n-layer 1 --seed 1 --mixed-density"
    run ls10-d64 530 --complex true --steps 3500 --lr 0.005 $d64 $m --batch-size 64 --label-smoothing 0.1
    run ls20-d64 530 --complex true --steps 3500 --lr 0.005 $d64 $m --batch-size 64 --label-smoothing 0.2
    run ls05-d64 530 --complex true --steps 3500 --lr 0.005 $d64 $m --batch-size 64 --label-smoothing 0.05
    run ls10-d32 530 --complex true --steps 4000 --lr 0.01 $d32 $m --batch-size 64 --label-smoothing 0.1
    run ls10-d64-long 530 --complex true --steps 6000 --lr 0.005 $d64 $m --batch-size 64 --label-smoothing 0.1 --min-lr 0
    run ls10-d64-b128 530 --complex true --steps 3500 --lr 0.005 $d64 $m --batch-size 128 --label-smoothing 0.1
    run wd10-d64 530 --complex true --steps 3500 --lr 0.005 $d64 $m --batch-size 64 --weight-decay 0.1
    run ls10-d64-real 530 --complex false --steps 3500 --lr 0.005 $d64 $m --batch-size 64 --label-smoothing 0.1 ;;
  4) # the batch-128 recipe: seeds, batch 256, schedule (eight at once: all hit the time limit)
    m="--n-layer 1 --mixed-density --label-smoothing"
    run b128-s2 560 --complex true --steps 3500 --lr 0.005 $d64 $m 0.1 --batch-size 128 --seed 2
    run b128-s3 560 --complex true --steps 3500 --lr 0.005 $d64 $m 0.1 --batch-size 128 --seed 3
    run b128-lr3 560 --complex true --steps 3500 --lr 0.003 $d64 $m 0.1 --batch-size 128 --seed 1
    run b128-ls20 560 --complex true --steps 3500 --lr 0.005 $d64 $m 0.2 --batch-size 128 --seed 1
    run b128-min0 560 --complex true --steps 3500 --lr 0.005 $d64 $m 0.1 --batch-size 128 --seed 1 --min-lr 0
    run b256 560 --complex true --steps 2500 --lr 0.005 $d64 $m 0.1 --batch-size 256 --seed 1
    run b256-lr3 560 --complex true --steps 2500 --lr 0.003 $d64 $m 0.1 --batch-size 256 --seed 1
    run b128-real 560 --complex false --steps 3500 --lr 0.005 $d64 $m 0.1 --batch-size 128 --seed 1 ;;
  5) # the batch-128 recipe, six at once so each finishes
    m="--n-layer 1 --mixed-density --batch-size 128 --steps 3000"
    run ls10-lr5 545 --complex true --lr 0.005 $d64 $m --label-smoothing 0.1 --seed 1
    run ls20-lr5 545 --complex true --lr 0.005 $d64 $m --label-smoothing 0.2 --seed 1
    run ls10-lr3 545 --complex true --lr 0.003 $d64 $m --label-smoothing 0.1 --seed 1
    run ls20-lr3 545 --complex true --lr 0.003 $d64 $m --label-smoothing 0.2 --seed 1
    run ls10-lr5-s4 545 --complex true --lr 0.005 $d64 $m --label-smoothing 0.1 --seed 4
    run ls10-lr5-real 545 --complex false --lr 0.005 $d64 $m --label-smoothing 0.1 --seed 1 ;;
  6) # the best sweep-5 recipe (label smoothing 0.2, lr 3e-3) on more seeds, and its real-valued control
    m="--n-layer 1 --mixed-density --batch-size 128 --steps 3000 --label-smoothing 0.2"
    run ls20-lr3-s2 545 --complex true --lr 0.003 $d64 $m --seed 2
    run ls20-lr3-s3 545 --complex true --lr 0.003 $d64 $m --seed 3
    run ls20-lr3-s4 545 --complex true --lr 0.003 $d64 $m --seed 4
    run ls20-lr2 545 --complex true --lr 0.002 $d64 $m --seed 1
    run ls30-lr3 545 --complex true --lr 0.003 $d64 --n-layer 1 --mixed-density --batch-size 128 --steps 3000 --label-smoothing 0.3 --seed 1
    run ls20-lr3-real 545 --complex false --lr 0.003 $d64 $m --seed 1 ;;
  8) # the sweep-5/6 recipe with AdamW beta2 0.95 (against the loss spikes), four seeds
    m="--n-layer 1 --mixed-density --batch-size 128 --steps 3000 --lr 0.003 --beta2 0.95"
    run b95-ls20-s1 545 --complex true $d64 $m --label-smoothing 0.2 --seed 1
    run b95-ls20-s2 545 --complex true $d64 $m --label-smoothing 0.2 --seed 2
    run b95-ls20-s3 545 --complex true $d64 $m --label-smoothing 0.2 --seed 3
    run b95-ls20-s4 545 --complex true $d64 $m --label-smoothing 0.2 --seed 4
    run b95-ls30-s2 545 --complex true $d64 $m --label-smoothing 0.3 --seed 2
    run b95-ls30-s4 545 --complex true $d64 $m --label-smoothing 0.3 --seed 4 ;;
  7) # modular arithmetic without brackets (--task modarith), the parity recipe's settings, 1-3 layers
    m="--task modarith --mixed-density --batch-size 128 --label-smoothing 0.2 --lr 0.003 --seed 1"
    run ma-d64-l1 545 $m --complex true $d64 --n-layer 1 --steps 3000
    run ma-d64-l2 545 $m --complex true $d64 --n-layer 2 --steps 2000
    run ma-d64-l3 545 $m --complex true $d64 --n-layer 3 --steps 1500
    run ma-d128-l2 545 $m --complex true $d128 --n-layer 2 --steps 2000
    run ma-d64-l2-ls10 545 --task modarith --mixed-density --batch-size 128 --label-smoothing 0.1 --lr 0.005 --seed 1 --complex true $d64 --n-layer 2 --steps 2000
    run ma-d64-l2-real 545 $m --complex false $d64 --n-layer 2 --steps 2000 ;;
  9) # sweep 7's deeper and wider runs were still climbing: longer, a fourth layer, a second seed, the real control
    m="--task modarith --mixed-density --batch-size 128 --label-smoothing 0.2 --lr 0.003"
    run ma-d64-l3 545 $m --seed 1 --complex true $d64 --n-layer 3 --steps 3500
    run ma-d64-l3-s2 545 $m --seed 2 --complex true $d64 --n-layer 3 --steps 3500
    run ma-d64-l3-real 545 $m --seed 1 --complex false $d64 --n-layer 3 --steps 3500
    run ma-d64-l4 545 $m --seed 1 --complex true $d64 --n-layer 4 --steps 2500
    run ma-d128-l3 545 $m --seed 1 --complex true $d128 --n-layer 3 --steps 2500
    run ma-d128-l2 545 $m --seed 1 --complex true $d128 --n-layer 2 --steps 4000 ;;
  10) # four layers (sweep 9's best) with and without rotations, two seeds each; a second real seed at three
    m="--task modarith --mixed-density --batch-size 128 --label-smoothing 0.2 --lr 0.003"
    run ma-d64-l4-s1 545 $m --seed 1 --complex true $d64 --n-layer 4 --steps 3300
    run ma-d64-l4-s2 545 $m --seed 2 --complex true $d64 --n-layer 4 --steps 3300
    run ma-d64-l4-real-s1 545 $m --seed 1 --complex false $d64 --n-layer 4 --steps 3300
    run ma-d64-l4-real-s2 545 $m --seed 2 --complex false $d64 --n-layer 4 --steps 3300
    run ma-d128-l4 545 $m --seed 1 --complex true $d128 --n-layer 4 --steps 2600
    run ma-d64-l3-real-s2 545 $m --seed 2 --complex false $d64 --n-layer 3 --steps 3500 ;;
  *) echo "parity-sweep.sh: unknown sweep $sweep (1 to 10)" >&2; exit 2 ;;
esac
wait
# One log file for all runs (the device returns few files); the per-run JSON stays.
for f in "$out"/*.log; do echo "== $f"; grep -v '^Warning' "$f" | tr '\r' '\n' | grep -v -E '^(parity|modarith) complex=(true|false) [^:]'; rm "$f"; done | tee "$out/sweep$sweep.txt"
