#!/usr/bin/env bash
# Session 16, call 3: where goal 1 stands on this session's code, beside the official code in the
# same run: `compare.sh anchors` (the official fp32/bf16 prefill and CUDA-graph decode), then
# `compare.sh new decode` (graph decode at 512 tokens, SISO and MIMO r4, f32 and bf16 weights,
# 256 steps) and `compare.sh new parts` (GPU µs of each part of a decode step: in_proj, mixer
# step, out_proj, the head with argmax or with sampling). Code: eb7be7b's library code.
OUT0=$OUT
R=/tmp/res; rm -rf $R; mkdir -p $R
{ nvidia-smi -L; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
bash .gpu/unpack.sh > /dev/null 2>&1
OUT=$R bash tools/gpu/compare.sh anchors > /dev/null 2>&1
OUT=$R bash tools/gpu/compare.sh new decode parts > /dev/null 2>&1
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
