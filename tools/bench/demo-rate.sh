#!/usr/bin/env bash
# The CPU demo's printed decoding rate, N fresh runs (default 5), each with the 1-minute load
# and the process's wall and CPU time: `tools/bench/demo-rate.sh [N] [demo flags...]` from the
# repository root after `pnpm build`. Compare builds by running it in each checkout, interleaved.
set -euo pipefail
n=${1:-5}
shift || true
for _ in $(seq "$n"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$(/usr/bin/time -f '%e s wall, %U+%S cpu-s' node apps/cli/dist/main.js demo "$@" 2>&1 >/dev/null | grep -E 'tokens/s decoding|cpu-s' | tr '\n' ' ')
  echo "load $load: ${line#*overall, }"
done
