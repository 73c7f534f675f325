// Session 19, call 6's variants: the three families' in_proj with the norm (its weight on W) on
// 64×128 and 128×128 tiles at the row counts where the two counts of the prefill tile rule
// disagree, and some where they agree. Writes /work/main/.gpu/decode-variants.json.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL('/work/main/packages/backend-webgpu/dist/kernels/matmul-tiled.wgsl.js').href);
const variants = {};
const Ms = [1536, 1920, 2048, 2176, 2432, 2560, 3200, 3584, 4096, 5760, 6144, 7040];
for (const [name, N] of [['m3', 3432], ['m1', 3072], ['m2', 3352]]) for (const M of Ms) for (const tn of ['64x128x8-8x8wu', '128x128x8-8x8wu']) {
  const v = m.TILE_VARIANTS[tn];
  const K = 768;
  const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  variants[`sweep ${name} in_proj M${M} ${tn}`] = {
    code: m.matmulRegTiledWgsl(dims, v, 'rows', 0, true, null, { rowNormEps: 1e-5, weightOnB: true }),
    bindings: [{ bytes: M * K * 4 }, { bytes: N * K * 4 }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: m.runtimeDimsUniform(dims, v, 'rows') }, { bytes: K * 4 }],
    grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
    flops: 2 * M * N * K,
  };
}
writeFileSync('/work/main/.gpu/decode-variants.json', JSON.stringify(variants));
console.log(Object.keys(variants).length);
