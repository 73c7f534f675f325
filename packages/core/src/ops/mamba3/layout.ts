import type { Mamba3MixerAttrs } from './mixer-types.js';

/*
 * The in_proj output layout of the Mamba-3 mixer: ONE definition, read by the composite's
 * split, every kernel (WGSL offsets), the config (dInProj) and the parameter code (in_proj and
 * the backbone's ssm_proj widths). The official order (mamba_ssm/modules/mamba3.py):
 *   z [H·P] | x [H·P] | B [R·G·N] | C [R·G·N] | dd_dt [H] | dd_A [H] | trap [H] | angles [A]
 * with B and C laid out (r g n).
 */

/** The sections of zxbcdt, in order. */
export const IN_PROJ_SECTIONS = ['z', 'x', 'B', 'C', 'ddDt', 'ddA', 'trap', 'angles'] as const;
export type InProjSection = (typeof IN_PROJ_SECTIONS)[number];

export interface InProjLayout {
  /** Width of each section. */
  sizes: Record<InProjSection, number>;
  /** Element offset of each section inside one zxbcdt row. */
  offsets: Record<InProjSection, number>;
  /** The section widths in order (for `split`). */
  splitSizes: number[];
  /** The row width: in_proj's output features. */
  dInProj: number;
}

export type InProjDims = Pick<Mamba3MixerAttrs, 'nheads' | 'headdim' | 'dState' | 'ngroups' | 'mimoRank' | 'numRopeAngles'>;

export function inProjLayout(a: InProjDims): InProjLayout {
  const dInner = a.nheads * a.headdim;
  const bc = a.dState * a.ngroups * a.mimoRank;
  const sizes: Record<InProjSection, number> = { z: dInner, x: dInner, B: bc, C: bc, ddDt: a.nheads, ddA: a.nheads, trap: a.nheads, angles: a.numRopeAngles };
  const offsets = {} as Record<InProjSection, number>;
  let at = 0;
  for (const s of IN_PROJ_SECTIONS) {
    offsets[s] = at;
    at += sizes[s];
  }
  return { sizes, offsets, splitSizes: IN_PROJ_SECTIONS.map((s) => sizes[s]), dInProj: at };
}

/** in_proj's output width. */
export function dInProjOf(a: InProjDims): number {
  return inProjLayout(a).dInProj;
}
