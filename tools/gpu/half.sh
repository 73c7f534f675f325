#!/usr/bin/env bash
# 16-bit weights on the device (issue 15 item 5, issue 16's bf16 decode goal), on the GPU host:
# weights MB (the backend's own count) and decode tok/s with float32 and bfloat16 weights, for
#  1. the 130M Mamba-3 SISO model (random weights, re-stored as bf16 through uploadWeight), and
#  2. the full-size Mamba-3 MIMO 1.5B (a random-weight official .bin generated here, loaded with
#     dtype bfloat16; its float32 row is in BENCHMARKS.md already: 5,855 MB).
# Packed with tools/gpu/bundle-fullsize.mjs (bench + checkpoint generator + Dawn). About 2 minutes.
#   dev box: pnpm build && node tools/gpu/bundle-fullsize.mjs .gpu/fullsize
#   host:    . .gpu/setup.sh && bash .gpu/fullsize/half.sh "$OUT"
#   lavapipe: bash .gpu/fullsize/half.sh OUT tiny
set -uo pipefail
out=${1:?usage: half.sh OUT_DIR [tiny]}
mode=${2:-full}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=${HALF_WORK:-/tmp/m3-half}
ckpt=${HALF_CKPT:-/tmp/m3-half-ckpt}
rm -rf "$work" && mkdir -p "$work" && tar xzf "$here/fullsize.tgz" -C "$work" || exit 1
cd "$work" || exit 1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
log="$out/run.log"
say() { echo "== $* ($(date -u +%T))" | tee -a "$log"; }
quiet() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model ' ; }
say "device"; { nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; node --version; } 2>&1 | tee -a "$log"

if [[ $mode == tiny ]]; then
  small=(--quick --set lengths=32 --set decodeSteps=4); over="dModel=64 nLayer=1 vocabSize=256 dIntermediate=128"; big=(--set lengths=16 --set decodeSteps=2)
else
  small=(--set lengths=512 --set decodeSteps=128); over=""; big=(--set lengths=512 --set decodeSteps=32)
fi

say "130M SISO: webgpu (float32 weights) and webgpu-bf16 (bfloat16 weights)"
timeout 70 node bench.mjs --suite model --backend webgpu --backend webgpu-bf16 --set models=SISO "${small[@]}" \
  --set svg="$out/130m.svg" --json "$out/130m.json" --md "$out/130m.md" 2>&1 | quiet | tee -a "$log"
say "130M rc ${PIPESTATUS[0]}"

say "1.5B MIMO: generate the .bin"
rm -rf "$ckpt"
# shellcheck disable=SC2086 # $over is a list of key=value words
if node make-checkpoint.mjs mamba3-mimo-1.5b "$ckpt" $over > "$out/1.5b.gen.json" 2> "$out/1.5b.gen.err"; then
  say "1.5B MIMO: webgpu-bf16 (loaded with dtype bfloat16)"
  timeout 80 node bench.mjs --suite model --backend webgpu-bf16 --set checkpoint="$ckpt" "${big[@]}" \
    --set svg="$out/1.5b.svg" --json "$out/1.5b-bf16.json" --md "$out/1.5b-bf16.md" 2>&1 | quiet | tee -a "$log"
  say "1.5B rc ${PIPESTATUS[0]}"
else
  say "1.5B generation failed"; tee -a "$log" < "$out/1.5b.gen.err"
fi
rm -rf "$ckpt"
say "done"
