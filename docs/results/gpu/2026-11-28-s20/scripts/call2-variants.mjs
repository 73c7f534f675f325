// Session 20, call 2's variants: the model's prefill products at 1,024-3,072 rows on every tile the
// prefill rule or its fallback list can pick: out_proj with the residual (N 768, K 1,536) and the
// three families' in_proj with the norm (its weight on W). Timed as a chain (KT_CHAIN=1: each
// dispatch waits for the one before, as in the model). Writes /work/main/.gpu/decode-variants.json.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL('/work/main/packages/backend-webgpu/dist/kernels/matmul-tiled.wgsl.js').href);
const variants = {};
const Ms = [1024, 1280, 1536, 1792, 2048, 2304, 2560, 2816, 3072];
const TILES = ['128x128x8-8x8wu', '64x128x8-8x8wu', '128x64x8-8x8wu', '128x64x8-8x8', '64x64x16-4x4w', '32x64x16-4x4w'];
function add(label, M, N, K, tn, fused) {
  const v = m.TILE_VARIANTS[tn];
  const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  const scaled = fused.rowNormEps !== undefined;
  variants[label] = {
    code: m.matmulRegTiledWgsl(dims, v, 'rows', 0, scaled, null, fused),
    bindings: [
      { bytes: M * K * 4 }, { bytes: N * K * 4 }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: m.runtimeDimsUniform(dims, v, 'rows') },
      ...(scaled ? [{ bytes: K * 4 }] : []), ...(fused.residual ? [{ bytes: M * N * 4 }] : []),
    ],
    grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
    flops: 2 * M * N * K,
  };
}
for (const M of Ms) for (const tn of TILES) add(`chain out_proj M${M} ${tn}`, M, 768, 1536, tn, { residual: true });
for (const [name, N] of [['m3', 3432], ['m1', 3072], ['m2', 3352]]) for (const M of Ms) for (const tn of TILES.slice(0, 3)) {
  add(`chain ${name} in_proj M${M} ${tn}`, M, N, 768, tn, { rowNormEps: 1e-5, weightOnB: true });
}
writeFileSync('/work/main/.gpu/decode-variants.json', JSON.stringify(variants));
console.log(Object.keys(variants).length);
