// Building blocks shared by the autoencoder and the denoiser, mirroring the engine's
// native/core/model/layers.{h,cc}: an arena planner, a weight table that maps tensor names to
// arena slots (with the engine's existence and shape checks), and the layers (conv, norms,
// ResBlock, attention) as WebBackend op calls.
//
// Two phases, as in the engine. Plan: every layer asks for its weights (by name and expected
// shape) and activations (by size) and gets offsets. Bind: the backend allocates the arena, the
// weight table converts and uploads every tensor, and Exec resolves slots against the two region
// bases. A forward pass then allocates nothing in the arena.

import type { ConvShape, GroupNormParams, GroupNormShape, WebBackend } from './backend.js';
import { ModelFileError } from './model_file_error.js';
import { quotedName, shapeString } from './safetensors.js';
import type { SafetensorsFile } from './safetensors.js';

/**
 * A planned region: activations are offsets >= 0 into the activation region; weights are encoded
 * as -(offset + 1) into the weight region, so one number addresses both (the engine tags weight
 * slots with a high bit instead).
 */
export type PlanSlot = number;

const ALIGN_FLOATS = 16; // 64 bytes, like the engine

export class ArenaPlan {
  private top = 0;
  private high = 0;

  take(floats: number): number {
    const s = this.top;
    this.top += Math.ceil(floats / ALIGN_FLOATS) * ALIGN_FLOATS;
    if (this.top > this.high) this.high = this.top;
    return s;
  }
  mark(): number {
    return this.top;
  }
  /** Rewinds so the next region overlaps the previous one; the high-water mark is kept. */
  rewind(mark: number): void {
    this.top = mark;
  }
  get total(): number {
    return this.high;
  }
}

/** Which parameter count a tensor contributes to. */
export type Part = 'denoiser' | 'decoder' | 'encoder';

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

interface WeightEntry {
  name: string;
  shape: number[];
  offset: number;
  conv: boolean;
  scale: number;
}

/** Weights by name: requested while planning, converted (optionally scaled) and uploaded at bind. */
export class WeightTable {
  private readonly plan = new ArenaPlan();
  private readonly entries: WeightEntry[] = [];
  private readonly requested = new Set<string>();
  readonly params: Record<Part, number> = { denoiser: 0, decoder: 0, encoder: 0 };
  /** "name: 3 NaN, 0 Inf" for tensors holding non-finite values. */
  readonly nonFinite: string[] = [];

  constructor(
    private readonly file: SafetensorsFile,
    private readonly backend: WebBackend,
  ) {}

  private checkNew(name: string, shape: number[], part: Part): void {
    if (this.requested.has(name)) throw new Error(`weight "${name}" requested twice`);
    this.requested.add(name);
    // Existence and shape are checked while planning, before anything is allocated.
    const t = this.file.find(name);
    if (!t) {
      throw new ModelFileError(`${this.file.displayName}: missing tensor ${quotedName(name)} (expected shape ${shapeString(shape)})`);
    }
    if (shapeString(t.shape) !== shapeString(shape)) {
      throw new ModelFileError(`${this.file.displayName}: tensor ${quotedName(name)} has shape ${shapeString(t.shape)}, ` +
        `the manifest implies ${shapeString(shape)}`);
    }
    if (t.nanCount || t.infCount) this.nonFinite.push(`${name}: ${t.nanCount} NaN, ${t.infCount} Inf`);
    // Fourier frequencies are buffers, not parameters (PyTorch's count excludes them).
    if (!name.endsWith('.freqs')) this.params[part] += numelOf(shape);
  }

  /** A plain tensor; `scale` multiplies the values at load (folding the latent scale). */
  tensor(name: string, shape: number[], part: Part, scale = 1): PlanSlot {
    this.checkNew(name, shape, part);
    const offset = this.plan.take(numelOf(shape));
    this.entries.push({ name, shape, offset, conv: false, scale });
    return -(offset + 1);
  }

  /** A conv weight [cout, cin, k, k] in the backend's layout. */
  conv(name: string, cout: number, cin: number, k: number, part: Part, scale = 1): PlanSlot {
    const shape = [cout, cin, k, k];
    this.checkNew(name, shape, part);
    const offset = this.plan.take(this.backend.convPackedFloats(cout, cin, k));
    this.entries.push({ name, shape, offset, conv: true, scale });
    return -(offset + 1);
  }

  get totalFloats(): number {
    return this.plan.total;
  }

  /** Converts and uploads every requested tensor into the weight region at `base`. */
  load(base: number): void {
    for (const e of this.entries) {
      const host = this.file.toF32(e.name, e.shape);
      if (e.scale !== 1) {
        const s = Math.fround(e.scale);
        for (let i = 0; i < host.length; i++) host[i] = (host[i] as number) * s;
      }
      if (e.conv) {
        const [cout, cin, k] = e.shape as [number, number, number, number];
        this.backend.uploadConvWeight(cout, cin, k, host, base + e.offset);
      } else {
        this.backend.upload(base + e.offset, host);
      }
    }
  }

