// Session 19, call 3's variants: the tiled product's k loop one slice an iteration ('late', call
// 1's form) or two ('pairs'), each with the k-steps spelled out (wu) or a WGSL loop (w), on the
// model's products. Writes /work/main/.gpu/decode-variants.json.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const gens = { late: '/tmp/latepkg/dist/kernels/matmul-tiled.wgsl.js', pairs: '/tmp/bwgpkg/dist/kernels/matmul-tiled.wgsl.js' };
const d = 768, dInProj = 3432, dInner = 1536;
const cases = [['m3 in_proj', 8192, dInProj, d, '64x128x8-8x8', { rowNormEps: 1e-5, weightOnB: true }], ['m1 in_proj', 8192, 4 * d, d, '128x128x8-8x8', { rowNormEps: 1e-5, weightOnB: true }], ['m2 in_proj', 8192, 3352, d, '64x128x8-8x8', { rowNormEps: 1e-5, weightOnB: true }], ['out_proj', 8192, d, dInner, '64x128x8-8x8', { residual: true }], ['m3 in_proj', 2048, dInProj, d, '128x128x8-8x8', { rowNormEps: 1e-5, weightOnB: true }], ['out_proj', 2048, d, dInner, '64x128x8-8x8', { residual: true }]];
const variants = {};
for (const [name, M, N, K, tile, fused] of cases) {
  for (const [g, path] of Object.entries(gens)) {
    const m = await import(pathToFileURL(path).href);
    for (const suffix of ['wu', 'w']) {
      const tn = tile + suffix;
      const v = m.TILE_VARIANTS[tn];
      const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
      const scaled = fused.rowNormEps !== undefined;
      variants[`loop ${name} M${M} ${tn} ${g}`] = {
        code: m.matmulRegTiledWgsl(dims, v, 'rows', 0, scaled, null, fused),
        bindings: [{ bytes: M * K * 4 }, { bytes: N * K * 4 }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: m.runtimeDimsUniform(dims, v, 'rows') }, ...(scaled ? [{ bytes: K * 4 }] : []), ...(fused.residual ? [{ bytes: M * N * 4 }] : [])],
        grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
        flops: 2 * M * N * K,
      };
    }
  }
}
writeFileSync('/work/main/.gpu/decode-variants.json', JSON.stringify(variants));
console.log(Object.keys(variants).length);
