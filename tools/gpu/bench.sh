#!/usr/bin/env bash
# On the GPU host: every benchmark figure BENCHMARKS.md quotes for the GPU. Usage, from the repo
# root after `pnpm build && node tools/gpu/bundle.mjs && bash ../shared/gpu/pack.sh .gpu`:
#   . .gpu/setup.sh && bash tools/gpu/bench.sh OUT_DIR
set -uo pipefail
out=${1:?usage: bench.sh OUT_DIR}
. "$(dirname "$0")/enter-bundle.sh" "$out"
log="$out/run.log"
step() { echo "== $*" | tee -a "$log"; }
quiet() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^\(train\|parity\)\[' ; }
step "device"; { nvidia-smi -L; lscpu | grep 'Model name'; node --version; } 2>&1 | tee -a "$log"
step "golden fixtures on the NVIDIA WebGPU adapter"
for f in fixtures/*.safetensors; do
  for mode in chunked step; do node cli.mjs check "$f" --backend webgpu --mode $mode 2>&1 | quiet | tail -1 | sed "s|^|$f $mode: |" | tee -a "$log"; done
done
step "default model: generation on webgpu and cpu"
for b in webgpu cpu; do
  node cli.mjs generate --model default-model --prompt 'ROMEO:' --max-new-tokens 400 --seed 1 --temperature 0.8 --backend $b 2>&1 >/dev/null | quiet | tee -a "$log"
done
step "model suite (130M-class, random weights)"
timeout 420 node bench.mjs --suite model --backend webgpu --set lengths=512,2048,8192 --set decodeSteps=64 --set svg="$out/decode-memory.svg" --json "$out/model.json" --md "$out/bench.md" 2>&1 | quiet | tee -a "$log"
step "mixer suite"
timeout 240 node bench.mjs --suite mixer --backend webgpu --backend cpu --json "$out/mixer.json" --md "$out/bench.md" 2>&1 | quiet | tee -a "$log"
step "webgpu kernels"
timeout 300 node bench.mjs --suite webgpu-kernels --json "$out/kernels.json" --md "$out/bench.md" 2>&1 | quiet | tee -a "$log"
step "tfjs beside ours"
timeout 300 node bench.mjs --suite tfjs --set tfjs=webgpu,wasm --backend webgpu --json "$out/tfjs.json" --md "$out/bench.md" 2>&1 | quiet | tee -a "$log"
step "done"
