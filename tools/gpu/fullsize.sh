#!/usr/bin/env bash
# Full-size random-weight checkpoints shaped as the releases (issue 15 item 9), on the GPU host:
# each model's config.json + pytorch_model.bin (official layout, bf16) is generated into /tmp,
# loaded by the bench's checkpoint path and timed (load, weights MB, prefill, decode) on webgpu
# (the bf16 values as f32 on the device) and webgpu-bf16 (loaded with dtype bfloat16: the weights
# stay 16-bit on the device, half the bytes; the bench picks the dtype from the backend name).
# Smallest first; each model's JSON/markdown lands in OUT as soon as it is done.
#   dev box: pnpm build && node tools/gpu/bundle-fullsize.mjs /work/main/.gpu/fullsize
#   host:    . .gpu/setup.sh && bash .gpu/fullsize/fullsize.sh "$OUT"
#   tiny test (lavapipe): bash .gpu/fullsize/fullsize.sh OUT tiny
#   Mamba-1/2 130M only, f32 weights, 2048-token prompts (~1 min on an H100):
#     FULLSIZE_BACKENDS=webgpu FULLSIZE_MODELS="mamba1-130m 75 2048,mamba2-130m 75 2048" \
#       FULLSIZE_TAR=$OUT/results.tgz bash .gpu/fullsize/fullsize.sh /tmp/fsout
set -uo pipefail
out=${1:?usage: fullsize.sh OUT_DIR [tiny]}
mode=${2:-full}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=${FULLSIZE_WORK:-/tmp/m3-fullsize}
ckpts=${FULLSIZE_CKPTS:-/tmp/m3-ckpt}
rm -rf "$work" && mkdir -p "$work" && tar xzf "$here/fullsize.tgz" -C "$work" || exit 1
cd "$work" || exit 1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
log="$out/run.log"
say() { echo "== $* ($(date -u +%T))" | tee -a "$log"; }
quiet() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model ' ; }
say "device"; { nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; lscpu | grep 'Model name'; nproc; node --version; df -h /tmp | tail -1; } 2>&1 | tee -a "$log"

# "MODEL TIMEOUT_S PREFILL_LENGTH": generated checkpoint sizes and the bench settings per mode.
# TIMEOUT_S is per backend: each backend is its own bench run (its own load), so a timeout
# keeps the other's results.
if [[ $mode == tiny ]]; then
  models=("mamba2-130m 150 16" "mamba1-130m 150 16" "mamba3-mimo-1.5b 150 16" "mamba1-2.8b 150 16")
  over="dModel=64 nLayer=1 vocabSize=256 dIntermediate=128"
  bench=(--set decodeSteps=2)
else
  # Mamba-1 prefill at 2048 timed out in 60 s with the composite scan; the chunked WebGPU scan
  # (core's family-scans) runs it, so every model uses a 2048-token prompt.
  models=("mamba2-130m 60 2048" "mamba1-130m 60 2048" "mamba3-mimo-1.5b 100 2048" "mamba1-2.8b 150 2048")
  over=""
  bench=(--set decodeSteps=64)
fi
# FULLSIZE_MODELS="m1 T L,m2 T L" picks and orders the runs.
[[ -n ${FULLSIZE_MODELS:-} ]] && IFS=',' read -ra models <<< "$FULLSIZE_MODELS"
for entry in "${models[@]}"; do
  read -r m limit len <<< "$entry"
  dir="$ckpts/$m"
  rm -rf "$ckpts" # one checkpoint on disk at a time
  say "$m: generate"
  # shellcheck disable=SC2086 # $over is a list of key=value words
  if ! node make-checkpoint.mjs "$m" "$dir" $over > "$out/$m.gen.json" 2> "$out/$m.gen.err"; then
    say "$m: generation failed"; cat "$out/$m.gen.err" | tee -a "$log"; continue
  fi
  cat "$out/$m.gen.json" | tee -a "$log"; ls -l "$dir" | tee -a "$log"
  for b in ${FULLSIZE_BACKENDS:-webgpu webgpu-bf16}; do
    say "$m: bench $b (timeout ${limit}s)"
    timeout "$limit" node bench.mjs --suite model --backend "$b" --set checkpoint="$dir" --set lengths="$len" \
      "${bench[@]}" --set svg="$out/$m-$b.svg" --json "$out/$m-$b.json" --md "$out/$m-$b.md" 2>&1 | quiet | tee -a "$log"
    say "$m: bench $b rc ${PIPESTATUS[0]}"
  done
  # The device tool returns few files: everything goes back as one archive, refreshed per model.
  [[ -n ${FULLSIZE_TAR:-} ]] && tar czf "$FULLSIZE_TAR" -C "$out" .
done
rm -rf "$ckpts"
say "done"
[[ -n ${FULLSIZE_TAR:-} ]] && tar czf "$FULLSIZE_TAR" -C "$out" .
