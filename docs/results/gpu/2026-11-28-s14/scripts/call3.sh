#!/usr/bin/env bash
# Session 14, call 3: the persistent decode-step probe with the token, the argmax candidates and
# the epoch on lines of their own, f32 and bf16 weights, P = 132, 264, 396, each in its own
# process under a timeout; four checks of 32 tokens after the timed steps.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp tools/gpu/persistent-probe.mjs tools/gpu/pass-time.mjs /tmp/m3/
for w in f32 bf16; do for P in 132 264 396; do
  (cd /tmp/m3 && PROBE_WEIGHTS=$w timeout 100 node persistent-probe.mjs $P 2>&1 | grep -v "warning\|Compilation log\|^$\|code is unreachable\|red\[y\|^ *^" > $R/probe-$w-$P.txt; echo "rc $?" >> $R/probe-$w-$P.txt)
  date -u >> $R/gpu.txt
  cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
done; done
