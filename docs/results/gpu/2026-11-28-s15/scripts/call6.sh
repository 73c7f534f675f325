#!/usr/bin/env bash
# Session 15, call 6: `generate` before (14dd35e: one read a token, three in flight) and now
# (ec51c60: paced groups) on one machine. tools/gpu/generate-rate.mjs bundled twice
# (.gpu/genrate/build.sh); six rounds, each running both builds (alternating which goes first),
# each process 2 timed generate calls of 512 tokens per weight dtype (bf16, f32).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp .gpu/genrate/generate-rate-*.mjs /tmp/m3/
cd /tmp/m3
for r in 1 2 3 4 5 6; do
  order="old new"; (( r % 2 == 0 )) && order="new old"
  for v in $order; do
    echo "round $r $v" >> $R/generate-rate.txt
    timeout 90 node generate-rate-$v.mjs 2 512 2>&1 | grep -v '^Warning' >> $R/generate-rate.txt
  done
done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
