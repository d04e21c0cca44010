/**
 * Typed API over the native model (wl_model_* via the addon). Heavy calls run off the JS thread
 * and return promises; outputs are views on buffers allocated once per model (the next call of
 * the same kind overwrites them — copy what you keep).
 */
import { existsSync, statSync } from 'node:fs';
import { addon } from './native.js';
import type { ModelDims, NativeMemoryArgs, NativeModel } from './addon_types.js';
import { FormatError, fromNative, InputFileError, InvalidArgumentError, WorldloopError } from './errors.js';
import type { ActionChannel, ActionSpace } from './source.js';
import type { MemoryInput } from './model_memory.js';

export type BackendName = 'cpu' | 'cuda' | 'auto';

export interface LoadOptions {
  backend?: BackendName;
  /** CPU worker threads; 0 or undefined = all cores. */
  threads?: number;
  /** Largest batch of worlds per call (arena is sized for it). Default 1. */
  maxBatch?: number;
  /**
   * Load a model whose weights hold NaN or Inf (default false: refused with the file and the
   * tensors named, since its frames could only be garbage). `worldloop info` sets it to report
   * them; info.nanWeights lists them either way.
   */
  allowNonFiniteWeights?: boolean;
}

export type { ModelDims } from './addon_types.js';

/** The manifest stored in the model file (see docs/model-format.md). */
export interface Manifest {
  format: string;
  format_version: number;
  name: string;
  frame: { height: number; width: number };
  latent: { channels: number; height: number; width: number; scale: number };
  actions: { names: string[]; min: number[]; max: number[]; kinds?: ('axis' | 'event')[] };
  sampler: { steps: number; context_noise_sigma?: number };
  /** The denoiser's sizes; `predicts` "residual" = copy-then-correct (the network predicts the
   * change from the newest context latent, which the sampler adds back), absent = "latent". */
  denoiser?: { context: number; predicts?: 'latent' | 'residual'; [key: string]: unknown };
  /** Object kinds the training worlds spawned (absent in models exported before it was kept). */
  objects?: { kinds: string[] };
  training?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ModelInfo {
  manifest: Manifest;
  params: Record<string, number>;
  memoryBytes: number;
  loadMs: number;
  backend: string;
  isa?: string;
  /** CPU backend: how the convolutions multiply, "f32" or "bf16" (WL_CONV_BF16=1 on an
   * AVX-512 BF16 CPU; docs/kernels.md). */
  conv?: string;
  threads?: number;
  nanWeights?: unknown[];
  /** Everything the engine reported, verbatim. */
  raw: Record<string, unknown>;
}

export interface SampleInput {
  /** [B, K, C, h, w] oldest first. */
  contextLatents: Float32Array;
  /** [B, K, A]; action K-1 leads to the new frame. */
  contextActions: Float32Array;
  batch?: number;
  /** Euler steps (1..8); default = manifest sampler.steps. */
  steps?: number;
  /** Per-world noise keys: Philox(seed, frame, step). */
  seeds?: BigUint64Array;
  frames?: BigUint64Array;
  /** Retrieved memory views (only for a model with dims.memorySlots > 0); absent = none. */
  memory?: MemoryInput;
}

export interface StepInput extends SampleInput {
  /**
   * Time each denoiser step and the decode (lastStepMs / lastDecodeMs); default true. Each timing
   * synchronises the backend: on CUDA that splits the frame's one graph launch into one per step
   * plus one for the decode. false leaves the timings NaN.
   */
  timings?: boolean;
}

/** One frame from Model.step(): views on the model's output buffers (overwritten by the next call). */
export interface StepResult {
  /** The sampled latent(s) [B, C, h, w] — what sample() would return. */
  latent: Float32Array;
  /** Its decode, RGB8 [B, H, W, 3] — what decode(latent) would return. */
  rgb: Uint8Array;
}

const BACKEND_CODE: Record<BackendName, number> = { cpu: 0, cuda: 1, auto: 2 };

export class Model {
  readonly path: string;
  readonly dims: ModelDims;
  readonly info: ModelInfo;
  readonly actionSpace: ActionSpace;
  private native: NativeModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly latentOut: Float32Array;
  private readonly rgbOut: Uint8Array;
  private readonly encodeOut: Float32Array;
  private readonly stepMs: Float64Array;
  private readonly seeds1 = new BigUint64Array(1);
  private readonly frames1 = new BigUint64Array(1);

