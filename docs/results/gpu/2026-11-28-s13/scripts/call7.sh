#!/usr/bin/env bash
# Session 13, call 7 (an H100): the official Mamba-3 prefill (perf_ref.py), then our model suite
# (SISO, MIMO r4) on the same machine, code 685553a.
OUT0=$OUT
R=/tmp/res; mkdir -p $R/anchors
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
timeout 150 python3 .gpu/anchors/perf_ref.py .gpu/ref > $R/anchors/perf_ref.json 2> $R/anchors/perf_ref.err; echo "perf_ref rc $?" >> $R/gpu.txt
cp $R/anchors/perf_ref.json /tmp/
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res; cd - > /dev/null
OUT=$R bash tools/gpu/compare.sh new model > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
