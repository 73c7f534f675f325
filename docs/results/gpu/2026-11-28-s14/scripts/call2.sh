#!/usr/bin/env bash
# Session 14, call 2: the persistent decode-step probe with per-layer activations (no line read
# before it is written in a dispatch), subgroup sums, the norm's input once a workgroup, and a
# barriers-only variant; P = 132..528, each in its own process under a timeout.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp tools/gpu/persistent-probe.mjs tools/gpu/pass-time.mjs /tmp/m3/
for P in 132 264 396 528; do
  (cd /tmp/m3 && timeout 100 node persistent-probe.mjs $P > $R/probe-$P.txt 2>&1; echo "rc $?" >> $R/probe-$P.txt)
  date -u >> $R/gpu.txt
  cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
done
