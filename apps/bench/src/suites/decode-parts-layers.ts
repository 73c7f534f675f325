/**
 * The per-layer parts of a decode step for `decode-parts`, for each mixer family the model suite
 * builds: the kernels a step runs between the block's input and its residual sum, grouped by kind
 * (every layer's in_proj, every layer's mixer kernels, every layer's out_proj), each kind recorded
 * as a step graph of its own. The calls are the ones the family's step forward makes
 * (mamba3StepForward, mamba1StepForward, mamba2StepForward in @mamba3/core), so the kernels and
 * their shapes are the step's.
 */
import type { Mamba3Config, Mamba3MixerState, Mamba3Options, Mamba1Options, Mamba2Options } from '@mamba3/core';
import { mamba1InProjConv, mamba1StepScan, mamba2StepCore, mamba3MixerStep, mixerAttrs, mixerParams, resolveMamba1Config, resolveMamba2Config, resolveMamba3Config } from '@mamba3/core';
import type { LmWeights, MambaConfig, MambaLMHeadModel } from '@mamba3/model';
import { mixerOptions } from '@mamba3/model';
import type { StepGraph, Tensor } from '@mamba3/tensor';
import { captureStep, fusedLinear, keep, linear, randomNormal, tidy } from '@mamba3/tensor';
import { SettingError } from '../suite.js';

/** One part of the step: its name, and how to record it as a step graph (which owns its inputs). */
export interface Part {
  name: string;
  make(): StepGraph;
}

type Layer = LmWeights['layers'][number];
type State = Record<string, Tensor>;

/** What the layer parts need: the model, its weights and config, the batch, and random inputs. */
export interface PartContext {
  model: MambaLMHeadModel;
  w: LmWeights;
  config: MambaConfig;
  batch: number;
  /** A random [batch, n] input the graph owns. */
  rand(n: number): Tensor;
}

export function partContext(model: MambaLMHeadModel, w: LmWeights, config: MambaConfig, batch: number): PartContext {
  const be = model.backend;
  const rand = (n: number) => keep(tidy(() => randomNormal([batch, n], { backend: be, seed: n })));
  return { model, w, config, batch, rand };
}

/** Every layer's block norm and in_proj as one fused product (Mamba-3 and Mamba-2 steps). */
function normedInProjPart(ctx: PartContext, eps: number): Part {
  const { w, config } = ctx;
  return {
    name: `in_proj GEMV with the block norm, ×${w.layers.length}`,
    make: () => captureStep([ctx.rand(config.dModel)], (x) => w.layers.map((l) => fusedLinear(x, l.mixer['in_proj.weight'], { norm: { weight: l.norm.weight, eps } })), { own: [0] }),
  };
}

/** Every layer's out_proj over `dIn` inputs adding the residual, with Mamba-2's gated norm when `gatedNormEps` is given. */
function outProjPart(ctx: PartContext, dIn: number, gatedNormEps?: number): Part {
  const { w, config } = ctx;
  const norm = (l: Layer) => (gatedNormEps === undefined ? {} : { norm: { weight: l.mixer['norm.weight'], eps: gatedNormEps } });
  return {
    name: `out_proj GEMV with ${gatedNormEps === undefined ? '' : 'the gated norm and '}the residual add, ×${w.layers.length}`,
    make: () => captureStep([ctx.rand(dIn), ctx.rand(config.dModel)], (y, res) => w.layers.map((l) => fusedLinear(y, l.mixer['out_proj.weight'], { ...norm(l), residual: res })), { own: [0, 1] }),
  };
}

/** A layer's conv weight and bias (if any) under the fused ops' names. */
const convWeights = (l: Layer) => ({ convWeight: l.mixer['conv1d.weight'], ...(l.mixer['conv1d.bias'] ? { convBias: l.mixer['conv1d.bias'] } : {}) });

/**
 * Every layer's mixer kernels over the layer's cache, fed back run to run as in decode: `step`
 * maps the layer's inputs and state to its output and next state, whose entries `keys` (default:
 * the whole cache) are those it updates.
 */
function statefulPart(ctx: PartContext, name: string, inputs: Tensor[], step: (l: Layer, ins: Tensor[], s: State) => { y: Tensor; state: State }, only?: string[]): Part {
  return {
    name,
    make: () => {
      const states = ctx.model.allocateInferenceCache(ctx.batch).layers.map((c) => ({ ...c.state() }) as State);
      const keys = only ?? Object.keys(states[0]);
      const n = inputs.length;
      // Inputs: the part's, then each layer's state; outputs: each layer's y, then its next state.
      return captureStep(
        [...inputs, ...states.flatMap((s) => keys.map((k) => s[k]))],
        (...all) =>
          ctx.w.layers.flatMap((l, i) => {
            const r = step(l, all.slice(0, n), Object.fromEntries(keys.map((k, j) => [k, all[n + i * keys.length + j]])));
            return [r.y, ...keys.map((k) => r.state[k])];
          }),
        {
          own: inputs.map((_, i) => i),
          feedback: ctx.w.layers.flatMap((_, i) => keys.map((_k, j) => [i * (1 + keys.length) + 1 + j, n + i * keys.length + j] as const)),
        },
      );
    },
  };
}

