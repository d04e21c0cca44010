// A world model loaded in the page: the parsed file, the three networks planned into one arena of
// a WebBackend, and the EDM Euler sampler. It mirrors the engine's native/core/model/model.cc for
// one world (batch 1), with the same layouts and semantics as wl_model.h / src/model.ts:
//   context latents [K, C, h, w] oldest first, context actions [K, A] (action K-1 leads to the new
//   frame), latents [C, h, w], RGB8 frames [H, W, 3].
// Models with memory slots load and run with memory absent, exactly as the engine runs them when
// its `memory` argument is null: zero latents, zero poses, mask 0.
//
// Calls are queued one at a time (the arena is shared by all of them); every output is a fresh
// array the caller may keep.

import { DecoderNet, EncoderNet } from './autoencoder.js';
import type { WebBackend } from './backend.js';
import { DenoiserNet } from './denoiser.js';
import type { DenoiserMemory } from './denoiser.js';
import { edmPrecondition, eulerStep, karrasSigmas } from './edm.js';
import { ArenaPlan, Exec, WeightTable } from './layers.js';
import type { BuildCtx } from './layers.js';
import { MANIFEST_LIMITS } from './manifest.js';
import type { WebManifest } from './manifest.js';
import { parseModelFile } from './model_file.js';
import { ModelFileError } from './model_file_error.js';
import { philoxNormals } from './philox.js';

export interface WebModelDims {
  latentChannels: number;
  latentHeight: number;
  latentWidth: number;
  frameHeight: number;
  frameWidth: number;
  /** K past latents / actions the denoiser takes. */
  context: number;
  /** A action channels. */
  actionDim: number;
  defaultSteps: number;
  /** M memory views of the network (always run absent here). */
  memorySlots: number;
  memoryPoseDim: number;
}

export interface WebModelInfo {
  params: { denoiser: number; decoder: number; encoder: number };
  weightBytes: number;
  activationBytes: number;
  fileBytes: number;
  loadMs: number;
  backend: string;
  /** Tensors holding NaN/Inf ("name: 3 NaN, 0 Inf"). */
  nanWeights: string[];
  /** Tensors in the file no network uses (allowed, as in the engine). */
  unusedTensors: string[];
}

export interface WebModelLoadOptions {
  /** Names the file in error messages (default "model file"). */
  name?: string;
  /** Load weights holding NaN/Inf (default false: refused, as src/model.ts does). */
  allowNonFiniteWeights?: boolean;
}

export interface WebStepResult {
  /** The sampled latent [C, h, w]: what sample() returns. */
  latent: Float32Array;
  /** Its decode, RGB8 [H, W, 3]: what decode(latent) returns. */
  rgb: Uint8Array;
  /** Wall time of each denoiser step, then of the decode with both downloads (ms); untimed, the
   * whole frame's wall time alone. */
  stageMs: number[];
}

function requireLength(x: ArrayLike<number>, n: number, name: string): void {
  if (x.length !== n) throw new RangeError(`${name}: expected ${n} values, got ${x.length}`);
}

