// The autoencoder's two halves as WebBackend op calls, mirroring the engine's
// native/core/model/autoencoder.{h,cc} (train/modules.py Encoder / Decoder). The latent scale is
// folded into the weights at load, as the engine does: the decoder's first conv weight is divided
// by it and the encoder's last conv (weight and bias) multiplied by it, so both networks consume
// and produce scaled latents with no extra op.

import type { WebManifest } from './manifest.js';
import { convShape, gnShape, planAct, planConv, planNorm, planResblock, resblockResult, runConv, runResblock } from './layers.js';
import type { Act, BuildCtx, Conv, Exec, Norm, ResBlockLayer } from './layers.js';

// GN (affine) -> SiLU -> conv, fused.
function runNormSiluConv(e: Exec, norm: Norm, conv: Conv, h: number, w: number, x: number, y: number): void {
  e.be.run({
    op: 'gn_silu_conv2d', gs: gnShape(1, norm.c, h, w, norm.groups),
    gp: { gamma: e.at(norm.gamma), beta: e.at(norm.beta), silu: true },
    cs: convShape(conv, 1, h, w), x, w: e.at(conv.w), bias: e.at(conv.b), y,
  });
}

interface DecoderLevel {
  blocks: ResBlockLayer[];
  upsampled?: Act; // nearest x2 of the level's result, before the conv
  up?: Conv;
  upOut?: Act;
}

export class DecoderNet {
  private convIn!: Conv;
  private inOut!: Act;
  private levels: DecoderLevel[] = []; // index = resolution level (0 = full frame)
  private normOut!: Norm;
  private convOut!: Conv;
  private out!: Act;
  private frameH = 0;
  private frameW = 0;

  /** RGB [3, H, W] in [-1, 1]. */
  get output(): Act {
    return this.out;
  }

  plan(b: BuildCtx, m: WebManifest): void {
    const p = 'autoencoder.decoder.';
    const ch = m.autoencoder.channels;
    const L = ch.length;
    const g = m.autoencoder.groups;
    this.frameH = m.frame.height;
    this.frameW = m.frame.width;
    const top = ch[L - 1] as number;
    this.convIn = planConv(b, `${p}conv_in`, m.latent.channels, top, 3, 1, Math.fround(1 / m.latent.scale));
    this.inOut = planAct(b, top, m.latent.height, m.latent.width);
    const levels: DecoderLevel[] = new Array(L);
    for (let i = L - 1; i >= 0; i--) {
      const h = this.frameH >> i;
      const w = this.frameW >> i;
      const ci = ch[i] as number;
      const blocks: ResBlockLayer[] = [];
      for (let j = 0; j < m.autoencoder.blocks; j++) {
        blocks.push(planResblock(b, `${p}levels.${i}.blocks.${j}`, ci, ci, h, w, g, 0, 0));
      }
      const lv: DecoderLevel = { blocks };
      if (i > 0) {
        lv.upsampled = planAct(b, ci, 2 * h, 2 * w);
        lv.up = planConv(b, `${p}levels.${i}.up`, ci, ch[i - 1] as number, 3, 1);
        lv.upOut = planAct(b, ch[i - 1] as number, 2 * h, 2 * w);
      }
      levels[i] = lv;
    }
    this.levels = levels;
    this.normOut = planNorm(b, `${p}norm_out`, ch[0] as number, g);
    this.convOut = planConv(b, `${p}conv_out`, ch[0] as number, 3, 3, 1);
    this.out = planAct(b, 3, this.frameH, this.frameW);
  }

  /** latent [C, h, w] (arena offset) -> output [3, H, W]. */
  run(e: Exec, latent: number): void {
    const L = this.levels.length;
    runConv(e, this.convIn, this.frameH >> (L - 1), this.frameW >> (L - 1), latent, e.act(this.inOut));
    let x = e.act(this.inOut);
    for (let i = L - 1; i >= 0; i--) {
      const lv = this.levels[i] as DecoderLevel;
      for (const r of lv.blocks) {
        runResblock(e, r, x);
        x = e.act(resblockResult(r));
      }
      if (lv.up && lv.upsampled && lv.upOut) {
        const h = this.frameH >> i;
        const w = this.frameW >> i;
        e.be.run({ op: 'upsample_nearest2x', n: 1, c: lv.up.cin, h, w, x, y: e.act(lv.upsampled) });
        runConv(e, lv.up, 2 * h, 2 * w, e.act(lv.upsampled), e.act(lv.upOut));
        x = e.act(lv.upOut);
      }
    }
    runNormSiluConv(e, this.normOut, this.convOut, this.frameH, this.frameW, x, e.act(this.out));
  }
}

interface EncoderLevel {
  blocks: ResBlockLayer[];
  down?: Conv;
  downOut?: Act;
}

export class EncoderNet {
  private convIn!: Conv;
  private inOut!: Act;
  private levels: EncoderLevel[] = [];
  private normOut!: Norm;
  private convOut!: Conv;
  private out!: Act;
  private frameH = 0;
  private frameW = 0;

  /** Scaled latent [C, h, w]. */
  get output(): Act {
    return this.out;
  }

  plan(b: BuildCtx, m: WebManifest): void {
    const p = 'autoencoder.encoder.';
    const ch = m.autoencoder.channels;
    const L = ch.length;
    const g = m.autoencoder.groups;
    this.frameH = m.frame.height;
    this.frameW = m.frame.width;
    this.convIn = planConv(b, `${p}conv_in`, 3, ch[0] as number, 3, 1);
    this.inOut = planAct(b, ch[0] as number, this.frameH, this.frameW);
    this.levels = [];
    for (let i = 0; i < L; i++) {
      const h = this.frameH >> i;
      const w = this.frameW >> i;
      const ci = ch[i] as number;
      const lv: EncoderLevel = { blocks: [] };
      for (let j = 0; j < m.autoencoder.blocks; j++) {
        lv.blocks.push(planResblock(b, `${p}levels.${i}.blocks.${j}`, ci, ci, h, w, g, 0, 0));
      }
      if (i + 1 < L) {
        lv.down = planConv(b, `${p}levels.${i}.down`, ci, ch[i + 1] as number, 3, 2);
        lv.downOut = planAct(b, ch[i + 1] as number, h / 2, w / 2);
      }
      this.levels.push(lv);
    }
    const lh = this.frameH >> (L - 1);
    const lw = this.frameW >> (L - 1);
    const top = ch[L - 1] as number;
    this.normOut = planNorm(b, `${p}norm_out`, top, g);
    const s = Math.fround(m.latent.scale);
    this.convOut = planConv(b, `${p}conv_out`, top, m.latent.channels, 3, 1, s, s);
    this.out = planAct(b, m.latent.channels, lh, lw);
  }

  /** rgb [3, H, W] in [-1, 1] (arena offset) -> output. */
  run(e: Exec, rgb: number): void {
    const L = this.levels.length;
    runConv(e, this.convIn, this.frameH, this.frameW, rgb, e.act(this.inOut));
    let x = e.act(this.inOut);
    for (let i = 0; i < L; i++) {
      const lv = this.levels[i] as EncoderLevel;
      for (const r of lv.blocks) {
        runResblock(e, r, x);
        x = e.act(resblockResult(r));
      }
      if (lv.down && lv.downOut) {
        runConv(e, lv.down, this.frameH >> i, this.frameW >> i, x, e.act(lv.downOut));
        x = e.act(lv.downOut);
      }
    }
    runNormSiluConv(e, this.normOut, this.convOut, this.frameH >> (L - 1), this.frameW >> (L - 1), x, e.act(this.out));
  }
}