  private constructor(path: string, native: NativeModel) {
    this.path = path;
    this.native = native;
    this.dims = native.dims();
    const raw = JSON.parse(native.info()) as Record<string, unknown>;
    this.info = {
      manifest: raw.manifest as Manifest,
      params: (raw.params ?? {}) as Record<string, number>,
      memoryBytes: Number(raw.memory_bytes ?? 0),
      loadMs: Number(raw.load_ms ?? 0),
      backend: String(raw.backend ?? 'cpu'),
      isa: raw.isa as string | undefined,
      conv: raw.conv as string | undefined,
      threads: raw.threads as number | undefined,
      nanWeights: raw.nan_weights as unknown[] | undefined,
      raw,
    };
    this.actionSpace = actionSpaceOf(this.info.manifest);
    const d = this.dims;
    const latent = d.latentChannels * d.latentHeight * d.latentWidth;
    this.latentOut = new Float32Array(latent * d.maxBatch);
    this.encodeOut = new Float32Array(latent * d.maxBatch);
    this.rgbOut = new Uint8Array(d.frameHeight * d.frameWidth * 3 * d.maxBatch);
    this.stepMs = new Float64Array(9); // up to 8 denoiser steps, then step()'s decode
  }

  static async load(path: string, opts: LoadOptions = {}): Promise<Model> {
    if (!existsSync(path)) {
      throw new InputFileError(`model file not found: ${path}`);
    }
    if (!statSync(path).isFile()) {
      throw new InputFileError(`model path is not a file: ${path}`);
    }
    const backend = opts.backend ?? 'cpu';
    if (!(backend in BACKEND_CODE)) {
      throw new InvalidArgumentError(`unknown backend '${backend}' (cpu, cuda or auto)`);
    }
    const threads = opts.threads ?? 0;
    const maxBatch = opts.maxBatch ?? 1;
    if (!Number.isInteger(threads) || threads < 0 || threads > 256) {
      throw new InvalidArgumentError(`threads must be an integer in 0..256, got ${threads}`);
    }
    if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 64) {
      throw new InvalidArgumentError(`maxBatch must be an integer in 1..64, got ${maxBatch}`);
    }
    let model: Model;
    try {
      const native = await addon().loadModel(path, BACKEND_CODE[backend], threads, maxBatch);
      model = new Model(path, native);
    } catch (err) {
      throw fromNative(err);
    }
    const bad = model.info.nanWeights ?? [];
    if (bad.length > 0 && !opts.allowNonFiniteWeights) {
      await model.close();
      throw new FormatError(
        `${path}: ${bad.length === 1 ? '1 tensor holds' : `${bad.length} tensors hold`} non-finite weights (${bad.join('; ')}); ` +
          'a model needs finite weights to run (worldloop info lists them)',
      );
    }
    return model;
  }

  get latentSize(): number {
    return this.dims.latentChannels * this.dims.latentHeight * this.dims.latentWidth;
  }

  /** Wall time of each denoiser step of the last sample() (ms, batch total). */
  lastStepMs(steps: number): number[] {
    return Array.from(this.stepMs.subarray(0, steps));
  }

  /** N Euler steps -> next latent(s) [B, C, h, w] (view; overwritten by the next sample). */
  sample(input: SampleInput): Promise<Float32Array> {
    const { b, steps, seeds, frames, mem } = this.samplingArgs(input);
    return this.enqueue(async (n) => {
      await n.sample(b, input.contextLatents, input.contextActions, seeds, frames, steps,
        this.latentOut, this.stepMs, ...mem);
      return this.latentOut.subarray(0, b * this.latentSize);
    });
  }

  /** Wall time of the decode (with the copies to the host) inside the last step() (ms). */
  lastDecodeMs(steps: number): number {
    return this.stepMs[steps] ?? NaN;
  }

  /**
   * One whole frame in one native call: N Euler steps, then the decode of the result to RGB8
   * (on CUDA one graph launch). Bit-identical to sample() followed by decode() of its output.
   * Per-step timings land in lastStepMs(), the decode's in lastDecodeMs().
   */
  step(input: StepInput): Promise<StepResult> {
    const { b, steps, seeds, frames, mem } = this.samplingArgs(input);
    const timed = input.timings ?? true;
    return this.enqueue(async (n) => {
      if (!timed) this.stepMs.fill(NaN);
      await n.step(b, input.contextLatents, input.contextActions, seeds, frames, steps,
        this.latentOut, this.rgbOut, timed ? this.stepMs : undefined, ...mem);
      return {
        latent: this.latentOut.subarray(0, b * this.latentSize),
        rgb: this.rgbOut.subarray(0, b * this.dims.frameHeight * this.dims.frameWidth * 3),
      };
    });
  }