  /** Tensors in the file that no network requested (allowed, reported). */
  unused(): string[] {
    return this.file.tensors.filter((t) => !this.requested.has(t.name)).map((t) => t.name);
  }
}

/** Everything a layer needs while planning; `plan` is the activation plan. */
export interface BuildCtx {
  weights: WeightTable;
  plan: ArenaPlan;
  backend: WebBackend;
  part: Part;
}

/** An activation buffer of c x h x w (batch 1: the page runs one world). */
export interface Act {
  slot: PlanSlot;
  c: number;
  h: number;
  w: number;
}

export function actPer(a: Act): number {
  return a.c * a.h * a.w;
}

export function planAct(b: BuildCtx, c: number, h: number, w: number): Act {
  return { slot: b.plan.take(c * h * w), c, h, w };
}

export interface Conv {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  w: PlanSlot;
  b: PlanSlot;
}

export function convShape(c: Conv, n: number, h: number, w: number): ConvShape {
  return { n, cin: c.cin, h, w, cout: c.cout, k: c.k, stride: c.stride, pad: Math.floor(c.k / 2) };
}

/** `prefix`.weight / `prefix`.bias, padding k/2; the scales fold the latent scale at load. */
export function planConv(b: BuildCtx, prefix: string, cin: number, cout: number, k: number, stride: number,
  wScale = 1, bScale = 1): Conv {
  return {
    cin, cout, k, stride,
    w: b.weights.conv(`${prefix}.weight`, cout, cin, k, b.part, wScale),
    b: b.weights.tensor(`${prefix}.bias`, [cout], b.part, bScale),
  };
}

/** nn.GroupNorm with affine weight/bias. */
export interface Norm {
  c: number;
  groups: number;
  gamma: PlanSlot;
  beta: PlanSlot;
}

export function planNorm(b: BuildCtx, prefix: string, c: number, groups: number): Norm {
  return {
    c, groups,
    gamma: b.weights.tensor(`${prefix}.weight`, [c], b.part),
    beta: b.weights.tensor(`${prefix}.bias`, [c], b.part),
  };
}

/** AdaGroupNorm: `prefix`.linear maps cond to [scale; shift], each landing in its own buffer. */
export interface AdaNorm {
  c: number;
  groups: number;
  condDim: number;
  w: PlanSlot;
  b: PlanSlot;
  scale: PlanSlot;
  shift: PlanSlot;
}

function planAda(b: BuildCtx, prefix: string, c: number, groups: number, condDim: number): AdaNorm {
  return {
    c, groups, condDim,
    w: b.weights.tensor(`${prefix}.linear.weight`, [2 * c, condDim], b.part),
    b: b.weights.tensor(`${prefix}.linear.bias`, [2 * c], b.part),
    scale: b.plan.take(c),
    shift: b.plan.take(c),
  };
}

export const GROUP_NORM_EPS = 1e-5;

export function gnShape(n: number, c: number, h: number, w: number, groups: number): GroupNormShape {
  return { n, c, hw: h * w, groups, eps: GROUP_NORM_EPS };
}

export interface AttentionLayer {
  c: number;
  heads: number;
  norm: Norm;
  qkv: Conv;
  proj: Conv;
  normed: Act;
  qkvOut: Act;
  attnOut: Act;
  out: Act;
}

function planAttention(b: BuildCtx, prefix: string, c: number, h: number, w: number, groups: number, heads: number): AttentionLayer {
  return {
    c, heads,
    norm: planNorm(b, `${prefix}.norm`, c, groups),
    qkv: planConv(b, `${prefix}.qkv`, c, 3 * c, 1, 1),
    proj: planConv(b, `${prefix}.proj`, c, c, 1, 1),
    normed: planAct(b, c, h, w),
    qkvOut: planAct(b, 3 * c, h, w),
    attnOut: planAct(b, c, h, w),
    out: planAct(b, c, h, w),
  };
}

/**
 * ResBlock (train/modules.py): norm1 -> SiLU -> conv1, norm2 -> SiLU -> conv2, + skip, then
 * optional attention; adaptive norms (denoiser) or affine ones (autoencoder).
 */
export interface ResBlockLayer {
  cin: number;
  cout: number;
  h: number;
  w: number;
  groups: number;
  norm1?: Norm;
  norm2?: Norm;
  ada1?: AdaNorm;
  ada2?: AdaNorm;
  conv1: Conv;
  conv2: Conv;
  skip?: Conv;
  skipOut?: Act;
  attn?: AttentionLayer;
  mid: Act;
  out: Act;
}

/** Where the block's result ends up (out, or the attention's out). */
export function resblockResult(r: ResBlockLayer): Act {
  return r.attn ? r.attn.out : r.out;
}

