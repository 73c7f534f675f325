#!/usr/bin/env bash
# On the GPU host (issue 16): prefill tok/s at 512/2048/8192 (wall, median of 5, and GPU ms from
# timestamps; host ms, dispatches and submits per prefill), with recorded prefill graphs (default)
# and through the ops, then batched graph decode tok/s at batch 1/8/32/128 (130M SISO, f32).
# About two minutes. Usage, after bundling (see bench.sh): . .gpu/setup.sh && bash tools/gpu/prefill-host.sh OUT_DIR
set -uo pipefail
out=${1:?usage: prefill-host.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; } 2>&1 | tee "$out/run.log"
quiet() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model '; }
for graphs in 1 0; do
  echo "== prefill, prefillGraphs=$graphs" | tee -a "$out/run.log"
  extra=$([ $graphs = 1 ] && echo '--set batches=1,8,32,128')
  timeout 150 node bench.mjs --suite model --backend webgpu --set models=SISO --set lengths=512,2048,8192 --set decodeSteps=32 \
    --set prefillRuns=5 --set prefillGraphs=$graphs $extra --json "$out/model-graphs$graphs.json" --md "$out/bench.md" 2>&1 | quiet | tee -a "$out/run.log"
done
