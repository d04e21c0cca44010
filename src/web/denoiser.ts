// The denoiser U-Net (train/modules.py Denoiser) as WebBackend op calls, mirroring the engine's
// native/core/model/denoiser.{h,cc} for one world: the same tensor names and shapes, the same
// planning order and the same op sequence (Fourier conditioning, action projection, optional
// memory-pose MLP, AdaNorm linears, then the trunk with skip concatenations).

import type { WebManifest } from './manifest.js';
import { ModelFileError } from './model_file_error.js';
import {
  actPer, convShape, gnShape, planAct, planConv, planNorm, planResblock, resblockResult, runAdaLinear, runConv,
  runResblock,
} from './layers.js';
import type { Act, BuildCtx, Conv, Exec, Norm, PlanSlot, ResBlockLayer } from './layers.js';

/** Per-evaluation host scalars (one world). */
export interface DenoiserScalars {
  cIn: Float32Array;
  cNoise: Float32Array;
  /** Conditioning value of the context-noise level. */
  ctxSigma: Float32Array;
}

/** Memory views already masked by the caller (absent slots: zero latents and poses, mask 0). */
export interface DenoiserMemory {
  latents: number; // arena [M*C, h, w]
  poses: number; // arena [M, P]
  mask: Float32Array; // [M]
}

interface DownLevel {
  blocks: ResBlockLayer[];
  down?: Conv;
  downOut?: Act;
}
interface UpLevel {
  upsampled?: Act;
  up?: Conv;
  upOut?: Act;
  cat: Act;
  blocks: ResBlockLayer[];
}

export class DenoiserNet {
  private C = 0;
  private K = 0;
  private A = 0;
  private h = 0;
  private w = 0;
  private fourierHalf = 0;
  private condDim = 0;
  private noiseFreqs: PlanSlot = 0;
  private ctxFreqs: PlanSlot = 0;
  private actionW: PlanSlot = 0;
  private actionB: PlanSlot = 0;
  private fc1W: PlanSlot = 0;
  private fc1B: PlanSlot = 0;
  private fc2W: PlanSlot = 0;
  private fc2B: PlanSlot = 0;
  private embNoise: PlanSlot = 0;
  private embCtx: PlanSlot = 0;
  private embAct: PlanSlot = 0;
  private emb: PlanSlot = 0;
  private hidden: PlanSlot = 0;
  private cond: PlanSlot = 0;
  private M = 0;
  private P = 0;
  private memFc1W: PlanSlot = 0;
  private memFc1B: PlanSlot = 0;
  private memFc2W: PlanSlot = 0;
  private memFc2B: PlanSlot = 0;
  private memHidden: PlanSlot = 0;
  private memEmb: PlanSlot = 0;
  private catMem: Act | undefined;
  private xIn!: Act;
  private catIn!: Act;
  private convIn!: Conv;
  private inOut!: Act;
  private down: DownLevel[] = [];
  private up: UpLevel[] = [];
  private normOut!: Norm;
  private convOut!: Conv;
  private out!: Act;

  get output(): Act {
    return this.out;
  }
  get memorySlots(): number {
    return this.M;
  }

