// The seam between the page's network code and a compute backend, mirroring the engine's
// native/core/model/backend.h so that the graph code in src/web reads like its C++ twin.
//
// Networks are planned once: they ask for weight and activation regions of one arena (offsets in
// floats, `Slot`), the backend allocates the arena, weights are uploaded, and every forward pass
// is a fixed sequence of op calls with offsets into that arena. The WebGPU backend records the
// calls into one command encoder and submits them on flush(); the plain TypeScript backend
// (js_backend.ts, the test reference that runs in Node) executes them at once.
//
// All tensors are f32, NCHW, contiguous; shapes and semantics are those of native/core/ops/ops.h.
// Per-world host scalars (Euler coefficients, Fourier times) travel in the call as Float32Array,
// like the engine's *_host pointers. The sampler's Philox noise is computed on the host
// (philox.ts, bit-identical to the engine) and uploaded: there is no normal_noise op here.

/** An offset into the arena, in floats. */
export type Slot = number;

export interface ConvShape {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
}

export function convOutH(s: ConvShape): number {
  return Math.floor((s.h + 2 * s.pad - s.k) / s.stride) + 1;
}
export function convOutW(s: ConvShape): number {
  return Math.floor((s.w + 2 * s.pad - s.k) / s.stride) + 1;
}

export interface GroupNormShape {
  n: number;
  c: number;
  hw: number;
  groups: number;
  eps: number;
}

/** y = GN(x) * gamma + beta; then y * (1 + scale[n,c]) + shift[n,c]; then SiLU if silu. */
export interface GroupNormParams {
  gamma?: Slot; // [C] or absent (identity)
  beta?: Slot;
  scale?: Slot; // [N, C] or absent
  shift?: Slot;
  silu: boolean;
}

export interface AttentionShape {
  n: number;
  c: number;
  t: number;
  heads: number;
}

/** One call of an op of the engine's op table (native/core/ops/op_table.h), network ops only. */
export type OpCall =
  | { op: 'conv2d'; s: ConvShape; x: Slot; w: Slot; bias?: Slot; residual?: Slot; y: Slot }
  | { op: 'group_norm'; s: GroupNormShape; x: Slot; p: GroupNormParams; y: Slot }
  | {
      // GN -> SiLU -> conv (gp.silu is implied and ignored)
      op: 'gn_silu_conv2d';
      gs: GroupNormShape;
      gp: GroupNormParams;
      cs: ConvShape;
      x: Slot;
      w: Slot;
      bias?: Slot;
      residual?: Slot;
      y: Slot;
    }
  | { op: 'silu'; n: number; x: Slot; y: Slot }
  | { op: 'add'; n: number; a: Slot; b: Slot; y: Slot }
  // y[n, out] = x[n, in] @ w[out, in]^T + b[out]; w in PyTorch layout
  | { op: 'linear'; n: number; in: number; out: number; x: Slot; w: Slot; b?: Slot; y: Slot }
  | { op: 'concat_channels'; n: number; ca: number; cb: number; hw: number; a: Slot; b: Slot; y: Slot }
  | { op: 'upsample_nearest2x'; n: number; c: number; h: number; w: number; x: Slot; y: Slot }
  // qkv [N, 3C, T] -> y [N, C, T]
  | { op: 'attention'; s: AttentionShape; qkv: Slot; y: Slot }
  // y[b, i] = a[b] * x[b, i] + c[b] * z[b, i]; z (and c) may be absent; y may alias x or z
  | { op: 'scale_add'; batch: number; per: number; a: Float32Array; x: Slot; c?: Float32Array; z?: Slot; y: Slot }
  // y[b, j] = cos(2 pi t[b] f[j]) (j < half), y[b, half + j] = sin(2 pi t[b] f[j])
  | { op: 'fourier'; batch: number; half: number; t: Float32Array; freqs: Slot; y: Slot };

export type OpName = OpCall['op'];

export interface WebBackend {
  /** "webgpu" / "js". */
  readonly name: string;
  /** Floats a conv weight [cout, cin, k, k] occupies in this backend's layout. */
  convPackedFloats(cout: number, cin: number, k: number): number;
  /** Allocates the zero-filled arena; called once, before any transfer or op. */
  allocate(arenaFloats: number): Promise<void>;
  /** Writes host floats at dst (queued in order with the ops). */
  upload(dst: Slot, src: Float32Array): void;
  /** Writes a conv weight [cout, cin, k, k] at dst in the backend's layout. */
  uploadConvWeight(cout: number, cin: number, k: number, w: Float32Array, dst: Slot): void;
  /** rgb [n, h, w, 3] bytes -> y [n, 3, h, w] in [-1, 1] (x / 127.5 - 1). */
  uploadRgbU8(n: number, h: number, w: number, rgb: Uint8Array, y: Slot): void;
  /** Runs (js) or records (webgpu) one op call. */
  run(call: OpCall): void;
  /** Submits what is recorded and resolves with count floats at src. */
  download(src: Slot, count: number): Promise<Float32Array>;
  /** x [n, 3, h, w] -> rgb [n, h, w, 3], rounded and clamped like the engine's rgb_f32_to_u8. */
  downloadRgbU8(n: number, h: number, w: number, x: Slot): Promise<Uint8Array>;
  /** Submits what is recorded and waits for it. */
  flush(): Promise<void>;
  /** Releases GPU memory; the backend is unusable afterwards. */
  destroy(): void;
  /** Names the ops recorded after it for GPU timing (backends with GPU timers; WebModel calls it
   * per stage when its `labelStages` is set). */
  setLabel?(label: string): void;
}
