# On the GPU host, from the repo root: the issue-16 runs of BENCHMARKS.md. Needs in .gpu/ (besides
# bundle.mjs's and pack.sh's output): ref/mamba_ssm (state-spaces/mamba at e9594ce) and
# anchors/*.py (../shared/anchors). Usage: bash tools/gpu/decode-gemv.sh PART, $OUT the output folder.
# 1: official anchors + model suite (f32, both models, with ratios); 2: 16-bit weights, profile,
# kernels; 3: batched decode at 2048; 4: decode-step profile at batch 8 and 32; 5: SISO with bf16
# and f32 weights at every length + batched decode (ratios from part 1's anchors on the same machine).
set -uo pipefail
part=${1:-1}
root=$(pwd)
. .gpu/setup.sh
bash .gpu/unpack.sh
cd /tmp/m3 || exit 1
export XDG_RUNTIME_DIR=/tmp
out=${OUT:-/tmp/out}; mkdir -p "$out"
log="$out/run$part.log"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; date -u; } 2>&1 | tee "$log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[' ; }
if [[ $part == 3 || $part == 4 || $part == 5 ]]; then :
elif [[ $part == 1 ]]; then
  echo "== official anchors" | tee -a "$log"
  timeout 200 python3 "$root/.gpu/anchors/perf_ref.py" "$root/.gpu/ref" > "$out/perf_ref.json" 2> "$out/perf_ref.err"; echo "perf_ref rc $?" | tee -a "$log"
  timeout 120 python3 "$root/.gpu/anchors/decode_ref.py" "$root/.gpu/ref" > "$out/decode_ref.json" 2> "$out/decode_ref.err"; echo "decode_ref rc $?" | tee -a "$log"
  cat "$out/perf_ref.json" "$out/decode_ref.json" | tee -a "$log"
  cp "$out/perf_ref.json" "$out/decode_ref.json" /tmp/
  echo "== model suite, f32 weights" | tee -a "$log"
  timeout 260 node bench.mjs --suite model --backend webgpu --set lengths=512,2048,8192 --set decodeSteps=256 \
    --set reference="$out/perf_ref.json,$out/decode_ref.json" --set svg="$out/decode-memory.svg" --json "$out/model-f32.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
elif [[ $part == 2 ]]; then
  echo "== model suite, bf16 and f16 weights (SISO)" | tee -a "$log"
  ref=""; [[ -f "$root/.gpu/prev/perf_ref.json" ]] && ref="--set reference=$root/.gpu/prev/perf_ref.json,$root/.gpu/prev/decode_ref.json"
  timeout 200 node bench.mjs --suite model --backend webgpu-bf16 --backend webgpu-f16 --set models=SISO,MIMO --set lengths=2048 --set decodeSteps=256 $ref \
    --set svg="$out/decode-memory-16.svg" --json "$out/model-16.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
  echo "== webgpu-profile" | tee -a "$log"
  timeout 120 node bench.mjs --suite webgpu-profile --set length=8192 --json "$out/profile.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
  echo "== webgpu-kernels" | tee -a "$log"
  timeout 200 node bench.mjs --suite webgpu-kernels --json "$out/kernels.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
fi
echo "== done $(date -u)" | tee -a "$log"
if [[ $part == 3 ]]; then
  :
  echo "== model suite SISO 2048 + batched decode, f32 and bf16 weights" | tee -a "$log"
  timeout 420 node bench.mjs --suite model --backend webgpu --backend webgpu-bf16 --set models=SISO --set lengths=2048 --set decodeSteps=128 --set batches=1,8,32,128 \
    --set reference="$root/.gpu/perf_ref.json,$root/.gpu/decode_ref.json" --set svg="$out/decode-memory-b.svg" --json "$out/model-batch.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
  echo "== done3 $(date -u)" | tee -a "$log"
fi
if [[ $part == 4 ]]; then
  for B in 8 32; do timeout 120 node bench.mjs --suite webgpu-profile --set models=SISO --set length=64 --set batch=$B --json "$out/profile-b$B.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"; done
fi
if [[ $part == 5 ]]; then
  echo "== model suite SISO, bf16 weights, all lengths + batched decode f32 and bf16" | tee -a "$log"
 ref=""; [[ -f /tmp/perf_ref.json ]] && ref="--set reference=/tmp/perf_ref.json,/tmp/decode_ref.json"
  timeout 500 node bench.mjs --suite model --backend webgpu-bf16 --backend webgpu --set models=SISO --set lengths=512,2048,8192 --set decodeSteps=256 --set batches=1,8,32,128 \
    $ref --set svg="$out/decode-memory-bf16.svg" --json "$out/model-bf16-batch.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
fi
