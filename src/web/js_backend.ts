// The plain TypeScript backend: one Float32Array arena and loops with the semantics (and, where
// it is cheap, the rounding) of the engine's reference ops, native/core/ops/ref_*.cc. Sums run in
// double like the references (JavaScript arithmetic is double; the arena store rounds once to
// f32) and in the references' order. It is the page's fallback where WebGPU is missing and the
// reference the WebGPU backend is tested against; it runs unchanged in Node and in a browser.
//
// Conv weights stay in PyTorch's [cout, cin, k, k] layout (no packing).

import { convOutH, convOutW } from './backend.js';
import type { AttentionShape, ConvShape, GroupNormParams, GroupNormShape, OpCall, Slot, WebBackend } from './backend.js';

const f32 = Math.fround;

export class JsBackend implements WebBackend {
  readonly name = 'js';
  private arena: Float32Array | undefined;

  convPackedFloats(cout: number, cin: number, k: number): number {
    return cout * cin * k * k;
  }

  async allocate(arenaFloats: number): Promise<void> {
    if (this.arena) throw new Error('JsBackend.allocate: the arena is already allocated');
    if (!Number.isInteger(arenaFloats) || arenaFloats < 0) throw new RangeError(`arena of ${arenaFloats} floats`);
    this.arena = new Float32Array(arenaFloats);
  }

  /** The arena (tests read it directly). */
  get memory(): Float32Array {
    if (!this.arena) throw new Error('JsBackend: used before allocate() or after destroy()');
    return this.arena;
  }

  upload(dst: Slot, src: Float32Array): void {
    this.memory.set(src, dst);
  }

  uploadConvWeight(cout: number, cin: number, k: number, w: Float32Array, dst: Slot): void {
    this.memory.set(w.subarray(0, cout * cin * k * k), dst);
  }

