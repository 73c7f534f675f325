#!/usr/bin/env bash
# Session 19, call 1: pipeline switches in a chain; the tiled product's arithmetic at the store
# (old/new generators, twice) and its k loop cut apart; cuBLAS at the same shapes; prefill base/new/new/base.
set -uo pipefail
R=$OUT
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
bash .gpu/unpack.sh
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/pipeline-switch.mjs .gpu/decode-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 60 node pipeline-switch.mjs > $R/pipeline-switch.json 2> $R/pipeline-switch.err; echo "switch rc $?" >> $R/gpu.txt )
( cd /tmp/m3 && timeout 200 node kernel-time.mjs decode-variants.json > $R/kt1.txt 2>&1; echo "kt1 rc $?" >> $R/gpu.txt )
( cd /tmp/m3 && timeout 200 node kernel-time.mjs decode-variants.json > $R/kt2.txt 2>&1; echo "kt2 rc $?" >> $R/gpu.txt )
timeout 120 python3 tools/gpu/sgemm_ref.py > $R/sgemm_ref.json 2> $R/sgemm_ref.err; echo "sgemm rc $?" >> $R/gpu.txt
i=0
for s in base new new base; do
  mkdir -p $R/$s$((++i)); OUT=$R/$s$i timeout 150 bash tools/gpu/compare.sh $s prefill > /dev/null 2>&1; echo "$s prefill rc $?" >> $R/gpu.txt
done
date -u >> $R/gpu.txt
