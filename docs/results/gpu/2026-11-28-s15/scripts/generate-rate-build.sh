#!/usr/bin/env bash
# Bundles tools/gpu/generate-rate.mjs twice: with this tree's generate (new) and with 14dd35e's
# generate.ts compiled into packages/model/dist for the bundle (old), then restores dist.
set -e
cd /work/main
B="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
E=tools/gpu/node_modules/.bin/esbuild
bundle() { (cd tools/gpu && ./node_modules/.bin/esbuild generate-rate.mjs --bundle --platform=node --format=esm --target=node20 --outfile=$1 --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --alias:@mamba3/model=../../packages/model/dist/index.js "--banner:js=$B" --log-level=error); }
git show 14dd35e:packages/model/src/generate.ts > /tmp/old-generate.ts
cp packages/model/dist/generate.js /tmp/new-generate.js
$E /tmp/old-generate.ts --format=esm --target=node20 --outfile=packages/model/dist/generate.js --log-level=warning
bundle /tmp/genrate/generate-rate-old.mjs
cp /tmp/new-generate.js packages/model/dist/generate.js
bundle /tmp/genrate/generate-rate-new.mjs
grep -c GRAPH_STEPS_IN_FLIGHT /tmp/genrate/generate-rate-old.mjs
grep -c GraphDecodeQueue /tmp/genrate/generate-rate-new.mjs