function mamba3Parts(ctx: PartContext, eps: number): Part[] {
  const { w, config } = ctx;
  const mc: Mamba3Config = resolveMamba3Config(mixerOptions(config).options as Mamba3Options);
  const attrs = mixerAttrs(mc);
  const L = w.layers.length;
  return [
    normedInProjPart(ctx, eps),
    statefulPart(ctx, `Mamba-3 mixer step, ×${L}`, [ctx.rand(mc.dInProj)], (l, [zx], s) => {
      const r = mamba3MixerStep(zx, mixerParams(l.mixer), attrs, s as unknown as Mamba3MixerState);
      return { y: r.y, state: r.state as unknown as State };
    }),
    outProjPart(ctx, mc.dInner),
  ];
}

/** Mamba-1 without an in_proj bias (the released models): the conv step rides in in_proj. */
function mamba1Parts(ctx: PartContext, eps: number): Part[] {
  const { w, config } = ctx;
  const c = resolveMamba1Config(mixerOptions(config).options as Mamba1Options);
  const L = w.layers.length;
  const E = c.dInner;
  return [
    statefulPart(ctx, `in_proj GEMV with the block norm and the conv step, ×${L}`, [ctx.rand(config.dModel)], (l, [u], s) => {
      const r = mamba1InProjConv({ u, weight: l.mixer['in_proj.weight'], normWeight: l.norm.weight, conv: s.conv, ...convWeights(l) }, { eps });
      return { y: r.x, state: { conv: r.conv } };
    }, ['conv']),
    { name: `x_proj GEMV, ×${L}`, make: () => captureStep([ctx.rand(E)], (x) => w.layers.map((l) => linear(x, l.mixer['x_proj.weight'])), { own: [0] }) },
    statefulPart(ctx, `Mamba-1 step scan (dt_proj, the scan, D, the gate), ×${L}`, [ctx.rand(2 * E), ctx.rand(E), ctx.rand(c.dtRank + 2 * c.dState)], (l, [xz, x, dbc], s) => {
      const r = mamba1StepScan({ xz, x, dbc, dtWeight: l.mixer['dt_proj.weight'], dtBias: l.mixer['dt_proj.bias'], ALog: l.mixer.A_log, D: l.mixer.D, h: s.ssm }, {});
      return { y: r.y, state: { ssm: r.state } };
    }, ['ssm']),
    outProjPart(ctx, E),
  ];
}

/** Mamba-2 as the released models are shaped: the gated norm after the gate, in out_proj's GEMV. */
function mamba2Parts(ctx: PartContext, eps: number): Part[] {
  const { w, config } = ctx;
  const c = resolveMamba2Config(mixerOptions(config).options as Mamba2Options);
  if (!(c.rmsnorm && !c.normBeforeGate && c.ngroups === 1 && c.dMlp === 0)) {
    throw new SettingError('decode-parts: Mamba-2 parts are those of the released shapes (norm after the gate, one group, no MLP part); this config has another step');
  }
  const L = w.layers.length;
  const attrs = { dMlp: c.dMlp, ngroups: c.ngroups, dtLimit: c.dtLimit, gate: true };
  return [
    normedInProjPart(ctx, eps),
    statefulPart(ctx, `Mamba-2 step core (conv step, SSD step, D, the gate), ×${L}`, [ctx.rand(c.dInProj)], (l, [zxbcdt], s) => {
      const m = l.mixer;
      const r = mamba2StepCore({ zxbcdt, conv: s.conv, ...convWeights(l), dtBias: m.dt_bias, ALog: m.A_log, D: m.D, h: s.ssm }, attrs);
      return { y: r.y, state: { conv: r.conv, ssm: r.state } };
    }),
    // The gated norm's eps (core's Mamba-2 takes 1e-5) names the kernel only; the time is the same.
    outProjPart(ctx, c.dSsm, 1e-5),
  ];
}

/** The layer parts of the model's mixer family. */
export function layerParts(ctx: PartContext): Part[] {
  const eps = ctx.config.normEpsilon;
  const layer = ctx.config.ssmCfg.layer ?? 'Mamba3';
  if (layer === 'Mamba1') return mamba1Parts(ctx, eps);
  if (layer === 'Mamba2') return mamba2Parts(ctx, eps);
  return mamba3Parts(ctx, eps);
}
