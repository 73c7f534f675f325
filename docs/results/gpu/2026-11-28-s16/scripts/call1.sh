#!/usr/bin/env bash
# Session 16, call 1: sample-ahead.mjs (the sampled graph decode: a write before each run against
# one writeAhead a group of 8; greedy and generate beside them), 16 rounds of 512 tokens a variant,
# twice; then the batched graph decode at temperature 1 (batches 1/8/32/128), whose groups now
# take their draws by writeAhead. Code: 4f256ce + the bundle's entry for sample-ahead.mjs.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
(cd /tmp/m3 && for i in 1 2; do timeout 200 node sample-ahead.mjs 16 512 2>&1 | grep -v '^Warning' > $R/sample-ahead.$i.txt; done)
(cd /tmp/m3 && timeout 150 node bench.mjs --suite model --backend webgpu --backend webgpu-bf16 --set models=SISO --set lengths=512 --set decodeSteps=128 --set batches=1,8,32,128 --set temperature=1 \
  --json $R/batch-t1.json --md $R/batch-t1.md 2>&1 | grep -v '^Warning' > $R/batch-t1.log)
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