function requireFinite(x: Float32Array, name: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError(`${name}[${i}] is not finite`);
  }
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class WebModel {
  readonly manifest: WebManifest;
  readonly dims: WebModelDims;
  readonly info: WebModelInfo;
  /** The file's name in messages. */
  readonly fileName: string;
  private readonly be: WebBackend;
  private readonly e: Exec;
  private readonly denoiser: DenoiserNet;
  private readonly decoder: DecoderNet;
  private readonly encoder: EncoderNet;
  private readonly slots: { context: number; actions: number; x: number; d: number; latentIn: number; rgbIn: number; memory: number; memoryPose: number };
  private readonly latentPer: number;
  private readonly contextPer: number;
  private readonly actionsPer: number;
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  /**
   * Label each stage's ops for the backend's GPU timer (setLabel: "denoise0".., "decode"): the
   * page sets it to show per-stage GPU times and then drains the timer (WebGpuBackend.gpuTimes)
   * every frame. Off by default, so nothing is timed unless asked.
   */
  labelStages = false;

  private constructor(args: {
    manifest: WebManifest; fileName: string; info: WebModelInfo; be: WebBackend; e: Exec; denoiser: DenoiserNet; decoder: DecoderNet;
    encoder: EncoderNet; slots: WebModel['slots'];
  }) {
    this.manifest = args.manifest;
    this.fileName = args.fileName;
    this.info = args.info;
    this.be = args.be;
    this.e = args.e;
    this.denoiser = args.denoiser;
    this.decoder = args.decoder;
    this.encoder = args.encoder;
    this.slots = args.slots;
    const m = this.manifest;
    this.dims = {
      latentChannels: m.latent.channels,
      latentHeight: m.latent.height,
      latentWidth: m.latent.width,
      frameHeight: m.frame.height,
      frameWidth: m.frame.width,
      context: m.denoiser.context,
      actionDim: m.actions.names.length,
      defaultSteps: m.sampler.steps,
      memorySlots: m.denoiser.memorySlots,
      memoryPoseDim: m.denoiser.memoryPoseDim,
    };
    this.latentPer = m.latent.channels * m.latent.height * m.latent.width;
    this.contextPer = this.latentPer * m.denoiser.context;
    this.actionsPer = m.denoiser.context * this.dims.actionDim;
  }

  /**
   * Parses and validates the file (ModelFileError naming what is wrong and where), plans the
   * networks, allocates the backend's arena and uploads every weight.
   */
  static async load(file: ArrayBuffer | Uint8Array, backend: WebBackend, opts: WebModelLoadOptions = {}): Promise<WebModel> {
    const t0 = now();
    const { file: st, manifest: m } = parseModelFile(file, { name: opts.name });
    const latentPer = m.latent.channels * m.latent.height * m.latent.width;
    const K = m.denoiser.context;
    const A = m.actions.names.length;
    const M = m.denoiser.memorySlots;

    // Plan: I/O buffers first, then one region the three networks share (they never run at the
    // same time; the sampler's state lives in the I/O buffers).
    const weights = new WeightTable(st, backend);
    const acts = new ArenaPlan();
    const slots = {
      context: acts.take(K * latentPer),
      actions: acts.take(K * A),
      x: acts.take(latentPer),
      d: acts.take(latentPer),
      latentIn: acts.take(latentPer),
      rgbIn: acts.take(3 * m.frame.height * m.frame.width),
      memory: M > 0 ? acts.take(M * latentPer) : -1,
      memoryPose: M > 0 ? acts.take(M * m.denoiser.memoryPoseDim) : -1,
    };
    const shared = acts.mark();
    const ctx = (part: BuildCtx['part']): BuildCtx => ({ weights, plan: acts, backend, part });
    const denoiser = new DenoiserNet();
    denoiser.plan(ctx('denoiser'), m);
    acts.rewind(shared);
    const decoder = new DecoderNet();
    decoder.plan(ctx('decoder'), m);
    acts.rewind(shared);
    const encoder = new EncoderNet();
    encoder.plan(ctx('encoder'), m);

    if (weights.nonFinite.length > 0 && !opts.allowNonFiniteWeights) {
      const n = weights.nonFinite.length;
      throw new ModelFileError(`${st.displayName}: ${n === 1 ? '1 tensor holds' : `${n} tensors hold`} non-finite weights ` +
        `(${weights.nonFinite.slice(0, 8).join('; ')}${n > 8 ? '; ...' : ''}); a model needs finite weights to run`);
    }

    const weightFloats = Math.ceil(weights.totalFloats / 16) * 16;
    await backend.allocate(weightFloats + acts.total);
    weights.load(0);
    await backend.flush();
    const e = new Exec(backend, 0, weightFloats);
    const info: WebModelInfo = {
      params: { ...weights.params },
      weightBytes: weightFloats * 4,
      activationBytes: acts.total * 4,
      fileBytes: st.fileBytes,
      loadMs: now() - t0,
      backend: backend.name,
      nanWeights: weights.nonFinite,
      unusedTensors: weights.unused(),
    };
    return new WebModel({ manifest: m, fileName: st.displayName, info, be: backend, e, denoiser, decoder, encoder, slots });
  }

  /** One denoiser evaluation D(noisy; sigma) -> denoised latent [C, h, w]. */
  denoise(noisy: Float32Array, sigma: number, context: Float32Array, actions: Float32Array): Promise<Float32Array> {
    requireLength(noisy, this.latentPer, 'noisy');
    const s = Math.fround(sigma);
    if (!(Number.isFinite(s) && s > 0)) throw new RangeError(`sigma: must be finite and > 0, got ${sigma}`);
    requireFinite(noisy, 'noisy');
    this.checkConditioning(context, actions);
    return this.enqueue(async () => {
      this.uploadConditioning(context, actions);
      this.be.upload(this.e.at(this.slots.x), noisy);
      this.runDenoiser(s);
      return this.be.download(this.e.at(this.slots.d), this.latentPer);
    });
  }

  /** N Euler steps from Philox(seed, frame, step 0) noise -> next latent [C, h, w]. */
  sample(context: Float32Array, actions: Float32Array, seed: bigint, frame: bigint, steps?: number): Promise<Float32Array> {
    const s = this.resolveSteps(steps);
    this.checkConditioning(context, actions);
    const noise = philoxNormals(seed, frame, 0, this.latentPer);
    return this.enqueue(async () => {
      this.uploadConditioning(context, actions);
      this.be.upload(this.e.at(this.slots.x), noise);
      await this.runSampler(s);
      return this.be.download(this.e.at(this.slots.x), this.latentPer);
    });
  }

  /** Like sample() with the initial standard-normal noise given ([C, h, w]): tests, goldens. */
  sampleWithNoise(context: Float32Array, actions: Float32Array, noise: Float32Array, steps?: number): Promise<Float32Array> {
    const s = this.resolveSteps(steps);
    this.checkConditioning(context, actions);
    requireLength(noise, this.latentPer, 'noise');
    requireFinite(noise, 'noise');
    return this.enqueue(async () => {
      this.uploadConditioning(context, actions);
      this.be.upload(this.e.at(this.slots.x), noise);
      await this.runSampler(s);
      return this.be.download(this.e.at(this.slots.x), this.latentPer);
    });
  }

  /**
   * One frame: sample() then the decode of its output, the latent staying in the arena in
   * between. With `timed` (default) each stage is flushed to time it (stageMs: the steps, then
   * the decode); without, the frame is submitted once and stageMs holds only the whole frame.
   */
  step(context: Float32Array, actions: Float32Array, seed: bigint, frame: bigint, steps?: number, timed = true): Promise<WebStepResult> {
    const s = this.resolveSteps(steps);
    this.checkConditioning(context, actions);
    const noise = philoxNormals(seed, frame, 0, this.latentPer);
    return this.enqueue(async () => {
      this.uploadConditioning(context, actions);
      this.be.upload(this.e.at(this.slots.x), noise);
      const tFrame = now();
      const stageMs = await this.runSampler(s, timed);
      const t0 = timed ? now() : tFrame;
      if (this.labelStages) this.be.setLabel?.('decode');
      this.decoder.run(this.e, this.e.at(this.slots.x));
      const rgb = await this.be.downloadRgbU8(1, this.dims.frameHeight, this.dims.frameWidth, this.e.act(this.decoder.output));
      const latent = await this.be.download(this.e.at(this.slots.x), this.latentPer);
      stageMs.push(now() - t0);
      this.requireFiniteOutput(latent, 'latent (sampled)');
      return { latent, rgb, stageMs };
    });
  }

  /** Latent [C, h, w] -> RGB8 [H, W, 3]. */
  decode(latent: Float32Array): Promise<Uint8Array> {
    requireLength(latent, this.latentPer, 'latent');
    requireFinite(latent, 'latent');
    return this.enqueue(async () => {
      this.be.upload(this.e.at(this.slots.latentIn), latent);
      this.decoder.run(this.e, this.e.at(this.slots.latentIn));
      return this.be.downloadRgbU8(1, this.dims.frameHeight, this.dims.frameWidth, this.e.act(this.decoder.output));
    });
  }

  /** Latent [C, h, w] -> the decoder's f32 RGB [3, H, W] in about [-1, 1], before the bytes. */
  decodeF32(latent: Float32Array): Promise<Float32Array> {
    requireLength(latent, this.latentPer, 'latent');
    requireFinite(latent, 'latent');
    return this.enqueue(async () => {
      this.be.upload(this.e.at(this.slots.latentIn), latent);
      this.decoder.run(this.e, this.e.at(this.slots.latentIn));
      return this.be.download(this.e.act(this.decoder.output), 3 * this.dims.frameHeight * this.dims.frameWidth);
    });
  }

  /** RGB8 [H, W, 3] -> latent [C, h, w]. */
  encode(rgb: Uint8Array): Promise<Float32Array> {
    requireLength(rgb, 3 * this.dims.frameHeight * this.dims.frameWidth, 'rgb');
    return this.enqueue(async () => {
      this.be.uploadRgbU8(1, this.dims.frameHeight, this.dims.frameWidth, rgb, this.e.at(this.slots.rgbIn));
      this.encoder.run(this.e, this.e.at(this.slots.rgbIn));
      const latent = await this.be.download(this.e.act(this.encoder.output), this.latentPer);
      this.requireFiniteOutput(latent, 'latent (encoded)');
      return latent;
    });
  }

  /** Releases the backend's memory; further calls fail. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.be.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  private resolveSteps(steps: number | undefined): number {
    const s = steps === undefined || steps === 0 ? this.manifest.sampler.steps : steps;
    if (!Number.isInteger(s) || s < 1 || s > MANIFEST_LIMITS.maxSteps) {
      throw new RangeError(`steps: ${steps} is outside [0, ${MANIFEST_LIMITS.maxSteps}] (0 or absent = manifest default)`);
    }
    return s;
  }

  private checkConditioning(context: Float32Array, actions: Float32Array): void {
    requireLength(context, this.contextPer, 'context_latents');
    requireLength(actions, this.actionsPer, 'context_actions');
    requireFinite(context, 'context_latents');
    requireFinite(actions, 'context_actions');
  }

  private uploadConditioning(context: Float32Array, actions: Float32Array): void {
    this.be.upload(this.e.at(this.slots.context), context);
    this.be.upload(this.e.at(this.slots.actions), actions);
    const M = this.dims.memorySlots;
    if (M > 0) {
      // Memory absent: zero latents and poses (the mask is 0 in runDenoiser), as the engine stages
      // them when its memory argument is null.
      this.be.upload(this.e.at(this.slots.memory), new Float32Array(M * this.latentPer));
      this.be.upload(this.e.at(this.slots.memoryPose), new Float32Array(M * this.dims.memoryPoseDim));
    }
  }

  // d = D(x; sigma) = c_skip x + c_out F(c_in x; ...) for the uploaded conditioning.
  private runDenoiser(sigma: number): void {
    const m = this.manifest;
    const s = edmPrecondition(sigma, m.edm.sigmaData);
    const sc = {
      cIn: Float32Array.of(s.cIn),
      cNoise: Float32Array.of(s.cNoise),
      ctxSigma: Float32Array.of(m.sampler.contextNoiseSigma),
    };
    const e = this.e;
    const M = this.dims.memorySlots;
    const memory: DenoiserMemory | undefined = M > 0
      ? { latents: e.at(this.slots.memory), poses: e.at(this.slots.memoryPose), mask: new Float32Array(M) }
      : undefined;
    this.denoiser.run(e, e.at(this.slots.x), sc, e.at(this.slots.context), e.at(this.slots.actions), memory);
    this.be.run({
      op: 'scale_add', batch: 1, per: this.latentPer, a: Float32Array.of(s.cSkip), x: e.at(this.slots.x),
      c: Float32Array.of(s.cOut), z: e.act(this.denoiser.output), y: e.at(this.slots.d),
    });
  }

  // x holds standard-normal noise; runs Euler from sigma_max and leaves the latent in x. With
  // `timed`, flushes after each step and returns the steps' wall times.
  private async runSampler(steps: number, timed = false): Promise<number[]> {
    const m = this.manifest;
    const e = this.e;
    const x = e.at(this.slots.x);
    const sig = karrasSigmas(steps, m.edm.sigmaMin, m.edm.sigmaMax, m.edm.rho);
    if (this.labelStages) this.be.setLabel?.('denoise0');
    this.be.run({ op: 'scale_add', batch: 1, per: this.latentPer, a: Float32Array.of(sig[0] as number), x, y: x });
    const ms: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = now();
      if (this.labelStages) this.be.setLabel?.(`denoise${i}`);
      this.runDenoiser(sig[i] as number);
      const st = eulerStep(sig[i] as number, sig[i + 1] as number);
      this.be.run({
        op: 'scale_add', batch: 1, per: this.latentPer, a: Float32Array.of(st.a), x, c: Float32Array.of(st.b),
        z: e.at(this.slots.d), y: x,
      });
      if (timed) {
        await this.be.flush();
        ms.push(now() - t0);
      }
    }
    if (m.denoiser.predictsResidual) {
      // Copy-then-correct: x holds the change from the newest context latent; add that back.
      const newest = e.at(this.slots.context) + (m.denoiser.context - 1) * this.latentPer;
      const one = Float32Array.of(1);
      this.be.run({ op: 'scale_add', batch: 1, per: this.latentPer, a: one, x, c: one, z: newest, y: x });
    }
    return ms;
  }

  private requireFiniteOutput(x: Float32Array, name: string): void {
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        throw new ModelFileError(`${this.fileName}: ${name}[${i}] is not finite: the model's weights give non-finite outputs`);
      }
    }
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.destroyed) throw new Error('WebModel: used after destroy()');
      return fn();
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
