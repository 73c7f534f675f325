#!/usr/bin/env bash
# Session 21, call 1: the kept prefill rule (ce8f13a: no-norm products split below 231 tiles, out_proj
# below 1,408 rows on 64x128 split) against the session-20 start (4a96f3a, .gpu/base/bench.tgz), the
# model prefill at 512/1280/2048/2560 tokens, three families, rounds base, new, new, base.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; node --version; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
i=0
for which in base new new base; do
  i=$((i+1))
  rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3
  [[ $which == base* ]] && tar xzf .gpu/$which/bench.tgz -C /tmp/m3
  ( cd /tmp/m3 && timeout 125 node bench.mjs --suite model --backend webgpu --set models=SISO,Mamba-1,Mamba-2 \
      --set lengths=512,1280,2048,2560 --set prefillRuns=5 --set decodeSteps=4 \
      --json $R/$i-$which.json --md $R/$i-$which.md > $R/$i-$which.log 2>&1 )
  echo "$i $which rc $? $(date -u +%T)" >> $R/gpu.txt; pack
done
