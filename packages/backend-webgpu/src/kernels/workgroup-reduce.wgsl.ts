/**
 * Workgroup-wide reductions spliced into kernels: every invocation contributes a value and every
 * invocation gets the total.
 */
import { halvingLoop } from '../codegen.js';

/**
 * WGSL statements leaving the workgroup-wide sum (or max) of `values[r]` (one WGSL expression per
 * quantity, each invocation's own) in `let names[r]`, for every invocation, all quantities at once.
 * With subgroups (at most 32 wide, builtins `sgs` and `sgi`): one subgroup op per quantity, the
 * partials meet in `red`, two barriers; else a log2(wg)-level tree in `red`. `red` is a workgroup
 * array of at least values.length × wg f32; `lid` the invocation's index in the workgroup.
 */
export function allReduceWgsl(names: readonly string[], values: readonly string[], kind: 'sum' | 'max', wg: number, lid: string, sg: boolean): string {
  const combine = (a: string, b: string) => (kind === 'sum' ? `${a} + ${b}` : `max(${a}, ${b})`);
  const at = (r: number, i: string) => (r === 0 ? `red[${i}]` : `red[${r * wg}u + ${i}]`);
  if (sg) {
    const parts = values.map((v, r) => `let part${r} = ${kind === 'sum' ? 'subgroupAdd' : 'subgroupMax'}(${v});`);
    const totals = names.map(
      (name, r) => `var ${name}_acc = ${at(r, '0u')};
  for (var j = 1u; j < ${wg}u; j++) {
    if (j >= ${wg}u / sgs) { break; }
    ${name}_acc = ${combine(`${name}_acc`, at(r, 'j'))};
  }
  let ${name} = ${name}_acc;`,
    );
    return `{
    ${parts.join('\n    ')}
    if (sgi == 0u) { ${values.map((_, r) => `${at(r, `${lid} / sgs`)} = part${r};`).join(' ')} }
  }
  workgroupBarrier();
  ${totals.join('\n  ')}
  workgroupBarrier();`;
  }
  return `${values.map((v, r) => `${at(r, lid)} = ${v};`).join('\n  ')}
  workgroupBarrier();
  ${halvingLoop('s', wg / 2, `if (${lid} < s) { ${values.map((_, r) => `${at(r, lid)} = ${combine(at(r, lid), at(r, `${lid} + s`))};`).join(' ')} }
    workgroupBarrier();`)}
  ${names.map((name, r) => `let ${name} = ${at(r, '0u')};`).join('\n  ')}
  workgroupBarrier();`;
}
