import type { Tensor } from '@mamba3/tensor';
import { add, ArgumentError, div, dispose, keep, minimum, mul, sqrt, square, sub, sum, tidy, zerosLike } from '@mamba3/tensor';

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Parameters exempt from weight decay (default: the official set: dt_bias, D, biases, norm weights). */
  noDecay?: (name: string) => boolean;
}

/** The official no-weight-decay set: dt_bias, D, B/C biases, every norm weight, every bias. */
export function officialNoDecay(name: string): boolean {
  const leaf = name.split('.').pop() ?? name;
  if (leaf === 'dt_bias' || leaf === 'D' || leaf === 'B_bias' || leaf === 'C_bias' || leaf === 'bias') return true;
  return /(^|\.)(norm|norm2|norm_f|B_norm|C_norm)\.weight$/.test(name);
}

/**
 * AdamW (decoupled weight decay, bias-corrected moments), as torch.optim.AdamW. Works on any
 * backend: the update is written with tensor ops. State lives outside tidy scopes.
 */
export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly noDecay: (name: string) => boolean;
  step = 0;
  readonly m = new Map<string, Tensor>();
  readonly v = new Map<string, Tensor>();

  constructor(opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.noDecay = opts.noDecay ?? officialNoDecay;
    for (const [k, v] of [['lr', this.lr], ['eps', this.eps], ['weightDecay', this.weightDecay]] as const) {
      if (!(v >= 0) || !Number.isFinite(v)) throw new ArgumentError(`AdamW: ${k} must be a finite number >= 0, got ${v}`);
    }
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) throw new ArgumentError(`AdamW: betas must be in [0, 1), got ${this.beta1}, ${this.beta2}`);
  }

  /** Returns the updated parameters (new tensors, kept); the old ones and old moments are freed. */
  update(params: Record<string, Tensor>, grads: Record<string, Tensor>, lr = this.lr): Record<string, Tensor> {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    const out: Record<string, Tensor> = {};
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (!g) throw new ArgumentError(`AdamW: no gradient for "${name}"`);
      const m0 = this.m.get(name) ?? keep(zerosLike(p));
      const v0 = this.v.get(name) ?? keep(zerosLike(p));
      const decay = this.noDecay(name) ? 0 : this.weightDecay;
      const [m, v, next] = tidy(() => {
        const m1 = add(mul(m0, this.beta1), mul(g, 1 - this.beta1));
        const v1 = add(mul(v0, this.beta2), mul(square(g), 1 - this.beta2));
        const stepDir = div(div(m1, c1), add(sqrt(div(v1, c2)), this.eps));
        const decayed = decay > 0 ? mul(p, 1 - lr * decay) : p;
        return [m1, v1, sub(decayed, mul(stepDir, lr))];
      });
      this.m.set(name, keep(m));
      this.v.set(name, keep(v));
      dispose([m0, v0, p]);
      out[name] = keep(next);
    }
    return out;
  }

  /** Moments as a flat record (`m.<name>`, `v.<name>`) for checkpoints. */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.m) out[`m.${k}`] = t;
    for (const [k, t] of this.v) out[`v.${k}`] = t;
    return out;
  }

  /** Restores moments and the step count from a checkpoint (takes ownership of the tensors). */
  loadState(tensors: Record<string, Tensor>, step: number): void {
    this.dispose();
    for (const [k, t] of Object.entries(tensors)) {
      if (k.startsWith('m.')) this.m.set(k.slice(2), keep(t));
      else if (k.startsWith('v.')) this.v.set(k.slice(2), keep(t));
    }
    this.step = step;
  }

  dispose(): void {
    dispose([...this.m.values(), ...this.v.values()]);
    this.m.clear();
    this.v.clear();
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (on the device: no readback).
 * Returns the scaled gradients and the norm before clipping.
 */
export function clipGradNorm(grads: Record<string, Tensor>, maxNorm: number): { grads: Record<string, Tensor>; norm: Tensor } {
  return tidy(() => {
    const total = Object.values(grads).reduce<Tensor | null>((acc, g) => {
      const s = sum(square(g));
      return acc ? add(acc, s) : s;
    }, null);
    if (!total) throw new ArgumentError('clipGradNorm: no gradients');
    const norm = sqrt(total);
    const scale = minimum(div(maxNorm, add(norm, 1e-6)), 1);
    const out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, mul(g, scale)]));
    return { grads: out, norm };
  });
}