  uploadRgbU8(n: number, h: number, w: number, rgb: Uint8Array, y: Slot): void {
    const a = this.memory;
    const hw = h * w;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < hw; p++) {
        for (let c = 0; c < 3; c++) {
          a[y + (i * 3 + c) * hw + p] = f32(f32((rgb[(i * hw + p) * 3 + c] as number) / 127.5) - 1);
        }
      }
    }
  }

  run(call: OpCall): void {
    const a = this.memory;
    switch (call.op) {
      case 'conv2d':
        convCore(a, call.x, a, call.s, call.w, call.bias, call.residual, call.y);
        return;
      case 'group_norm':
        groupNorm(a, call.s, call.x, call.p, call.p.silu, call.y);
        return;
      case 'gn_silu_conv2d': {
        // Like the reference: the normalised input goes through an f32 buffer, then the conv.
        const t = new Float32Array(call.gs.n * call.gs.c * call.gs.hw);
        groupNorm(a, call.gs, call.x, call.gp, true, 0, t);
        convCore(t, 0, a, call.cs, call.w, call.bias, call.residual, call.y);
        return;
      }
      case 'silu':
        for (let i = 0; i < call.n; i++) {
          const v = a[call.x + i] as number;
          a[call.y + i] = v / (1 + Math.exp(-v));
        }
        return;
      case 'add':
        for (let i = 0; i < call.n; i++) a[call.y + i] = (a[call.a + i] as number) + (a[call.b + i] as number);
        return;
      case 'linear':
        linear(a, call.n, call.in, call.out, call.x, call.w, call.b, call.y);
        return;
      case 'concat_channels': {
        const { n, ca, cb, hw } = call;
        // Copy through a temporary so an output overlapping an input cannot corrupt it.
        const out = new Float32Array(n * (ca + cb) * hw);
        for (let i = 0; i < n; i++) {
          out.set(a.subarray(call.a + i * ca * hw, call.a + (i + 1) * ca * hw), i * (ca + cb) * hw);
          out.set(a.subarray(call.b + i * cb * hw, call.b + (i + 1) * cb * hw), i * (ca + cb) * hw + ca * hw);
        }
        a.set(out, call.y);
        return;
      }
      case 'upsample_nearest2x': {
        const { n, c, h, w } = call;
        for (let p = 0; p < n * c; p++) {
          for (let oy = 0; oy < 2 * h; oy++) {
            const src = call.x + (p * h + (oy >> 1)) * w;
            const dst = call.y + (p * 2 * h + oy) * 2 * w;
            for (let ox = 0; ox < 2 * w; ox++) a[dst + ox] = a[src + (ox >> 1)] as number;
          }
        }
        return;
      }
      case 'attention':
        attention(a, call.s, call.qkv, call.y);
        return;
      case 'scale_add': {
        const { batch, per } = call;
        for (let b = 0; b < batch; b++) {
          const o = b * per;
          const ab = call.a[b] as number;
          if (call.z !== undefined && call.c) {
            const cb = call.c[b] as number;
            for (let i = 0; i < per; i++) {
              a[call.y + o + i] = f32(ab * (a[call.x + o + i] as number)) + f32(cb * (a[call.z + o + i] as number));
            }
          } else {
            for (let i = 0; i < per; i++) a[call.y + o + i] = ab * (a[call.x + o + i] as number);
          }
        }
        return;
      }
      case 'fourier': {
        // PyTorch's `2 * math.pi * t * f` in f32: (f32(2 pi) * t) * f, each product rounded.
        const twoPi = f32(6.283185307179586);
        for (let b = 0; b < call.batch; b++) {
          const tb = f32(twoPi * (call.t[b] as number));
          const row = call.y + b * 2 * call.half;
          for (let j = 0; j < call.half; j++) {
            const arg = f32(tb * (a[call.freqs + j] as number));
            a[row + j] = Math.cos(arg);
            a[row + call.half + j] = Math.sin(arg);
          }
        }
        return;
      }
      default: {
        const never: never = call;
        throw new Error(`JsBackend: unknown op ${(never as { op: string }).op}`);
      }
    }
  }

  async download(src: Slot, count: number): Promise<Float32Array> {
    return this.memory.slice(src, src + count);
  }

  async downloadRgbU8(n: number, h: number, w: number, x: Slot): Promise<Uint8Array> {
    const a = this.memory;
    const hw = h * w;
    const out = new Uint8Array(n * hw * 3);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < hw; p++) {
        for (let c = 0; c < 3; c++) {
          let v = f32(f32((a[x + (i * 3 + c) * hw + p] as number) + 1) * 127.5);
          if (!(v > 0)) v = 0; // NaN -> 0: a broken model shows black
          if (v > 255) v = 255;
          out[(i * hw + p) * 3 + c] = Math.floor(v + 0.5); // std::round: half away from zero
        }
      }
    }
    return out;
  }

  async flush(): Promise<void> {}

  destroy(): void {
    this.arena = undefined;
  }
}

// y = conv(xs at x) + bias (+ residual), weights and epilogue read from the arena `a`. Each output
// is the sum over (ci, ky, kx) in the reference's order, in double; the loops run over whole
// output rows so the inner loop is contiguous.
function convCore(xs: Float32Array, x: number, a: Float32Array, s: ConvShape, w: Slot, bias: Slot | undefined,
  residual: Slot | undefined, y: Slot): void {
  const oh = convOutH(s);
  const ow = convOutW(s);
  const plane = oh * ow;
  const acc = new Float64Array(plane);
  const { k, stride, pad } = s;
  for (let n = 0; n < s.n; n++) {
    for (let co = 0; co < s.cout; co++) {
      acc.fill(bias !== undefined ? (a[bias + co] as number) : 0);
      for (let ci = 0; ci < s.cin; ci++) {
        const xBase = x + (n * s.cin + ci) * s.h * s.w;
        const wBase = w + (co * s.cin + ci) * k * k;
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const wv = a[wBase + ky * k + kx] as number;
            // Output columns whose input column lies inside the image.
            const oxLo = Math.max(0, Math.ceil((pad - kx) / stride));
            const oxHi = Math.min(ow - 1, Math.floor((s.w - 1 + pad - kx) / stride));
            if (oxLo > oxHi) continue;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= s.h) continue;
              const row = xBase + iy * s.w - pad + kx;
              const o = oy * ow;
              if (stride === 1) {
                for (let ox = oxLo; ox <= oxHi; ox++) acc[o + ox] += (xs[row + ox] as number) * wv;
              } else {
                for (let ox = oxLo; ox <= oxHi; ox++) acc[o + ox] += (xs[row + ox * stride] as number) * wv;
              }
            }
          }
        }
      }
      const out = y + (n * s.cout + co) * plane;
      if (residual !== undefined) {
        const r = residual + (n * s.cout + co) * plane;
        for (let i = 0; i < plane; i++) a[out + i] = (acc[i] as number) + (a[r + i] as number);
      } else {
        for (let i = 0; i < plane; i++) a[out + i] = acc[i] as number;
      }
    }
  }
}

