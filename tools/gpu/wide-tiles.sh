#!/usr/bin/env bash
# On the GPU host (issue 16, goal 2's matmul): the prefill products at 8192 rows on the tile
# shapes with larger micro-tiles (8x16 and 16x8 a thread) beside 128x128x8-8x8wu, each kernel alone
# (kernel-time.mjs on decode-variants.json; FILTER: a regex of variant names), cuBLAS's float32
# products at the same shapes (sgemm_ref.py), then, given TILES, the model's prefill with 'auto' and
# with each TILES variant forced. Usage, after bundling (tools/gpu/README.md) with decode-variants.mjs run:
#   OUT=DIR bash tools/gpu/wide-tiles.sh        Env: TILES (comma list for the model step).
set -uo pipefail
out=${OUT:?}
repo=$PWD
. .gpu/setup.sh
. tools/gpu/enter-bundle.sh "$out"
cp "$repo"/tools/gpu/{kernel-time,pass-time}.mjs "$repo"/.gpu/decode-variants.json .
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > "$out/kt.txt" 2>&1
timeout 240 node kernel-time.mjs decode-variants.json "${FILTER:-^(prefill (in|out)_proj M8192 [^ ]*|wide .*)\$}" >> "$out/kt.txt" 2>&1
timeout 120 python3 "$repo/tools/gpu/sgemm_ref.py" > "$out/sgemm_ref.json" 2> "$out/sgemm_ref.err"
tiles=${TILES:-}
[[ -z $tiles ]] && exit 0
backends="--backend webgpu"; for t in ${tiles//,/ }; do backends="$backends --backend webgpu-mm-$t"; done
MAMBA3_MATMUL_TILES=$tiles timeout 300 node bench.mjs --suite model $backends --set models=SISO,Mamba-2 --set lengths=2048,8192 \
  --set decodeSteps=4 --set prefillRuns=5 --json "$out/model.json" 2>&1 | grep -v '^Warning' | tr '\r' '\n' | grep -i 'prefill\|error' > "$out/model.txt"