  /** Plans weights ("denoiser.*") and activations. */
  plan(b: BuildCtx, m: WebManifest): void {
    const p = 'denoiser.';
    const d = m.denoiser;
    const ch = d.channels;
    const L = ch.length;
    const g = d.groups;
    this.C = m.latent.channels;
    this.K = d.context;
    this.A = m.actions.names.length;
    this.h = m.latent.height;
    this.w = m.latent.width;
    this.fourierHalf = d.fourierDim / 2;
    if (d.blocks < 1 || L < 1) throw new ModelFileError('manifest.denoiser: needs at least one level and one block');
    this.condDim = d.condDim;
    const F = d.fourierDim;
    const wt = b.weights;

    this.noiseFreqs = wt.tensor(`${p}cond.noise_fourier.freqs`, [this.fourierHalf], b.part);
    this.ctxFreqs = wt.tensor(`${p}cond.ctx_noise_fourier.freqs`, [this.fourierHalf], b.part);
    this.actionW = wt.tensor(`${p}cond.action_proj.weight`, [F, this.K * this.A], b.part);
    this.actionB = wt.tensor(`${p}cond.action_proj.bias`, [F], b.part);
    this.fc1W = wt.tensor(`${p}cond.fc1.weight`, [this.condDim, F], b.part);
    this.fc1B = wt.tensor(`${p}cond.fc1.bias`, [this.condDim], b.part);
    this.fc2W = wt.tensor(`${p}cond.fc2.weight`, [this.condDim, this.condDim], b.part);
    this.fc2B = wt.tensor(`${p}cond.fc2.bias`, [this.condDim], b.part);
    this.embNoise = b.plan.take(F);
    this.embCtx = b.plan.take(F);
    this.embAct = b.plan.take(F);
    this.emb = b.plan.take(F);
    this.hidden = b.plan.take(this.condDim);
    this.cond = b.plan.take(this.condDim);
    this.M = d.memorySlots;
    this.P = d.memoryPoseDim;
    if (this.M > 0) {
      this.memFc1W = wt.tensor(`${p}cond.memory_pose.fc1.weight`, [F, this.P], b.part);
      this.memFc1B = wt.tensor(`${p}cond.memory_pose.fc1.bias`, [F], b.part);
      this.memFc2W = wt.tensor(`${p}cond.memory_pose.fc2.weight`, [F, F], b.part);
      this.memFc2B = wt.tensor(`${p}cond.memory_pose.fc2.bias`, [F], b.part);
      this.memHidden = b.plan.take(this.M * F);
      this.memEmb = b.plan.take(this.M * F);
    }

    const { C, K, M, h: h0, w: w0 } = this;
    this.xIn = planAct(b, C, h0, w0);
    this.catIn = planAct(b, C * (K + 1), h0, w0);
    const cin = C * (K + 1 + M);
    if (M > 0) this.catMem = planAct(b, cin, h0, w0);
    this.convIn = planConv(b, `${p}conv_in`, cin, ch[0] as number, 3, 1);
    this.inOut = planAct(b, ch[0] as number, h0, w0);

    const headsAt = (level: number) => (d.attentionLevels.includes(level) ? d.heads : 0);
    this.down = [];
    for (let i = 0; i < L; i++) {
      const lv: DownLevel = { blocks: [] };
      const h = h0 >> i;
      const w = w0 >> i;
      const ci = ch[i] as number;
      for (let j = 0; j < d.blocks; j++) {
        const blockIn = j === 0 ? (i === 0 ? (ch[0] as number) : (ch[i - 1] as number)) : ci;
        lv.blocks.push(planResblock(b, `${p}down.${i}.blocks.${j}`, blockIn, ci, h, w, g, this.condDim, headsAt(i)));
      }
      if (i + 1 < L) {
        lv.down = planConv(b, `${p}down.${i}.downsample`, ci, ci, 3, 2);
        lv.downOut = planAct(b, ci, h / 2, w / 2);
      }
      this.down.push(lv);
    }
    const up: UpLevel[] = new Array(L);
    for (let i = L - 1; i >= 0; i--) {
      const h = h0 >> i;
      const w = w0 >> i;
      const ci = ch[i] as number;
      let upsampled: Act | undefined;
      let upConv: Conv | undefined;
      let upOut: Act | undefined;
      if (i + 1 < L) {
        upsampled = planAct(b, ch[i + 1] as number, h, w);
        upConv = planConv(b, `${p}up.${i}.upsample`, ch[i + 1] as number, ci, 3, 1);
        upOut = planAct(b, ci, h, w);
      }
      const cat = planAct(b, 2 * ci, h, w);
      const blocks: ResBlockLayer[] = [];
      for (let j = 0; j < d.blocks; j++) {
        blocks.push(planResblock(b, `${p}up.${i}.blocks.${j}`, j === 0 ? 2 * ci : ci, ci, h, w, g, this.condDim, headsAt(i)));
      }
      up[i] = { upsampled, up: upConv, upOut, cat, blocks };
    }
    this.up = up;
    this.normOut = planNorm(b, `${p}norm_out`, ch[0] as number, g);
    this.convOut = planConv(b, `${p}conv_out`, ch[0] as number, C, 3, 1);
    this.out = planAct(b, C, h0, w0);
  }

