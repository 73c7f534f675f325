#!/usr/bin/env bash
# On the GPU host: kernel-time.mjs once per group of .gpu/decode-variants.json (each group a name
# regex, each in its own process: a long run slows its later variants), output appended to FILE.
# Usage, from the repo root: bash tools/gpu/kernel-groups.sh FILE 'mixer R1 ' 'mm in_proj M32' ...
# Dawn toggles for every group: DAWN_TOGGLES=disable_robustness bash tools/gpu/kernel-groups.sh ...
set -uo pipefail
file=${1:?usage: kernel-groups.sh FILE REGEX...}; shift
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
repo=$PWD
rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3 || exit 1
cp tools/gpu/kernel-time.mjs tools/gpu/pass-time.mjs /tmp/m3/
for g in "$@"; do
  echo "== $g ${DAWN_TOGGLES:+(toggles $DAWN_TOGGLES) }$(date -u +%T)" >> "$file"
  (cd /tmp/m3 && timeout 240 node kernel-time.mjs "$repo/.gpu/decode-variants.json" "$g") 2>&1 | grep -v '^Warning' >> "$file"
done
