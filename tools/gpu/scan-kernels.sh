#!/usr/bin/env bash
# On the GPU host: issue 16 goal 2, the Mamba-3 chunked-scan kernels (m3chunkState, m3statePass,
# m3chunkOutput, with m3mixPrep/m3mixPost beside them). Before/after in one call: the vec4 kernels
# (default) and the earlier scalar ones (`--set scan=legacy` in the profile, backend
# webgpu-scan-legacy in the model suite). Usage, from the repo root after
# `pnpm build && node tools/gpu/bundle.mjs && bash ../shared/gpu/pack.sh .gpu` on the dev box:
#   . .gpu/setup.sh && bash tools/gpu/scan-kernels.sh [OUT_DIR]     (default $OUT, else /tmp/out)
# Output: OUT/profile-new.json and OUT/profile-legacy.json (GPU ms per kernel of one 8192-token
# prefill, 130M SISO and MIMO r4), OUT/scan-summary.txt (the scan kernels side by side),
# OUT/model-prefill-8192.json (prefill tok/s at 8192, SISO and MIMO r4, both kernel sets),
# OUT/model-prefill-short.json (SISO at 512 and 2048, new kernels), OUT/scan.log. ~2 min on an H100.
set -uo pipefail
out=${1:-${OUT:-/tmp/out}}
. "$(dirname "$0")/enter-bundle.sh" "$out"
log="$out/scan.log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[' ; }
{ nvidia-smi -L; node --version; date -u; } 2>&1 | tee "$log"
for v in new legacy; do
  echo "== per-kernel GPU ms, prefill 8192 ($v scan kernels)" | tee -a "$log"
  timeout 120 node bench.mjs --suite webgpu-profile --set length=8192 --set scan=$v --json "$out/profile-$v.json" 2>&1 | q | tee -a "$log"
done
node -e '
const fs = require("fs");
const [dir] = process.argv.slice(1);
const ms = {};
for (const v of ["new", "legacy"]) {
  let rows = [];
  try { rows = JSON.parse(fs.readFileSync(`${dir}/profile-${v}.json`, "utf8")).flatMap((r) => r.rows ?? []); } catch { continue; }
  for (const r of rows) if (String(r.phase).startsWith("prefill")) ((ms[`${r.model}, ${r.phase}`] ??= {})[r.kernel] ??= {})[v] = r["GPU ms"];
}
const lines = [];
for (const [model, ks] of Object.entries(ms)) {
  lines.push(`${model}: kernel  legacy ms -> new ms (speed-up; m3mixPrep writes x̃, B̃, C̃ for the legacy kernels only, the new ones form them from zxbcdt)`);
  for (const [k, t] of Object.entries(ks)) {
    if (!/^m3(chunk|state|mix)|^total/.test(k)) continue;
    const x = t.legacy && t.new ? (t.legacy / t.new).toFixed(2) + "x" : "";
    lines.push(`  ${k.padEnd(16)} ${String(t.legacy ?? "-").padStart(8)} -> ${String(t.new ?? "-").padStart(8)}  ${x}`);
  }
}
fs.writeFileSync(`${dir}/scan-summary.txt`, lines.join("\n") + "\n");
console.log(lines.join("\n"));
' "$out" | tee -a "$log"
echo "== model prefill tok/s at 8192: new (webgpu) and legacy (webgpu-scan-legacy) scan kernels, SISO and MIMO r4" | tee -a "$log"
timeout 180 node bench.mjs --suite model --backend webgpu --backend webgpu-scan-legacy --set lengths=8192 --set decodeSteps=4 \
  --json "$out/model-prefill-8192.json" 2>&1 | q | grep -i 'prefill\|error\|tok/s' | tee -a "$log"
echo "== model prefill tok/s at 512 and 2048: new scan kernels, SISO" | tee -a "$log"
timeout 120 node bench.mjs --suite model --backend webgpu --set models=SISO --set lengths=512,2048 --set decodeSteps=4 \
  --json "$out/model-prefill-short.json" 2>&1 | q | grep -i 'prefill\|error\|tok/s' | tee -a "$log"
node -e '
const fs = require("fs");
const [dir] = process.argv.slice(1);
const rows = ["8192", "short"].flatMap((f) => { try { return JSON.parse(fs.readFileSync(`${dir}/model-prefill-${f}.json`, "utf8")).flatMap((r) => r.rows ?? []); } catch { return []; } });
const lines = rows.filter((r) => r.context !== undefined).map((r) => `${r.backend} ${r.model} L=${r.context}: ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => /^prefill (tok\/s|GPU ms)$/.test(k))))}`);
fs.appendFileSync(`${dir}/scan-summary.txt`, lines.join("\n") + "\n");
console.log(lines.join("\n"));
' "$out" | tee -a "$log"
echo "== done $(date -u)" | tee -a "$log"