  /**
   * Raw network F: x [C, h, w] (noisy latent, not yet multiplied by c_in), context [K*C, h, w],
   * actions [K*A] (arena offsets) -> output [C, h, w]. `memory` is required exactly when the
   * model has memory slots.
   */
  run(e: Exec, x: number, s: DenoiserScalars, context: number, actions: number, memory?: DenoiserMemory): void {
    if ((this.M > 0) !== (memory !== undefined)) throw new Error('denoiser: memory inputs do not match memory_slots');
    const be = e.be;
    const F = 2 * this.fourierHalf;
    const half = this.fourierHalf;
    // Conditioning: fc2(SiLU(fc1(Fourier(c_noise) + action_proj(actions) + Fourier(ctx_sigma)))).
    be.run({ op: 'fourier', batch: 1, half, t: s.cNoise, freqs: e.at(this.noiseFreqs), y: e.at(this.embNoise) });
    be.run({ op: 'fourier', batch: 1, half, t: s.ctxSigma, freqs: e.at(this.ctxFreqs), y: e.at(this.embCtx) });
    be.run({ op: 'linear', n: 1, in: this.K * this.A, out: F, x: actions, w: e.at(this.actionW), b: e.at(this.actionB), y: e.at(this.embAct) });
    // Same summation order as PyTorch: (noise + actions) + ctx.
    be.run({ op: 'add', n: F, a: e.at(this.embNoise), b: e.at(this.embAct), y: e.at(this.emb) });
    be.run({ op: 'add', n: F, a: e.at(this.emb), b: e.at(this.embCtx), y: e.at(this.emb) });
    if (memory) {
      // + sum over slots of mask * fc2(SiLU(fc1(pose))), all M rows in one linear each.
      const rows = this.M;
      const hid = e.at(this.memHidden);
      const emb = e.at(this.memEmb);
      be.run({ op: 'linear', n: rows, in: this.P, out: F, x: memory.poses, w: e.at(this.memFc1W), b: e.at(this.memFc1B), y: hid });
      be.run({ op: 'silu', n: rows * F, x: hid, y: hid });
      be.run({ op: 'linear', n: rows, in: F, out: F, x: hid, w: e.at(this.memFc2W), b: e.at(this.memFc2B), y: emb });
      be.run({ op: 'scale_add', batch: rows, per: F, a: memory.mask, x: emb, y: emb });
      for (let m = 1; m < this.M; m++) be.run({ op: 'add', n: F, a: emb, b: emb + m * F, y: emb });
      be.run({ op: 'add', n: F, a: e.at(this.emb), b: emb, y: e.at(this.emb) });
    }
    be.run({ op: 'linear', n: 1, in: F, out: this.condDim, x: e.at(this.emb), w: e.at(this.fc1W), b: e.at(this.fc1B), y: e.at(this.hidden) });
    be.run({ op: 'silu', n: this.condDim, x: e.at(this.hidden), y: e.at(this.hidden) });
    be.run({ op: 'linear', n: 1, in: this.condDim, out: this.condDim, x: e.at(this.hidden), w: e.at(this.fc2W), b: e.at(this.fc2B), y: e.at(this.cond) });
    const cond = e.at(this.cond);
    for (const lv of [...this.down, ...this.up]) {
      for (const r of lv.blocks) {
        if (r.ada1) runAdaLinear(e, r.ada1, cond);
        if (r.ada2) runAdaLinear(e, r.ada2, cond);
      }
    }

    // Trunk input: concat(c_in * x, context) on channels, then the (masked) memory latents.
    const { C, K, h, w } = this;
    be.run({ op: 'scale_add', batch: 1, per: actPer(this.xIn), a: s.cIn, x, y: e.act(this.xIn) });
    be.run({ op: 'concat_channels', n: 1, ca: C, cb: K * C, hw: h * w, a: e.act(this.xIn), b: context, y: e.act(this.catIn) });
    let trunkIn = e.act(this.catIn);
    if (memory && this.catMem) {
      be.run({ op: 'concat_channels', n: 1, ca: C * (K + 1), cb: this.M * C, hw: h * w, a: trunkIn, b: memory.latents, y: e.act(this.catMem) });
      trunkIn = e.act(this.catMem);
    }
    runConv(e, this.convIn, h, w, trunkIn, e.act(this.inOut));
    let cur = e.act(this.inOut);
    const L = this.down.length;
    for (let i = 0; i < L; i++) {
      const lv = this.down[i] as DownLevel;
      for (const r of lv.blocks) {
        runResblock(e, r, cur);
        cur = e.act(resblockResult(r));
      }
      if (lv.down && lv.downOut) {
        runConv(e, lv.down, h >> i, w >> i, cur, e.act(lv.downOut));
        cur = e.act(lv.downOut);
      }
    }
    for (let i = L - 1; i >= 0; i--) {
      const lv = this.up[i] as UpLevel;
      const hi = h >> i;
      const wi = w >> i;
      if (lv.up && lv.upsampled && lv.upOut) {
        be.run({ op: 'upsample_nearest2x', n: 1, c: lv.up.cin, h: hi / 2, w: wi / 2, x: cur, y: e.act(lv.upsampled) });
        runConv(e, lv.up, hi, wi, e.act(lv.upsampled), e.act(lv.upOut));
        cur = e.act(lv.upOut);
      }
      // The skip is the down level's last block result (every activation has its own slot).
      const downBlocks = (this.down[i] as DownLevel).blocks;
      const skip = e.act(resblockResult(downBlocks[downBlocks.length - 1] as ResBlockLayer));
      const half = lv.cat.c / 2;
      be.run({ op: 'concat_channels', n: 1, ca: half, cb: half, hw: hi * wi, a: cur, b: skip, y: e.act(lv.cat) });
      cur = e.act(lv.cat);
      for (const r of lv.blocks) {
        runResblock(e, r, cur);
        cur = e.act(resblockResult(r));
      }
    }
    be.run({
      op: 'gn_silu_conv2d', gs: gnShape(1, this.normOut.c, h, w, this.normOut.groups),
      gp: { gamma: e.at(this.normOut.gamma), beta: e.at(this.normOut.beta), silu: true },
      cs: convShape(this.convOut, 1, h, w), x: cur, w: e.at(this.convOut.w), bias: e.at(this.convOut.b), y: e.act(this.out),
    });
  }
}
