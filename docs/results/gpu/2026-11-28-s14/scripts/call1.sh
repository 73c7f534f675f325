#!/usr/bin/env bash
# Session 14, call 1: the persistent decode-step probe (tools/gpu/persistent-probe.mjs) at
# P = 132..528 workgroups, each in its own process under a timeout (a grid barrier hangs when
# the workgroups are not all resident), then today's graph decode (compare.sh new decode).
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp tools/gpu/persistent-probe.mjs tools/gpu/pass-time.mjs /tmp/m3/
for P in 132 264 396 528 1056; do
  (cd /tmp/m3 && timeout 100 node persistent-probe.mjs $P > $R/probe-$P.txt 2>&1; echo "rc $?" >> $R/probe-$P.txt)
  date -u >> $R/gpu.txt
  cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
done
OUT=$R bash tools/gpu/compare.sh new decode > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
