#!/usr/bin/env bash
# Session 19, call 6: in_proj on 64×128 and 128×128 at the row counts of scripts/call6-variants.mjs, twice.
set -uo pipefail
R=$OUT
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
{ nvidia-smi -L; nvidia-smi --query-gpu=uuid --format=csv; lscpu | grep 'Model name'; date -u; } > $R/gpu.txt 2>&1
bash .gpu/unpack.sh
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/decode-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 200 node kernel-time.mjs decode-variants.json > $R/kt1.txt 2>&1; echo "kt1 rc $?" >> $R/gpu.txt )
( cd /tmp/m3 && timeout 200 node kernel-time.mjs decode-variants.json > $R/kt2.txt 2>&1; echo "kt2 rc $?" >> $R/gpu.txt )
date -u >> $R/gpu.txt
