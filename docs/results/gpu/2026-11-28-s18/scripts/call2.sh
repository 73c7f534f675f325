#!/usr/bin/env bash
# Session 18, call 2: what the non-finite flags cost the picks. `decode-parts` (`compare.sh
# base|new parts`) with the picks before the flags (`base`: .gpu/base/bench.tgz, bench.mjs and
# cli.mjs bundled from this tree with packages/model/src/kernels/webgpu/ at 5b05d0c) and with
# them (`new`, 1ffb39b), in the order base, new, new, base; then `compare.sh new decode`.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
i=0
for b in base new new base; do
  i=$((i + 1))
  OUT=$R/$b$i timeout 110 bash tools/gpu/compare.sh $b parts > /dev/null 2>&1
  date -u >> $R/gpu.txt
done
OUT=$R timeout 120 bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
