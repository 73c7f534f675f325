#!/usr/bin/env bash
# On the GPU host: trains the embedded default model through WebGPU (Dawn on the NVIDIA Vulkan
# driver). Usage, from the repo root after `node tools/gpu/bundle.mjs` and pack.sh:
#   . .gpu/setup.sh && bash tools/gpu/train-default.sh OUT_DIR [TIME_BUDGET_SECONDS]
# A short calibration run measures seconds per step first; the step count is then the config's,
# or fewer if the budget would not fit it (recorded in the training log).
set -uo pipefail
out=${1:?usage: train-default.sh OUT_DIR [BUDGET_S]}
budget=${2:-420}
. "$(dirname "$0")/enter-bundle.sh" "$out"
nvidia-smi -L > "$out/gpu.txt" 2>&1
node cli.mjs info 2>&1 | grep -v '^Warning' | tee -a "$out/gpu.txt"
cfg=default-model.train.json
common=(--config "$cfg" --backend webgpu --set data.path=data/tinyshakespeare.txt)
start=$(date +%s.%N)
node cli.mjs train "${common[@]}" --set train.steps=30 --set train.evalEvery=0 --set train.checkpointEvery=0 --set train.evalBatches=2 --out /tmp/calib --overwrite 2>&1 | grep -v '^Warning' | tail -3
calib=$(node -e "const l=require('/tmp/calib/training-log.json'); console.log(l.seconds/l.steps)")
steps=$(node -e "const c=require('./$cfg').train.steps; const s=Math.floor($budget/$calib); console.log(Math.max(200, Math.min(c, s)))")
echo "calibration: $calib s/step (incl. start-up and shader compilation); training $steps steps" | tee -a "$out/gpu.txt"
node cli.mjs train "${common[@]}" --set train.steps="$steps" --set train.checkpointEvery=500 --out "$out/default-model" 2>&1 | grep -v '^Warning' | tr '\r' '\n' | grep -v '^train\[' | tee "$out/train.log"
node cli.mjs eval --model "$out/default-model" --data data/tinyshakespeare.txt --backend webgpu 2>&1 | grep -v '^Warning' | tee -a "$out/train.log"
rm -rf "$out/default-model/checkpoint"
echo "total $(node -e "console.log(((Date.now()/1000)-$start).toFixed(0))") s" | tee -a "$out/train.log"
