#!/usr/bin/env bash
# Session 19, call 5: the final tiled product on the tiles the rule chooses between (normB ... onB:
# the three families' in_proj with the norm at 512-8192 rows; rule out_proj residual: 512-8192),
# twice, to check the wave rule's picks with the new loop.
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
