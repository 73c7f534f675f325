#!/usr/bin/env bash
# Session 14, call 8 (an H100): the persistent probe's chain beside the same 74 dispatches with
# empty bodies (Dawn's barriers the same), and empty of one workgroup each; f32 and bf16, atomic,
# P 132 of 1,024 invocations; four checks.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
cp tools/gpu/persistent-probe.mjs tools/gpu/pass-time.mjs /tmp/m3/
run() { # weights sync Y P
  (cd /tmp/m3 && PROBE_CHECKS=4 PROBE_WEIGHTS=$1 PROBE_SYNC=$2 PROBE_Y=$3 timeout 60 node persistent-probe.mjs $4 2>&1 | grep -v "warning\|Compilation log\|^$\|code is unreachable\|^ *^" > $R/probe-$1-$2-y$3-$4.txt; echo "rc $?" >> $R/probe-$1-$2-y$3-$4.txt)
  date -u >> $R/gpu.txt
  cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
}
for w in f32 bf16; do run $w atomic 32 132; done
