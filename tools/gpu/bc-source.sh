#!/usr/bin/env bash
# On the GPU host (issue 16): B̃ and C̃ formed in the vec4 scan kernels from zxbcdt's rows (the
# default, backend webgpu) against stored by the mixer's prep kernel (webgpu-bc-stored,
# `useStoredBC`): model prefill at 2048/8192 (SISO, MIMO r4; median of 5) and GPU ms per kernel of
# an 8192-token prefill for both. About three minutes on an H200.
# Usage, after bundling (see bench.sh): . .gpu/setup.sh && bash tools/gpu/bc-source.sh OUT_DIR
set -uo pipefail
out=${1:?usage: bc-source.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
log="$out/run.log"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; date -u; } 2>&1 | tee "$log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[' ; }
echo "== model prefill $(date -u +%T)" | tee -a "$log"
timeout 200 node bench.mjs --suite model --backend webgpu --backend webgpu-bc-stored --set lengths=2048,8192 --set decodeSteps=4 \
  --set prefillRuns=5 --json "$out/model.json" --md "$out/bench.md" 2>&1 | q | grep -i 'prefill\|error' | tee -a "$log"
for bc in formed stored; do
  echo "== profile, B̃ C̃ $bc $(date -u +%T)" | tee -a "$log"
  timeout 90 node bench.mjs --suite webgpu-profile --set length=8192 --set bc=$bc --json "$out/profile-$bc.json" 2>&1 | q | grep -i 'prefill\|error' | tee -a "$log"
done
echo "== done $(date -u +%T)" | tee -a "$log"
