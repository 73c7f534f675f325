#!/usr/bin/env bash
# On the GPU host: the 130M-class model suite (prefill, op-by-op decode, step-graph decode with
# GPU timestamps) and the per-kernel GPU profile of its prefill and decode step. Usage, after bundling (see bench.sh): . .gpu/setup.sh && bash tools/gpu/decode.sh OUT_DIR
set -uo pipefail
out=${1:?usage: decode.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; } 2>&1 | tee "$out/run.log"
timeout 500 node bench.mjs --suite model --backend webgpu --set lengths=512,2048,8192 --set decodeSteps=256 \
  --json "$out/model.json" --md "$out/bench.md" 2>&1 | grep -v '^Warning' | tr '\r' '\n' | grep -v '^model ' | tee -a "$out/run.log"
# Where the GPU time goes: every dispatch of a prefill of 8192 tokens and of a decode step, timed alone.
timeout 200 node bench.mjs --suite webgpu-profile --set length=8192 --json "$out/profile.json" --md "$out/bench.md" 2>&1 | grep -v '^Warning' | tee -a "$out/run.log"