  /** Like sample() but with explicit noise [(steps+1), B, C, h, w] — for goldens and tests. */
  sampleWithNoise(input: SampleInput & { noise: Float32Array }): Promise<Float32Array> {
    const b = input.batch ?? 1;
    const steps = input.steps ?? this.dims.defaultSteps;
    this.checkBatch(b);
    const mem = this.memoryArgs(input.memory);
    return this.enqueue(async (n) => {
      await n.sampleWithNoise(b, input.contextLatents, input.contextActions, steps, input.noise,
        this.latentOut, ...mem);
      return this.latentOut.subarray(0, b * this.latentSize);
    });
  }

  /** latent(s) [B, C, h, w] -> RGB8 [B, H, W, 3] (view; overwritten by the next decode). */
  decode(latent: Float32Array, batch = 1): Promise<Uint8Array> {
    this.checkBatch(batch);
    return this.enqueue(async (n) => {
      await n.decode(batch, latent, this.rgbOut);
      return this.rgbOut.subarray(0, batch * this.dims.frameHeight * this.dims.frameWidth * 3);
    });
  }

  /** RGB8 [B, H, W, 3] -> latent(s) [B, C, h, w] (view; overwritten by the next encode). */
  encode(rgb: Uint8Array, batch = 1): Promise<Float32Array> {
    this.checkBatch(batch);
    return this.enqueue(async (n) => {
      await n.encode(batch, rgb, this.encodeOut);
      return this.encodeOut.subarray(0, batch * this.latentSize);
    });
  }

  /** Frees native memory; further calls fail. Waits for in-flight work. */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.native) this.native.close();
    this.native = undefined;
  }

  /** Batch, checked step count, noise keys (defaults: seed 0, frame 0) and memory views of one
   * sample() / step() call. */
  private samplingArgs(input: SampleInput) {
    const b = input.batch ?? 1;
    const steps = input.steps ?? this.dims.defaultSteps;
    this.checkBatch(b);
    if (!Number.isInteger(steps) || steps < 1 || steps > 8) {
      throw new InvalidArgumentError(`steps must be an integer in 1..8, got ${steps}`);
    }
    const seeds = input.seeds ?? this.seeds1;
    const frames = input.frames ?? this.frames1;
    return { b, steps, seeds, frames, mem: this.memoryArgs(input.memory) };
  }

  // The addon's optional trailing memory arguments ([] = no memory).
  private memoryArgs(memory: MemoryInput | undefined): NativeMemoryArgs {
    if (!memory) return [];
    if (this.dims.memorySlots === 0) {
      throw new InvalidArgumentError(
        'memory given, but this model has no memory slots (manifest denoiser.memory)',
      );
    }
    return [memory.latents, memory.poses, memory.mask];
  }

  private checkBatch(b: number): void {
    if (!Number.isInteger(b) || b < 1 || b > this.dims.maxBatch) {
      throw new InvalidArgumentError(
        `batch ${b} outside 1..${this.dims.maxBatch} (load with a larger maxBatch)`,
      );
    }
  }

  // Native calls on one model are serialised: the engine's arena is shared by its calls.
  private enqueue<T>(fn: (n: NativeModel) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!this.native) throw new WorldloopError('WL_INVALID_ARGUMENT', 'model is closed');
      try {
        return await fn(this.native);
      } catch (err) {
        const e = fromNative(err);
        // The engine's own failures (an output that is not finite: weights that overflow) are
        // about this model file, so they name it; argument errors are the caller's.
        if (e.code === 'WL_INTERNAL') throw new WorldloopError('WL_INTERNAL', `${this.path}: ${e.message}`, { cause: err });
        throw e;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

/** Loads a .safetensors world model. */
export function loadModel(path: string, opts: LoadOptions = {}): Promise<Model> {
  return Model.load(path, opts);
}

export function actionSpaceOf(m: Manifest): ActionSpace {
  const a = m.actions;
  const channels: ActionChannel[] = a.names.map((name, i) => ({
    name,
    min: a.min[i] ?? -1,
    max: a.max[i] ?? 1,
    kind: a.kinds?.[i] ?? 'axis',
  }));
  return { channels };
}
