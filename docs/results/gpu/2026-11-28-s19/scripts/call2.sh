#!/usr/bin/env bash
# Session 19, call 2: two more forms of the tiled product's k loop (selects, pairs) beside the
# committed one, twice; the model's prefill base/new/new/base; batched decode base/new.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
bash .gpu/unpack.sh
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/decode-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 150 node kernel-time.mjs decode-variants.json > $R/kt1.txt 2>&1; echo "kt1 rc $?" >> $R/gpu.txt )
( cd /tmp/m3 && timeout 150 node kernel-time.mjs decode-variants.json > $R/kt2.txt 2>&1; echo "kt2 rc $?" >> $R/gpu.txt )
date -u >> $R/gpu.txt
i=0
for s in base new new base; do
  i=$((i+1)); OUT=$R/$s$i timeout 150 bash tools/gpu/compare.sh $s prefill > /dev/null 2>&1; echo "$s prefill rc $?" >> $R/gpu.txt
done
date -u >> $R/gpu.txt
for s in base new; do
  i=$((i+1)); OUT=$R/$s$i timeout 120 bash tools/gpu/compare.sh $s batch > /dev/null 2>&1; echo "$s batch rc $?" >> $R/gpu.txt
done
date -u >> $R/gpu.txt
tar czf $OUT/res.tgz -C /tmp res
