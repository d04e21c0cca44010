// The WebGPU backend: the engine's op set as WGSL compute kernels (shaders/, one file per op),
// over one arena buffer. See docs/webgpu.md for the layout and how to add an op.
//
// Buffers: the arena (binding 0: weights, then activations; f32, offsets in floats), a params
// buffer (binding 1: one uniform block per dispatch, selected by a dynamic offset), a coefficient
// buffer (binding 2: group norm's per-(world, channel) multiply-add, written by the stats pass and
// read by the next dispatch) and a byte buffer (binding 3: RGB8 frames, 4 bytes per u32). Every
// pipeline shares one bind group layout, so one bind group serves every dispatch.
//
// Recording: run() records dispatches into the current command encoder and writes each one's
// parameters into a host copy of the params buffer; submit() writes that copy with one
// writeBuffer, then submits. Transfers that go through queue.writeBuffer (upload, uploadRgbU8)
// first submit what is recorded, so they land in call order, as the interface promises.
import type { OpCall, Slot, WebBackend, ConvShape, GroupNormShape, GroupNormParams } from './backend.js';
import { convOutH, convOutW } from './backend.js';
import { PassTimer } from './gpu/pass_timer.js';
import addWgsl from '../../shaders/add.wgsl';
import attentionWgsl from '../../shaders/attention.wgsl';
import concatWgsl from '../../shaders/concat_channels.wgsl';
import conv2dWgsl from '../../shaders/conv2d.wgsl';
import fourierWgsl from '../../shaders/fourier.wgsl';
import gnSiluConv2dWgsl from '../../shaders/gn_silu_conv2d.wgsl';
import groupNormWgsl from '../../shaders/group_norm.wgsl';
import linearWgsl from '../../shaders/linear.wgsl';
import rgbF32ToU8Wgsl from '../../shaders/rgb_f32_to_u8.wgsl';
import rgbU8ToF32Wgsl from '../../shaders/rgb_u8_to_f32.wgsl';
import scaleAddWgsl from '../../shaders/scale_add.wgsl';
import siluWgsl from '../../shaders/silu.wgsl';
import upsampleWgsl from '../../shaders/upsample_nearest2x.wgsl';

/** Bytes of one dispatch's uniform block (the largest Params struct of shaders/). */
const PARAM_BYTES = 1024;
/** Host values (floats) a scale_add / fourier block holds after its 64-byte header. */
const HOST_FLOATS = (PARAM_BYTES - 64) / 4;
/** Params blocks per submission; a longer recording is submitted in parts. */
const PARAM_SLOTS = 1024;
/** Conv weights are packed [K rounded up to CONV_TK, cout rounded up to CONV_TM] (conv2d.wgsl). */
const CONV_TM = 64;
const CONV_TK = 16;
/** attention.wgsl keeps four queries' scores in workgroup memory. */
const ATTENTION_MAX_T = 512;
/** Workgroups per dispatch dimension that every adapter allows (WebGPU's default limit). */
const MAX_GROUPS = 65535;

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Workgroup counts for `count` workgroups folded into two dimensions (x, then y). */
function grid(count: number): [number, number] {
  if (count <= MAX_GROUPS) return [Math.max(1, count), 1];
  const x = 32768;
  return [x, Math.ceil(count / x)];
}

/** Workgroups of a grid-stride elementwise kernel (256 invocations each) over n items. */
function strideGroups(n: number, perGroup = 256): number {
  return Math.max(1, Math.min(Math.ceil(n / perGroup), 4096));
}

export interface WebGpuRequestOptions {
  /** Bytes the arena will need; the adapter must allow one storage buffer this large. */
  arenaBytes?: number;
  /** Passed to navigator.gpu.requestAdapter. */
  powerPreference?: GPUPowerPreference;
}

/**
 * Requests an adapter and a device with the adapter's largest buffer limits and builds the
 * backend. Throws an Error saying what is missing: WebGPU itself, an adapter, or enough memory in
 * one buffer for the arena.
 */