// nn.GroupNorm (biased variance, eps inside the sqrt), then gamma/beta, then *(1 + scale) + shift,
// then SiLU, in that order; writes into `dst` (the arena unless given) at y.
function groupNorm(a: Float32Array, s: GroupNormShape, x: Slot, p: GroupNormParams, silu: boolean, y: Slot,
  dst: Float32Array = a): void {
  const cpg = s.c / s.groups;
  const count = cpg * s.hw;
  const eps = f32(s.eps);
  for (let n = 0; n < s.n; n++) {
    for (let g = 0; g < s.groups; g++) {
      const base = (n * s.c + g * cpg) * s.hw;
      let sum = 0;
      for (let i = 0; i < count; i++) sum += a[x + base + i] as number;
      const mean = sum / count;
      let sq = 0;
      for (let i = 0; i < count; i++) {
        const d = (a[x + base + i] as number) - mean;
        sq += d * d;
      }
      const rstd = 1 / Math.sqrt(sq / count + eps);
      for (let cc = 0; cc < cpg; cc++) {
        const c = g * cpg + cc;
        const gamma = p.gamma !== undefined ? (a[p.gamma + c] as number) : undefined;
        const beta = p.beta !== undefined ? (a[p.beta + c] as number) : undefined;
        const scale = p.scale !== undefined ? 1 + (a[p.scale + n * s.c + c] as number) : undefined;
        const shift = p.shift !== undefined ? (a[p.shift + n * s.c + c] as number) : undefined;
        for (let i = 0; i < s.hw; i++) {
          const o = base + cc * s.hw + i;
          let v = ((a[x + o] as number) - mean) * rstd;
          if (gamma !== undefined) v *= gamma;
          if (beta !== undefined) v += beta;
          if (scale !== undefined) v *= scale;
          if (shift !== undefined) v += shift;
          if (silu) v = v / (1 + Math.exp(-v));
          dst[y + o] = v;
        }
      }
    }
  }
}

function linear(a: Float32Array, n: number, inF: number, outF: number, x: Slot, w: Slot, b: Slot | undefined, y: Slot): void {
  // Rows are computed into a temporary first: the memory-pose MLP writes over its own input.
  const out = new Float32Array(n * outF);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = b !== undefined ? (a[b + o] as number) : 0;
      const xr = x + r * inF;
      const wr = w + o * inF;
      for (let i = 0; i < inF; i++) acc += (a[xr + i] as number) * (a[wr + i] as number);
      out[r * outF + o] = acc;
    }
  }
  a.set(out, y);
}

function attention(a: Float32Array, s: AttentionShape, qkv: Slot, y: Slot): void {
  const d = s.c / s.heads;
  const scale = 1 / Math.sqrt(d);
  const t = s.t;
  const p = new Float64Array(t);
  const out = new Float32Array(s.n * s.c * t);
  for (let n = 0; n < s.n; n++) {
    const q = qkv + n * 3 * s.c * t;
    const k = q + s.c * t;
    const v = k + s.c * t;
    const o = n * s.c * t;
    for (let h = 0; h < s.heads; h++) {
      const c0 = h * d;
      for (let i = 0; i < t; i++) {
        let mx = -Infinity;
        for (let j = 0; j < t; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += (a[q + (c0 + c) * t + i] as number) * (a[k + (c0 + c) * t + j] as number);
          const pj = dot * scale;
          p[j] = pj;
          if (pj > mx) mx = pj;
        }
        let sum = 0;
        for (let j = 0; j < t; j++) {
          const e = Math.exp((p[j] as number) - mx);
          p[j] = e;
          sum += e;
        }
        for (let c = 0; c < d; c++) {
          let acc = 0;
          const vr = v + (c0 + c) * t;
          for (let j = 0; j < t; j++) acc += (p[j] as number) * (a[vr + j] as number);
          out[o + (c0 + c) * t + i] = acc / sum;
        }
      }
    }
  }
  a.set(out, y);
}
