#!/usr/bin/env bash
# On the GPU host (issue 16), 130M SISO f32, about two minutes:
# 1. prefill tok/s at 512/2048/8192 with recorded prefill graphs (the default): wall (one, and the
#    median of 5), GPU ms from timestamps, host ms, dispatches and submits per prefill; batched
#    graph decode tok/s at batch 1/8/32/128 (decode GEMV with 2 output rows a thread, the default);
# 2. the same prefills through the ops (--set prefillGraphs=0), with early submits (webgpu) and
#    without (webgpu-nokick: the path before issue 16's host work);
# 3. batched decode with 1 (the kernel before) and 4 output rows a thread.
# Usage, after bundling (see bench.sh): . .gpu/setup.sh && bash tools/gpu/prefill-host.sh OUT_DIR
set -uo pipefail
out=${1:?usage: prefill-host.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; } 2>&1 | tee "$out/run.log"
quiet() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model '; }
bench() { local name=$1 limit=$2; shift 2; echo "== $name" | tee -a "$out/run.log"
  timeout "$limit" node bench.mjs --suite model --set models=SISO --json "$out/$name.json" --md "$out/bench.md" "$@" 2>&1 | quiet | tee -a "$out/run.log"; }
bench graphs 70 --backend webgpu --set lengths=512,2048,8192 --set decodeSteps=32 --set prefillRuns=5 --set batches=1,8,32,128
bench ops 70 --backend webgpu --backend webgpu-nokick --set lengths=512,2048,8192 --set decodeSteps=4 --set prefillRuns=5 --set prefillGraphs=0
bench gemv 45 --backend webgpu-gemv1 --backend webgpu-gemv4 --set lengths=512 --set decodeSteps=32 --set batches=1,8,32,128
