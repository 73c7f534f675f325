#!/usr/bin/env bash
# Packs apps/bench (with this backend) for the air-gapped NVIDIA host described in
# shared/gpu/README.md. Run from the project root after `pnpm install`:
#   bash packages/backend-webgpu/scripts/pack-gpu-bench.sh [DIR]      (default .gpu, git-ignored)
# It builds, bundles apps/bench into one ESM file (webgpu left external), adds the `webgpu`
# package with only its linux-x64 dawn.node, and runs shared/gpu/pack.sh for Node and the
# Vulkan loader. On the host, from the project root:
#   . .gpu/setup.sh && mkdir -p /tmp/b && tar xzf .gpu/bench.tgz -C /tmp/b
#   node /tmp/b/bench.mjs --suite webgpu-kernels --json /tmp/b/webgpu-kernels.json
set -euo pipefail
dir=${1:-.gpu}
root=$(pwd)
[[ -f pnpm-workspace.yaml ]] || { echo "run from the project root" >&2; exit 2; }
pnpm exec turbo run build --filter=@mamba3/bench... >/dev/null
stage=$(mktemp -d)
npx --yes esbuild@0.28.2 apps/bench/dist/main.js --bundle --platform=node --format=esm \
  --external:webgpu --log-level=warning --outfile="$stage/bench.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
webgpu=$(node -e "console.log(require('path').dirname(require.resolve('webgpu/package.json', { paths: ['$root/packages/backend-webgpu'] })))")
mkdir -p "$stage/node_modules/webgpu/dist"
cp "$webgpu/package.json" "$webgpu/index.js" "$stage/node_modules/webgpu/"
cp -r "$webgpu/dist/linux-x64" "$stage/node_modules/webgpu/dist/"
mkdir -p "$dir"
tar czf "$dir/bench.tgz" -C "$stage" .
rm -rf "$stage"
shared=$(cd "$root/.." && pwd)/shared/gpu/pack.sh
if [[ -f $shared ]]; then bash "$shared" "$dir"; else echo "note: $shared not found; add Node and the Vulkan loader yourself" >&2; fi
du -sh "$dir"/*
