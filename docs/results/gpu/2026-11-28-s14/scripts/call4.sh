#!/usr/bin/env bash
# Session 14, call 4: the persistent decode-step probe, cross-workgroup data as plain loads and
# stores (plain) or as relaxed atomics through L2 with each storing thread waiting for its
# exchanges (atomic); f32 and bf16 weights; P = 264, 396; eight checks of 32 tokens.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp tools/gpu/persistent-probe.mjs tools/gpu/pass-time.mjs /tmp/m3/
for sy in atomic plain; do for w in f32 bf16; do for P in 264 396; do
  (cd /tmp/m3 && PROBE_CHECKS=8 PROBE_SYNC=$sy PROBE_WEIGHTS=$w timeout 100 node persistent-probe.mjs $P 2>&1 | grep -v "warning\|Compilation log\|^$\|code is unreachable\|red\[y\|^ *^" > $R/probe-$sy-$w-$P.txt; echo "rc $?" >> $R/probe-$sy-$w-$P.txt)
  date -u >> $R/gpu.txt
  cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
done; done; done