export async function requestWebGpuBackend(opts: WebGpuRequestOptions = {}): Promise<WebGpuBackend> {
  const gpu = typeof navigator === 'undefined' ? undefined : navigator.gpu;
  if (!gpu) {
    throw new Error(
      'WebGPU is not available in this browser (navigator.gpu is missing): use a recent Chrome, Edge ' +
        'or Safari, or Firefox with WebGPU enabled, on a page served over https or from localhost',
    );
  }
  const adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : {});
  if (!adapter) {
    throw new Error(
      'WebGPU found no GPU adapter: the GPU may be blocklisted or hardware acceleration turned off ' +
        '(chrome://gpu says which); try updating the graphics driver or enabling hardware acceleration',
    );
  }
  const maxBinding = adapter.limits.maxStorageBufferBindingSize;
  const maxBuffer = adapter.limits.maxBufferSize;
  if (opts.arenaBytes !== undefined && opts.arenaBytes > Math.min(maxBinding, maxBuffer)) {
    throw new Error(
      `the model needs ${mib(opts.arenaBytes)} of GPU memory in one buffer, but this GPU adapter allows ` +
        `${mib(Math.min(maxBinding, maxBuffer))} (maxStorageBufferBindingSize ${maxBinding}, maxBufferSize ` +
        `${maxBuffer}): try a smaller model or another GPU`,
    );
  }
  // Timestamp queries give the per-label GPU times (gpuTimes()) where the adapter has them.
  const features: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: { maxStorageBufferBindingSize: maxBinding, maxBufferSize: maxBuffer },
  });
  return createWebGpuBackend(device, describeAdapter(adapter.info));
}

/** "vendor architecture device description" of an adapter, for logs and benches. */
export function describeAdapter(info: GPUAdapterInfo): string {
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((p) => p !== '');
  return parts.length > 0 ? parts.join(' ') : 'unnamed adapter';
}

/**
 * Builds the backend on a device (compiles every shader; throws on a compile error). `adapter`
 * names the adapter in logs and benches.
 */
export async function createWebGpuBackend(device: GPUDevice, adapter = 'unnamed adapter'): Promise<WebGpuBackend> {
  const be = new WebGpuBackend(device, adapter);
  await be.compile();
  return be;
}

type Kernel =
  | 'silu'
  | 'add'
  | 'concat'
  | 'upsample'
  | 'linear'
  | 'attention'
  | 'scale_add'
  | 'fourier'
  | 'gn_stats'
  | 'gn_apply'
  | 'rgb_u8_to_f32'
  | 'rgb_f32_to_u8';

const KERNELS: Record<Kernel, { source: string; entry: string }> = {
  silu: { source: siluWgsl, entry: 'main' },
  add: { source: addWgsl, entry: 'main' },
  concat: { source: concatWgsl, entry: 'main' },
  upsample: { source: upsampleWgsl, entry: 'main' },
  linear: { source: linearWgsl, entry: 'main' },
  attention: { source: attentionWgsl, entry: 'main' },
  scale_add: { source: scaleAddWgsl, entry: 'main' },
  fourier: { source: fourierWgsl, entry: 'main' },
  gn_stats: { source: groupNormWgsl, entry: 'stats' },
  gn_apply: { source: groupNormWgsl, entry: 'apply' },
  rgb_u8_to_f32: { source: rgbU8ToF32Wgsl, entry: 'main' },
  rgb_f32_to_u8: { source: rgbF32ToU8Wgsl, entry: 'main' },
};

export class WebGpuBackend implements WebBackend {
  readonly name = 'webgpu';
  private readonly device: GPUDevice;
  private readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private arena: GPUBuffer | null = null;
  private readonly params: GPUBuffer;
  private readonly paramAlign: number;
  private readonly paramHost: ArrayBuffer;
  private readonly paramU32: Uint32Array;
  private readonly paramF32: Float32Array;
  private paramUsed = 0;
  private lastSlot = 0;
  private coef: GPUBuffer;
  private bytes: GPUBuffer;
  private bindGroup: GPUBindGroup | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly timer: PassTimer | null;
  private label = '';
  /** timestamps are written once setLabel() was called: until then nobody reads them */
  private timing = false;
  private readonly readbacks: GPUBuffer[] = [];
  private rgbStaging = new Uint8Array(0);
  private firstError: string | null = null;
  private destroyed = false;

  /** The adapter the device came from (describeAdapter), e.g. "google swiftshader ...". */
  readonly adapter: string;