/** condDim > 0: adaptive norms; heads > 0: attention after the block. */
export function planResblock(b: BuildCtx, prefix: string, cin: number, cout: number, h: number, w: number,
  groups: number, condDim: number, heads: number): ResBlockLayer {
  const adaptive = condDim > 0;
  const ada1 = adaptive ? planAda(b, `${prefix}.norm1`, cin, groups, condDim) : undefined;
  const ada2 = adaptive ? planAda(b, `${prefix}.norm2`, cout, groups, condDim) : undefined;
  const norm1 = adaptive ? undefined : planNorm(b, `${prefix}.norm1`, cin, groups);
  const norm2 = adaptive ? undefined : planNorm(b, `${prefix}.norm2`, cout, groups);
  const conv1 = planConv(b, `${prefix}.conv1`, cin, cout, 3, 1);
  const conv2 = planConv(b, `${prefix}.conv2`, cout, cout, 3, 1);
  let skip: Conv | undefined;
  let skipOut: Act | undefined;
  if (cin !== cout) {
    skip = planConv(b, `${prefix}.skip`, cin, cout, 1, 1);
    skipOut = planAct(b, cout, h, w);
  }
  const mid = planAct(b, cout, h, w);
  const out = planAct(b, cout, h, w);
  const attn = heads > 0 ? planAttention(b, `${prefix}.attn`, cout, h, w, groups, heads) : undefined;
  return { cin, cout, h, w, groups, norm1, norm2, ada1, ada2, conv1, conv2, skip, skipOut, attn, mid, out };
}

/** Runtime view of the arena: resolves plan slots against the two region bases. */
export class Exec {
  constructor(
    readonly be: WebBackend,
    readonly weights: number,
    readonly activations: number,
  ) {}

  at(s: PlanSlot): number {
    return s < 0 ? this.weights + (-s - 1) : this.activations + s;
  }
  act(a: Act): number {
    return this.at(a.slot);
  }
}

/** AdaNorm scale/shift from cond [cond_dim]: two row ranges of one Linear. */
export function runAdaLinear(e: Exec, a: AdaNorm, cond: number): void {
  const w = e.at(a.w);
  const bias = e.at(a.b);
  e.be.run({ op: 'linear', n: 1, in: a.condDim, out: a.c, x: cond, w, b: bias, y: e.at(a.scale) });
  e.be.run({ op: 'linear', n: 1, in: a.condDim, out: a.c, x: cond, w: w + a.c * a.condDim, b: bias + a.c, y: e.at(a.shift) });
}

export function runConv(e: Exec, c: Conv, h: number, w: number, x: number, y: number, residual?: number): void {
  e.be.run({ op: 'conv2d', s: convShape(c, 1, h, w), x, w: e.at(c.w), bias: e.at(c.b), residual, y });
}

function normParams(e: Exec, r: ResBlockLayer, which: 1 | 2): GroupNormParams {
  const ada = which === 1 ? r.ada1 : r.ada2;
  if (ada) return { scale: e.at(ada.scale), shift: e.at(ada.shift), silu: true };
  const n = (which === 1 ? r.norm1 : r.norm2) as Norm;
  return { gamma: e.at(n.gamma), beta: e.at(n.beta), silu: true };
}

/** x (cin) -> resblockResult(r) (cout). */
export function runResblock(e: Exec, r: ResBlockLayer, x: number): void {
  const mid = e.act(r.mid);
  const out = e.act(r.out);
  e.be.run({
    op: 'gn_silu_conv2d', gs: gnShape(1, r.cin, r.h, r.w, r.groups), gp: normParams(e, r, 1),
    cs: convShape(r.conv1, 1, r.h, r.w), x, w: e.at(r.conv1.w), bias: e.at(r.conv1.b), y: mid,
  });
  let residual = x;
  if (r.skip && r.skipOut) {
    runConv(e, r.skip, r.h, r.w, x, e.act(r.skipOut));
    residual = e.act(r.skipOut);
  }
  e.be.run({
    op: 'gn_silu_conv2d', gs: gnShape(1, r.cout, r.h, r.w, r.groups), gp: normParams(e, r, 2),
    cs: convShape(r.conv2, 1, r.h, r.w), x: mid, w: e.at(r.conv2.w), bias: e.at(r.conv2.b), residual, y: out,
  });
  const a = r.attn;
  if (!a) return;
  e.be.run({
    op: 'group_norm', s: gnShape(1, a.c, r.h, r.w, a.norm.groups), x: out,
    p: { gamma: e.at(a.norm.gamma), beta: e.at(a.norm.beta), silu: false }, y: e.act(a.normed),
  });
  runConv(e, a.qkv, r.h, r.w, e.act(a.normed), e.act(a.qkvOut));
  e.be.run({ op: 'attention', s: { n: 1, c: a.c, t: r.h * r.w, heads: a.heads }, qkv: e.act(a.qkvOut), y: e.act(a.attnOut) });
  runConv(e, a.proj, r.h, r.w, e.act(a.attnOut), e.act(a.out), out);
}
