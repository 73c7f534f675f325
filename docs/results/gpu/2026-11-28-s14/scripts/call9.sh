#!/usr/bin/env bash
# Session 14, call 9: Dawn's zero-initialization of workgroup memory (compare.sh noinit): prefill
# and graph decode of SISO, Mamba-1 and Mamba-2 with it in each shader (default), off, and by the
# Vulkan driver's extension; two runs in opposite orders. Code: this session's tree.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
OUT=$R bash tools/gpu/compare.sh new noinit > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