  constructor(device: GPUDevice, adapter = 'unnamed adapter') {
    this.device = device;
    this.adapter = adapter;
    device.addEventListener('uncapturederror', (e) => {
      this.firstError ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    const storage = (binding: number): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: 'storage' },
    });
    this.layout = device.createBindGroupLayout({
      label: 'worldloop ops',
      entries: [
        storage(0),
        { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
        storage(2),
        storage(3),
      ],
    });
    this.pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    this.paramAlign = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    const paramBytes = PARAM_SLOTS * this.paramAlign + PARAM_BYTES;
    this.params = device.createBuffer({
      label: 'op params',
      size: paramBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.paramHost = new ArrayBuffer(paramBytes);
    this.paramU32 = new Uint32Array(this.paramHost);
    this.paramF32 = new Float32Array(this.paramHost);
    this.coef = this.storageBuffer('group norm coefficients', 4096);
    this.bytes = this.storageBuffer('rgb bytes', 4096);
    this.timer = device.features.has('timestamp-query') ? new PassTimer(device) : null;
  }

  /** True when GPU times per label are measured (the device has `timestamp-query`). */
  get timesGpu(): boolean {
    return this.timer !== null;
  }

  /**
   * Names the ops recorded from now on ("denoise", "decode", ...): with timestamp queries, each
   * label's GPU time is measured from the first call on (a label change starts a new compute
   * pass).
   */
  setLabel(label: string): void {
    this.timing = this.timer !== null;
    if (label === this.label) return;
    this.label = label;
    this.endPass();
  }

  /**
   * Submits what is recorded and resolves with the GPU milliseconds per label of all work
   * submitted since the last call; null without `timestamp-query`.
   */
  async gpuTimes(): Promise<Map<string, number> | null> {
    if (!this.timer) return null;
    this.submit();
    return this.timer.take();
  }

  /** Compiles every kernel the ops use, each conv tile included, in parallel. */
  async compile(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const k of Object.keys(KERNELS) as Kernel[]) {
      const { source, entry } = KERNELS[k];
      jobs.push(this.createPipeline(k, source, entry, {}));
    }
    for (const tile of Object.values(CONV_TILES))
      jobs.push(this.createPipeline(convKey(tile), conv2dWgsl + '\n' + gnSiluConv2dWgsl, 'main', convConstants(tile)));
    await Promise.all(jobs);
  }

  convPackedFloats(cout: number, cin: number, k: number): number {
    return roundUp(cin * k * k, CONV_TK) * roundUp(cout, CONV_TM);
  }

  async allocate(arenaFloats: number): Promise<void> {
    if (this.arena) throw new Error('WebGpuBackend.allocate: the arena is already allocated');
    const bytes = roundUp(Math.max(arenaFloats, 1) * 4, 16);
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (bytes > limit) {
      throw new Error(
        `the model needs ${mib(bytes)} of GPU memory in one buffer, but this device allows ${mib(limit)} ` +
          `(maxStorageBufferBindingSize ${this.device.limits.maxStorageBufferBindingSize}, maxBufferSize ` +
          `${this.device.limits.maxBufferSize}): request the device with the adapter's limits ` +
          '(requestWebGpuBackend does), or use a smaller model',
      );
    }
    this.device.pushErrorScope('out-of-memory');
    const arena = this.device.createBuffer({
      label: 'arena',
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    const oom = await this.device.popErrorScope();
    if (oom) {
      arena.destroy();
      throw new Error(`the GPU has not got ${mib(bytes)} free for the model's arena: ${oom.message}`);
    }
    this.arena = arena;
    this.rebind();
  }

  upload(dst: Slot, src: Float32Array): void {
    this.checkRange('upload', dst, src.length);
    this.submit();
    this.device.queue.writeBuffer(this.arenaBuffer(), dst * 4, src.buffer, src.byteOffset, src.byteLength);
  }

  uploadConvWeight(cout: number, cin: number, k: number, w: Float32Array, dst: Slot): void {
    const kdim = cin * k * k;
    if (w.length !== cout * kdim) {
      throw new Error(`uploadConvWeight: ${w.length} floats for a [${cout}, ${cin}, ${k}, ${k}] weight`);
    }
    const cols = roundUp(cout, CONV_TM);
    const packed = new Float32Array(this.convPackedFloats(cout, cin, k));
    for (let co = 0; co < cout; co++)
      for (let kk = 0; kk < kdim; kk++) packed[kk * cols + co] = w[co * kdim + kk]!;
    this.upload(dst, packed);
  }

  uploadRgbU8(n: number, h: number, w: number, rgb: Uint8Array, y: Slot): void {
    const count = n * h * w * 3;
    if (rgb.length !== count) throw new Error(`uploadRgbU8: ${rgb.length} bytes for ${n} frames of ${w}x${h} RGB`);
    this.checkRange('uploadRgbU8', y, count);
    const padded = roundUp(count, 4);
    this.ensureBytes(padded);
    this.submit();
    if (padded === count) {
      this.device.queue.writeBuffer(this.bytes, 0, rgb.buffer, rgb.byteOffset, count);
    } else {
      if (this.rgbStaging.length < padded) this.rgbStaging = new Uint8Array(padded);
      this.rgbStaging.set(rgb);
      this.device.queue.writeBuffer(this.bytes, 0, this.rgbStaging.buffer, 0, padded);
    }
    const u = this.slot();
    this.paramU32.set([n, h * w, y], u);
    this.dispatch('rgb_u8_to_f32', strideGroups(count));
  }

  run(call: OpCall): void {
    switch (call.op) {
      case 'conv2d':
        this.conv(call.s, call.x, call.w, call.bias, call.residual, call.y, false);
        return;
      case 'group_norm': {
        const s = call.s;
        this.gnStats(s, call.x, call.p);
        const u = this.slot();
        this.paramU32.set([s.n, s.c, s.hw, s.groups, 0, call.x, call.y, 0, 0, 0, 0, gnFlags(call.p)], u);
        this.dispatch('gn_apply', strideGroups(s.n * s.c * s.hw));
        return;
      }
      case 'gn_silu_conv2d': {
        const { gs, cs } = call;
        if (gs.n !== cs.n || gs.c !== cs.cin || gs.hw !== cs.h * cs.w) {
          throw new Error(
            `gn_silu_conv2d: group norm shape n${gs.n} c${gs.c} hw${gs.hw} does not match the conv input ` +
              `n${cs.n} c${cs.cin} ${cs.h}x${cs.w}`,
          );
        }
        this.gnStats(gs, call.x, call.gp);
        this.conv(cs, call.x, call.w, call.bias, call.residual, call.y, true);
        return;
      }
      case 'silu': {
        const u = this.slot();
        this.paramU32.set([call.n, call.x, call.y], u);
        this.dispatch('silu', strideGroups(call.n));
        return;
      }
      case 'add': {
        const u = this.slot();
        this.paramU32.set([call.n, call.a, call.b, call.y], u);
        this.dispatch('add', strideGroups(call.n));
        return;
      }
      case 'linear': {
        const u = this.slot();
        this.paramU32.set([call.n, call.in, call.out, call.x, call.w, call.b ?? 0, call.y, call.b === undefined ? 0 : 1], u);
        this.dispatch('linear', strideGroups(call.n * call.out, 64));
        return;
      }
      case 'concat_channels': {
        const u = this.slot();
        this.paramU32.set([call.n, call.ca, call.cb, call.hw, call.a, call.b, call.y], u);
        this.dispatch('concat', strideGroups(call.n * (call.ca + call.cb) * call.hw));
        return;
      }
      case 'upsample_nearest2x': {
        const u = this.slot();
        this.paramU32.set([call.n * call.c, call.h, call.w, call.x, call.y], u);
        this.dispatch('upsample', strideGroups(call.n * call.c * 4 * call.h * call.w));
        return;
      }
      case 'attention': {
        const s = call.s;
        if (s.t > ATTENTION_MAX_T) {
          throw new Error(`attention: ${s.t} tokens; the WebGPU kernel takes at most ${ATTENTION_MAX_T}`);
        }
        if (s.c % s.heads !== 0) throw new Error(`attention: ${s.heads} heads do not divide ${s.c} channels`);
        const u = this.slot();
        this.paramU32.set([s.n, s.c, s.t, s.heads, call.qkv, call.y], u);
        this.dispatch('attention', ...grid(s.n * s.heads * Math.ceil(s.t / 4)));
        return;
      }
      case 'scale_add': {
        // Each world's rows are independent: split the batch into blocks whose a and c fit.
        const per = call.per;
        const hasZ = call.z !== undefined;
        if (call.a.length < call.batch || (hasZ && (call.c === undefined || call.c.length < call.batch))) {
          throw new Error(`scale_add: ${call.batch} worlds need ${call.batch} values of a${hasZ ? ' and c' : ''}`);
        }
        const chunk = HOST_FLOATS / 2;
        for (let b0 = 0; b0 < call.batch; b0 += chunk) {
          const nb = Math.min(chunk, call.batch - b0);
          const u = this.slot(2 * nb);
          const off = b0 * per;
          this.paramU32.set([nb, per, call.x + off, hasZ ? call.z! + off : 0, call.y + off, hasZ ? 1 : 0], u);
          this.paramF32.set(call.a.subarray(b0, b0 + nb), u + 16);
          if (hasZ) this.paramF32.set(call.c!.subarray(b0, b0 + nb), u + 16 + nb);
          this.dispatch('scale_add', strideGroups(nb * per));
        }
        return;
      }
      case 'fourier': {
        if (call.t.length < call.batch) throw new Error(`fourier: ${call.batch} worlds need ${call.batch} times`);
        for (let b0 = 0; b0 < call.batch; b0 += HOST_FLOATS) {
          const nb = Math.min(HOST_FLOATS, call.batch - b0);
          const u = this.slot(nb);
          this.paramU32.set([nb, call.half, call.freqs, call.y + b0 * 2 * call.half], u);
          this.paramF32.set(call.t.subarray(b0, b0 + nb), u + 16);
          this.dispatch('fourier', strideGroups(nb * call.half, 64));
        }
        return;
      }
    }
  }

  async download(src: Slot, count: number): Promise<Float32Array> {
    this.checkRange('download', src, count);
    const bytes = roundUp(count * 4, 4);
    const rb = this.takeReadback(bytes);
    this.commandEncoder().copyBufferToBuffer(this.arenaBuffer(), src * 4, rb, 0, bytes);
    this.submit();
    const out = new Float32Array(count);
    await this.readInto(rb, new Uint8Array(out.buffer));
    return out;
  }

  async downloadRgbU8(n: number, h: number, w: number, x: Slot): Promise<Uint8Array> {
    const count = n * h * w * 3;
    this.checkRange('downloadRgbU8', x, count);
    const padded = roundUp(count, 4);
    this.ensureBytes(padded);
    const u = this.slot();
    this.paramU32.set([n, h * w, x], u);
    this.dispatch('rgb_f32_to_u8', strideGroups(padded / 4));
    const rb = this.takeReadback(padded);
    this.commandEncoder().copyBufferToBuffer(this.bytes, 0, rb, 0, padded);
    this.submit();
    const out = new Uint8Array(count);
    await this.readInto(rb, out);
    return out;
  }

  async flush(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.throwDeviceError();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.endPass();
    this.encoder = null;
    this.arena?.destroy();
    this.params.destroy();
    this.coef.destroy();
    this.bytes.destroy();
    for (const b of this.readbacks) b.destroy();
    this.timer?.destroy();
    this.readbacks.length = 0;
  }

  // ---- recording ----

  private conv(
    s: ConvShape,
    x: Slot,
    w: Slot,
    bias: Slot | undefined,
    residual: Slot | undefined,
    y: Slot,
    fused: boolean,
  ): void {
    const oh = convOutH(s);
    const ow = convOutW(s);
    if (oh < 1 || ow < 1 || s.k < 1 || s.stride < 1) {
      throw new Error(`conv2d: no output for n${s.n} ${s.cin}x${s.h}x${s.w} -> ${s.cout} k${s.k} s${s.stride} p${s.pad}`);
    }
    const tile = convTile(s.cout, s.n * oh * ow);
    const u = this.slot();
    const flags = (bias !== undefined ? 1 : 0) | (residual !== undefined ? 2 : 0) | (fused ? 4 : 0) | (s.k << 8);
    this.paramU32.set(
      [s.n, s.cin, s.h, s.w, s.cout, s.stride, s.pad, oh, ow, x, w, bias ?? 0, residual ?? 0, y, flags, roundUp(s.cout, CONV_TM)],
      u,
    );
    const tiles = Math.ceil((s.n * oh * ow) / tile.tn);
    const gx = Math.min(tiles, 32768);
    this.dispatch(convKey(tile), gx, Math.ceil(s.cout / tile.tm), Math.ceil(tiles / gx));
  }

  private gnStats(s: GroupNormShape, x: Slot, p: GroupNormParams): void {
    if (s.groups < 1 || s.c % s.groups !== 0) throw new Error(`group_norm: ${s.groups} groups do not divide ${s.c} channels`);
    this.ensureCoef(2 * s.n * s.c);
    const u = this.slot();
    this.paramU32.set([s.n, s.c, s.hw, s.groups, 0, x, 0, p.gamma ?? 0, p.beta ?? 0, p.scale ?? 0, p.shift ?? 0, gnFlags(p)], u);
    this.paramF32[u + 4] = s.eps;
    this.dispatch('gn_stats', ...grid(s.n * s.groups));
  }

  /**
   * Reserves the next params block, a 64-byte header plus `hostFloats` per-world values, and
   * returns its index in paramU32 / paramF32. Blocks are bound PARAM_BYTES wide but only
   * advance by what they hold (rounded to the offset alignment): the binding of the last one
   * reaches past the end into the buffer's PARAM_BYTES of slack.
   */
  private slot(hostFloats = 0): number {
    if (this.paramUsed + PARAM_BYTES > this.paramHost.byteLength) this.submit();
    const at = this.paramUsed;
    this.paramU32.fill(0, at / 4, (at + 64) / 4);
    this.paramUsed += roundUp(64 + 4 * hostFloats, this.paramAlign);
    this.lastSlot = at;
    return at / 4;
  }

  /** Records one dispatch of `kernel` with the params block slot() reserved last. */
  private dispatch(kernel: string, x: number, y = 1, z = 1): void {
    const pipeline = this.pipelines.get(kernel);
    if (!pipeline) throw new Error(`WebGpuBackend: no pipeline ${kernel}`);
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroupOrThrow(), [this.lastSlot]);
    pass.dispatchWorkgroups(x, y, z);
  }

  private commandEncoder(): GPUCommandEncoder {
    if (this.destroyed) throw new Error('WebGpuBackend: used after destroy()');
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'ops' });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      const encoder = this.commandEncoder();
      const timestampWrites = this.timing ? this.timer?.passWrites(this.label) : undefined;
      this.pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    }
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Writes the recorded dispatches' params and submits them. */
  private submit(): void {
    if (!this.encoder && !this.pass) return;
    this.endPass();
    this.timer?.resolve(this.encoder!);
    if (this.paramUsed > 0) this.device.queue.writeBuffer(this.params, 0, this.paramHost, 0, this.paramUsed);
    this.device.queue.submit([this.encoder!.finish()]);
    this.timer?.afterSubmit();
    this.encoder = null;
    this.paramUsed = 0;
  }

