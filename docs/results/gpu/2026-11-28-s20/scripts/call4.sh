#!/usr/bin/env bash
# Session 20, call 4: prefill-sized products K-split below 264 workgroups (two per SM) instead of
# 132 ('new': call 3's rule plus this), against call 3's rule ('base2'), the model's prefill at
# 512-2816 tokens, rounds base2, new, new, base2.
set -uo pipefail
R=/tmp/res; rm -rf $R; mkdir -p $R
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; node --version; date -u; } > $R/gpu.txt 2>&1
pack() { tar czf $OUT/res.tgz -C /tmp res; }
i=0
for which in base2 new new base2; do
  i=$((i+1))
  rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3
  [[ $which == base* ]] && tar xzf .gpu/$which/bench.tgz -C /tmp/m3
  ( cd /tmp/m3 && timeout 130 node bench.mjs --suite model --backend webgpu --set models=SISO,Mamba-1,Mamba-2 \
      --set lengths=512,1536,1792,2304,2816 --set prefillRuns=5 --set decodeSteps=4 \
      --json $R/$i-$which.json --md $R/$i-$which.md > $R/$i-$which.log 2>&1 )
  echo "$i $which rc $? $(date -u +%T)" >> $R/gpu.txt; pack
done
