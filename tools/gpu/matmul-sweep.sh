#!/usr/bin/env bash
# On the GPU host: issue 16 goal 2, the register-tiled matmul. Times every tile variant (and the
# earlier kernels, 'legacy', 64, 128) on the prefill products of the 130M model, writes TFLOP/s per
# variant and the best per product, then the model suite's prefill at 512/2048/8192 with the
# default choice ('auto', backend webgpu), the earlier kernels (webgpu-mm-legacy) and the variant
# that won most products (webgpu-mm-<name>). Usage, from the repo root after
# `pnpm build && node tools/gpu/bundle.mjs && bash ../shared/gpu/pack.sh .gpu` on the dev box:
#   . .gpu/setup.sh && bash tools/gpu/matmul-sweep.sh [OUT_DIR]     (default $OUT, else /tmp/out)
# Output: OUT/matmul-sweep.json (every row), OUT/matmul-summary.json ({case: {tile: TFLOP/s}},
# best per case, mean TFLOP/s relative to each case's best), OUT/matmul-sweep-norobust.json (the
# leaders with Dawn's disable_robustness), OUT/model-prefill.json, OUT/sweep.log. ~2.5 min on an H100.
set -uo pipefail
out=${1:-${OUT:-/tmp/out}}
. "$(dirname "$0")/enter-bundle.sh" "$out"
log="$out/sweep.log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[' ; }
{ nvidia-smi -L; nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader; node --version; date -u; } 2>&1 | tee "$log"
echo "== matmul tile sweep" | tee -a "$log"
timeout 300 node bench.mjs --suite webgpu-kernels --backend cpu --set only=matmul --set tiles=all --json "$out/matmul-sweep.json" 2>&1 | q | tee -a "$log"
node -e '
const fs = require("fs");
const [file, outFile] = process.argv.slice(1);
const rows = JSON.parse(fs.readFileSync(file, "utf8")).flatMap((r) => r.rows ?? []);
const byCase = {};
for (const r of rows) if (r.tile && typeof r["TFLOP/s"] === "number") (byCase[r.case] ??= {})[r.tile] = r["TFLOP/s"];
const best = {};
const wins = {};
for (const [c, t] of Object.entries(byCase)) {
  const [name, v] = Object.entries(t).filter(([k]) => k !== "auto").sort((a, b) => b[1] - a[1])[0];
  best[c] = { tile: name, "TFLOP/s": v, auto: t.auto, legacy: t.legacy };
  if (!["auto", "legacy", "64", "128"].includes(name)) wins[name] = (wins[name] ?? 0) + 1;
}
const top = Object.entries(wins).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
// Mean over cases of each register-tile variant's TFLOP/s relative to the case's best.
const rel = {};
for (const t of Object.values(byCase)) {
  const hi = Math.max(...Object.values(t));
  for (const [k, v] of Object.entries(t)) if (/^\d+x\d+x\d+-/.test(k)) (rel[k] ??= []).push(v / hi);
}
const mean = Object.entries(rel).map(([k, v]) => [k, +(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)]).sort((a, b) => b[1] - a[1]);
fs.writeFileSync(outFile, JSON.stringify({ byCase, best, mostWins: top, meanRelative: Object.fromEntries(mean) }, null, 1));
console.log(JSON.stringify({ best, meanRelative: Object.fromEntries(mean.slice(0, 6)) }, null, 1));
process.stderr.write([top, ...mean.slice(0, 3).map((m) => m[0]).filter((k) => k !== top)].join(","));
' "$out/matmul-sweep.json" "$out/matmul-summary.json" 2> "$out/top-variant.txt" | tee -a "$log"
tops=$(cat "$out/top-variant.txt")
top=${tops%%,*}
echo "== the leaders again with Dawn's index clamps off (disable_robustness; measurement only)" | tee -a "$log"
[[ -n $tops ]] && timeout 60 node bench.mjs --suite webgpu-kernels --backend cpu --set only=matmul --set tiles=legacy,$tops \
  --set dawn=allow_unsafe_apis,disable_robustness --json "$out/matmul-sweep-norobust.json" 2>&1 | q | grep -v '^  matmul ' | tee -a "$log"
echo "== model prefill: auto, legacy, ${top:-none}" | tee -a "$log"
backends="--backend webgpu --backend webgpu-mm-legacy"
[[ -n $top ]] && backends="$backends --backend webgpu-mm-$top"
MAMBA3_MATMUL_TILES=$top timeout 200 node bench.mjs --suite model $backends --set models=SISO --set lengths=512,2048,8192 --set decodeSteps=4 \
  --json "$out/model-prefill.json" 2>&1 | q | grep -i 'prefill\|error' | tee -a "$log"
echo "== done $(date -u)" | tee -a "$log"
