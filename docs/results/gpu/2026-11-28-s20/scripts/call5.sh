#!/usr/bin/env bash
# Session 20, call 5: the final rule: prefill-sized products without a fused norm K-split below 264
# workgroups (two per SM), in_proj with its norm below 132 as before ('new'), against call 3's rule ('base2'),
# the model prefill at 512-2560 tokens, rounds base2, new, new, base2; then the official perf_ref.py.
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
      --set lengths=512,1024,1536,2048,2304,2560 --set prefillRuns=5 --set decodeSteps=4 \
      --json $R/$i-$which.json --md $R/$i-$which.md > $R/$i-$which.log 2>&1 )
  echo "$i $which rc $? $(date -u +%T)" >> $R/gpu.txt; pack
done
mkdir -p $R/anchors; timeout 150 python3 .gpu/anchors/perf_ref.py .gpu/ref > $R/anchors/perf_ref.json 2> $R/anchors/perf_ref.err; echo "perf_ref rc $? $(date -u +%T)" >> $R/gpu.txt; pack
