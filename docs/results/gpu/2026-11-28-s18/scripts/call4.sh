#!/usr/bin/env bash
# Session 18, call 4: batched greedy decode with the picks on the tiled product past gemvMaxRows
# (aa203a3: the head's epilogue in a pass of its own) against the session's starting code
# (`base`: .gpu/base/bench.tgz, bench.mjs and cli.mjs bundled from df5693a), `compare.sh base|new
# batch` in the order base, new, new, base; then `compare.sh new sample` (batched sampling, T=1).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
i=0
for b in base new new base; do
  i=$((i + 1))
  OUT=$R/$b$i timeout 100 bash tools/gpu/compare.sh $b batch > /dev/null 2>&1
  date -u >> $R/gpu.txt
done
OUT=$R timeout 150 bash tools/gpu/compare.sh new sample > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