  // ---- buffers ----

  private storageBuffer(label: string, bytes: number): GPUBuffer {
    return this.device.createBuffer({
      label,
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  }

  private ensureCoef(floats: number): void {
    if (floats * 4 <= this.coef.size) return;
    this.submit(); // recorded dispatches keep the old buffer (destroy waits for submitted work)
    this.coef.destroy();
    this.coef = this.storageBuffer('group norm coefficients', roundUp(floats * 4 * 2, 256));
    this.rebind();
  }

  private ensureBytes(bytes: number): void {
    if (bytes <= this.bytes.size) return;
    this.submit();
    this.bytes.destroy();
    this.bytes = this.storageBuffer('rgb bytes', roundUp(bytes, 256));
    this.rebind();
  }

  private rebind(): void {
    if (!this.arena) return;
    this.bindGroup = this.device.createBindGroup({
      label: 'worldloop ops',
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.arena } },
        { binding: 1, resource: { buffer: this.params, size: PARAM_BYTES } },
        { binding: 2, resource: { buffer: this.coef } },
        { binding: 3, resource: { buffer: this.bytes } },
      ],
    });
  }

  private arenaBuffer(): GPUBuffer {
    if (!this.arena) throw new Error('WebGpuBackend: allocate() the arena first');
    return this.arena;
  }

  private bindGroupOrThrow(): GPUBindGroup {
    if (!this.bindGroup) throw new Error('WebGpuBackend: allocate() the arena first');
    return this.bindGroup;
  }

  private checkRange(what: string, at: Slot, count: number): void {
    const size = this.arenaBuffer().size / 4;
    if (!Number.isInteger(at) || at < 0 || at + count > size) {
      throw new Error(`${what}: floats [${at}, ${at + count}) are outside the arena of ${size} floats`);
    }
  }

  private takeReadback(bytes: number): GPUBuffer {
    const i = this.readbacks.findIndex((b) => b.size >= bytes);
    if (i >= 0) return this.readbacks.splice(i, 1)[0]!;
    return this.device.createBuffer({
      label: 'readback',
      size: roundUp(bytes, 256),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  private async readInto(rb: GPUBuffer, out: Uint8Array): Promise<void> {
    try {
      await rb.mapAsync(GPUMapMode.READ, 0, roundUp(out.byteLength, 4));
    } catch (e) {
      this.throwDeviceError();
      throw e;
    }
    out.set(new Uint8Array(rb.getMappedRange(0, roundUp(out.byteLength, 4)), 0, out.byteLength));
    rb.unmap();
    this.readbacks.push(rb);
    this.throwDeviceError();
  }

  private throwDeviceError(): void {
    if (this.firstError !== null) throw new Error(`WebGPU error: ${this.firstError}`);
  }

  // ---- pipelines ----

  private module(key: string, source: string): GPUShaderModule {
    let m = this.modules.get(source);
    if (!m) {
      m = this.device.createShaderModule({ label: key, code: source });
      this.modules.set(source, m);
    }
    return m;
  }

  private async createPipeline(key: string, source: string, entry: string, constants: Record<string, number>): Promise<void> {
    // A WGSL error rejects the promise with the compiler's message (GPUPipelineError); no
    // getCompilationInfo(): in Chromium 156 a second call on one module never resolved.
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: key,
        layout: this.pipelineLayout,
        compute: { module: this.module(key, source), entryPoint: entry, constants },
      });
      this.pipelines.set(key, pipeline);
    } catch (e) {
      throw new Error(`WebGPU could not build the ${key} kernel: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * A conv2d.wgsl tile: ty invocations along output channels (256 / ty along pixels), rm channels
 * and rn pixels each, tk reduction rows per slice; tm x tn outputs per workgroup.
 */
interface ConvTile {
  ty: number;
  rm: number;
  rn: number;
  tk: number;
  tm: number;
  tn: number;
}

function tile(ty: number, rm: number, rn: number, tk: number): ConvTile {
  return { ty, rm, rn, tk, tm: ty * rm, tn: (256 / ty) * rn };
}

const CONV_TILES = {
  wide: tile(16, 4, 4, 16), // 64 channels x 64 pixels
  smallPlane: tile(16, 4, 1, 16), // 64 x 16: the 4x4 levels
  c32: tile(8, 4, 4, 16), // 32 x 128
  c16: tile(4, 4, 4, 8), // 16 x 256
  c4: tile(4, 1, 4, 8), // 4 x 256: the RGB head
};

/** The tile wasting least on the shape: few output channels take narrow, long tiles. */
function convTile(cout: number, pixels: number): ConvTile {
  if (cout <= 4) return CONV_TILES.c4;
  if (cout <= 16) return CONV_TILES.c16;
  if (cout <= 32 && pixels > 64) return CONV_TILES.c32;
  return pixels <= 32 ? CONV_TILES.smallPlane : CONV_TILES.wide;
}

function convConstants(t: ConvTile): Record<string, number> {
  return { TY: t.ty, RM: t.rm, RN: t.rn, TK: t.tk };
}

function convKey(t: ConvTile): string {
  return `conv2d ${t.tm}x${t.tn}`;
}


function gnFlags(p: GroupNormParams): number {
  return (
    (p.gamma !== undefined ? 1 : 0) |
    (p.beta !== undefined ? 2 : 0) |
    (p.scale !== undefined ? 4 : 0) |
    (p.shift !== undefined ? 8 : 0) |
    (p.silu ? 16 : 0)
  );
}
