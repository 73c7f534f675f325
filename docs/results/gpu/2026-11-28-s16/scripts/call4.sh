#!/usr/bin/env bash
# Session 16, call 4: the decode step's parts (decode-parts suite), the sampling pick staging its
# chunk stats in workgroup memory (c671320, `new`) beside eb7be7b's pick (`base`: .gpu/base/bench.tgz,
# its bench.mjs and cli.mjs bundled with packages/model/src/kernels/webgpu/ as at eb7be7b), in
# the order base, new, new, base (a1/, b1/, b2/, a2/).
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
OUT=$R/a1 bash tools/gpu/compare.sh base parts > /dev/null 2>&1
OUT=$R/b1 bash tools/gpu/compare.sh new parts > /dev/null 2>&1
OUT=$R/b2 bash tools/gpu/compare.sh new parts > /dev/null 2>&1
OUT=$R/a2 bash tools/gpu/compare.sh base parts > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
