/**
 * A neural world as a FrameSource: keeps the model's context (last K latents and K actions) in
 * buffers allocated once, and each step samples the next latent and decodes it in one native call
 * (Model.step). The noise of step s of frame f comes from Philox(seed, f, s), so a seed plus an
 * action log replays the same world on the same backend.
 */
import type { Model } from './model.js';
import type { MemoryInput } from './model_memory.js';
import type { ActionSpace, Frame, FrameSource, StageTimes } from './source.js';
import { InvalidArgumentError } from './errors.js';
import { checkLightSetting, LightTracker, relightFrame, relightGain, type LightSetting, type LightState } from './lighting.js';
import { worldLayout, type LightPreset, type ObjectKind } from './world.js';
import { ObjectPainter } from './object_painter.js';
import { modelTickHz } from './tick_rate.js';
import { checkObjectKind, contextObjectViews, objectKindsOf, PLACE_DEPTH } from './object_placement.js';

/** Where a world starts: K RGB8 frames (oldest first) that are encoded into the context. */
export type OpeningProvider = (seed: number) => Promise<Uint8Array[]>;

export interface ModelWorldOptions {
  seed?: number;
  /** Euler steps per frame (1..8); default = the manifest's sampler.steps. */
  steps?: number;
  /** Supplies the opening frames on reset (e.g. the ground-truth world for that seed). */
  opening: OpeningProvider;
  label?: string;
  /**
   * Report per-step stage times (denoise<i>, sample, decode). Each is a backend sync: on CUDA the
   * frame then runs as one graph per step plus one for the decode instead of one graph. Default:
   * true on the CPU backend (a sync costs nothing there), false on CUDA, where the stage is
   * 'model_step' (the whole native call; not 'frame', which the profiler uses for the interval
   * between presented frames).
   */
  stepTimings?: boolean;
  /** The light presets the model's light event cycles through (default: the truth world's). */
  lightPresets?: readonly LightPreset[];
}

/** How far ahead an object placed now goes, from what the runtime knows of the walls (cells; see
 * placeDepth in src/object_placement.ts), or undefined when a wall leaves no room. */
export type PlacementDepthProvider = () => number | undefined;

/** Supplies the retrieved memory views for the frame with index `target` (memory models only). */
export type MemoryProvider = (target: number) => MemoryInput | undefined;

/**
 * Re-grounds frame `target` on a remembered view (src/memory/revisit_anchor.ts): the step's context
 * becomes K copies of `latent` with still actions, and `actions` (the bridge from that view's pose
 * to the frame's, one action per step, 1..MAX_BRIDGE_STEPS) replace the player's action. Every
 * bridge step but the last makes a context frame that is never shown (one Euler step each: the
 * manifest's second step, at σ_min, changes a latent by 0.5 % RMS: `worldloop eval sampler-steps`); the last makes
 * the frame. Memory slots stay empty for all of them. Called with the player's action for the
 * step, before the memory provider.
 */
export type AnchorProvider = (
  target: number,
  action: Float32Array,
  /** Most bridge steps this frame may take (the frame budget's share; MAX_BRIDGE_STEPS when unlimited). */
  maxSteps: number,
) => { latent: Float32Array; actions: readonly Float32Array[]; /** Frame index the view was stored at. */ viewTime: number } | undefined;

/** Most steps a bridge may take (src/memory/revisit_anchor.ts keeps to it). */
export const MAX_BRIDGE_STEPS = 8;

/** Largest frame budget a world takes (setEvalBudget) and a recording may name. */
export const MAX_EVAL_BUDGET = 64;

/**
 * Noise key of an anchored step: keyed by the remembered view (its frame index), not by the frame
 * being generated, so re-rendering the same view with the same bridge gives the same frame —
 * standing still in a remembered place does not shimmer with fresh noise every frame, and a
 * return to the exact pose shows exactly what was shown there. Bit 62 keeps these keys apart from
 * ordinary frame indices; the unshown frames of a longer bridge add (step << 48), so view frame
 * indices must stay below 2^48.
 */
export const ANCHOR_NOISE_BASE = 1n << 62n;
const BRIDGE_STEP_SHIFT = 48n;

/** Noise key (Philox frame) of bridge step `step` (1-based; the last step of any bridge is 0). */
export function anchorNoiseKey(viewTime: number, step = 0): bigint {
  return ANCHOR_NOISE_BASE + (BigInt(step) << BRIDGE_STEP_SHIFT) + BigInt(viewTime);
}

/** Serialisable state of a model world (context, counters) — for save files and tests. */
export interface ModelWorldState {
  seed: number;
  frameIndex: number;
  contextLatents: Float32Array;
  contextActions: Float32Array;
  /** The lighting the world is meant to show (absent in saves made before it was kept: the
   * opening's, preset 0). */
  light?: LightState;
}

export class ModelWorld implements FrameSource {
  readonly kind = 'model' as const;
  /** The tick the model was trained at (its manifest, src/tick_rate.ts). */
  readonly tickHz: number;
  readonly actionSpace: ActionSpace;
  readonly width: number;
  readonly height: number;
  readonly label: string;
  readonly steps: number;
  private readonly model: Model;
  private readonly opening: OpeningProvider;
  private readonly ctxLatents: Float32Array;
  private readonly ctxActions: Float32Array;
  private readonly seeds = new BigUint64Array(1);
  private readonly frames = new BigUint64Array(1);
  private readonly rgb: Uint8Array;
  private seed: number;
  private index = 0;
  private memory: MemoryProvider | undefined;
  private anchor: AnchorProvider | undefined;
  private readonly stepTimings: boolean;
  private readonly lights: LightTracker;
  private readonly lightChannel: number;
  /** setLight or placeObject ran since the last step: that step must not be anchored on a look
   * from before the change (the memory store learns of it only when the step finishes). */
  private edited = false;
  private readonly kinds: readonly ObjectKind[];
  /** Draws placed objects with a truth world of this world's seed (made on first use). */
  private painter: ObjectPainter | undefined;
  private placement: PlacementDepthProvider | undefined;
  /** Denoiser evaluations a frame may spend (setEvalBudget); 0 = no limit. */
  private evalBudget = 0;
  /** Longest bridge the anchor provider may return (setAnchorProvider). */
  private anchorMaxSteps = 1;
  /** Denoiser evaluations the last step spent (lastStepEvals). */
  private lastEvals = 0;

  constructor(model: Model, opts: ModelWorldOptions) {
    this.model = model;
    this.opening = opts.opening;
    this.actionSpace = model.actionSpace;
    this.width = model.dims.frameWidth;
    this.height = model.dims.frameHeight;
    this.steps = opts.steps ?? model.dims.defaultSteps;
    if (!Number.isInteger(this.steps) || this.steps < 1 || this.steps > 8) {
      throw new InvalidArgumentError(`steps must be an integer in 1..8, got ${this.steps}`);
    }
    this.seed = opts.seed ?? 1;
    this.stepTimings = opts.stepTimings ?? model.info.backend !== 'cuda';
    const k = model.dims.context;
    this.ctxLatents = new Float32Array(k * model.latentSize);
    this.ctxActions = new Float32Array(k * model.dims.actionDim);
    this.rgb = new Uint8Array(this.width * this.height * 3);
    this.label =
      opts.label ?? `${model.info.manifest.name} · ${model.info.backend} · ${this.steps} steps`;
    this.tickHz = modelTickHz(model.info.manifest);
    this.lights = new LightTracker(opts.lightPresets ?? worldLayout().lightPresets);
    this.lightChannel = this.actionSpace.channels.findIndex((c) => c.name === 'light' && c.kind === 'event');
    this.kinds = objectKindsOf(model.info.manifest, this.actionSpace);
  }

  /** Feeds retrieved memory views to the denoiser on every step (a model with memory slots). */
  setMemoryProvider(provider: MemoryProvider | undefined): void {
    if (provider && this.model.dims.memorySlots === 0) {
      throw new InvalidArgumentError('this model has no memory slots (manifest denoiser.memory)');
    }
    this.memory = provider;
  }

  /** Index of the newest frame (0 = the opening). */
  get frameIndex(): number {
    return this.index;
  }

  /** The newest context latent (the last frame's), as a view that the next step overwrites. */
  newestLatent(): Float32Array {
    const L = this.model.latentSize;
    return this.ctxLatents.subarray((this.model.dims.context - 1) * L);
  }

  /** Lets the runtime's knowledge of the walls decide how far ahead an object goes (default: 1
   * cell, always placed). */
  setPlacementDepthProvider(provider: PlacementDepthProvider | undefined): void {
    this.placement = provider;
  }

  /** Lets a remembered view re-ground the context on revisits (any model; see AnchorProvider).
   * `maxSteps`: the longest bridge the provider returns (what a frame can cost: fullEvals). */
  setAnchorProvider(provider: AnchorProvider | undefined, maxSteps = MAX_BRIDGE_STEPS): void {
    if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > MAX_BRIDGE_STEPS) {
      throw new InvalidArgumentError(`anchor: maxSteps must be an integer in 1..${MAX_BRIDGE_STEPS}; got ${maxSteps}`);
    }
    this.anchor = provider;
    this.anchorMaxSteps = provider ? maxSteps : 1;
  }

  /**
   * Denoiser evaluations each following frame may spend (src/loop/frame_budget.ts), 0 = no limit.
   * A frame spends its sampler steps plus one per bridge step beyond the first: under a budget an
   * anchored frame keeps a bridge of at most `budget` steps and samples with what is left (at
   * least one step, at most `steps`). Bridges come first because they hold a revisited place,
   * while a second sampler step moves the shipped model's frames by 0.01 dB (docs/status.md).
   */
  setEvalBudget(evals: number): void {
    if (!Number.isInteger(evals) || evals < 0 || evals > MAX_EVAL_BUDGET) {
      throw new InvalidArgumentError(`eval budget must be an integer in 0..${MAX_EVAL_BUDGET} (0 = no limit); got ${evals}`);
    }
    this.evalBudget = evals;
  }

  /** What a frame spends when nothing limits it: sampler steps plus the longest bridge's extra steps. */
  get fullEvals(): number {
    return this.steps + this.anchorMaxSteps - 1;
  }

  /** Denoiser evaluations the last step spent (bridge steps included). */
  lastStepEvals(): number {
    return this.lastEvals;
  }

  async reset(seed?: number): Promise<Frame> {
    if (seed !== undefined) this.seed = seed;
    const k = this.model.dims.context;
    const frames = await this.opening(this.seed);
    if (frames.length !== k) {
      throw new InvalidArgumentError(`opening gave ${frames.length} frames; the model needs ${k}`);
    }
    const L = this.model.latentSize;
    const need = this.width * this.height * 3;
    for (let i = 0; i < k; i++) {
      const f = frames[i]!;
      if (f.length !== need) {
        throw new InvalidArgumentError(
          `opening frame ${i} has ${f.length} bytes; expected ${this.width}x${this.height}x3 = ${need}`,
        );
      }
      const z = await this.model.encode(f);
      this.ctxLatents.set(z, i * L);
    }
    this.ctxActions.fill(0);
    this.index = 0;
    this.lights.reset();
    this.edited = false;
    this.rgb.set(frames[k - 1]!);
    return { width: this.width, height: this.height, rgb: this.rgb, index: 0 };
  }

  /** The lighting this world is meant to show: the opening's (preset 0), moved on by every light
   * event as the truth world's cycle does, and by setLight. */
  light(): LightState {
    return this.lights.state;
  }

  /**
   * Relights the world to `setting` (level and tint in [0, 1], as the truth world's set_light):
   * each context frame is decoded, multiplied per channel by new / current light (at most
   * MAX_RELIGHT_GAIN), and encoded again, so the model goes on from a world lit the new way; the
   * frame on screen is relit the same way. No step is taken and the frame index stays. Measured
   * on the default model against the truth world's set_light (docs/persistence.md).
   */
  async setLight(setting: LightSetting): Promise<Frame> {
    const to = checkLightSetting(setting.level, setting.tint, 'setLight');
    const gain = relightGain(this.lights.state, to);
    await this.editContext((rgb) => relightFrame(rgb, gain));
    relightFrame(this.rgb, gain);
    this.lights.set(to);
    this.edited = true;
    return { width: this.width, height: this.height, rgb: this.rgb, index: this.index };
  }

  /** The object kinds placeObject takes: the manifest's (src/object_placement.ts). */
  objectKinds(): readonly ObjectKind[] {
    return this.kinds;
  }

  /**
   * Places an object of `kind` ahead of the player: 1 cell (PLACE_DEPTH), or where the placement
   * depth provider says (a world opened from a seed knows its walls and places as the truth world
   * does: nearer when a wall is in the way, nothing when there is no room; `placed` says which).
   * Each context frame is decoded, the truth renderer draws the kind's sprite where the object
   * stands as seen from that frame (the pose worked back from the context actions), lit by the
   * tracked light, and the frame is encoded again; the frame on screen gets it too. No step is
   * taken. Measured against the truth world's spawn by `worldloop eval place-object` (docs/persistence.md).
   */
  async placeObject(kind: ObjectKind): Promise<{ frame: Frame; placed: boolean }> {
    checkObjectKind(kind, this.kinds, 'placeObject');
    const depth = this.placement ? this.placement() : PLACE_DEPTH;
    const shown = { width: this.width, height: this.height, rgb: this.rgb, index: this.index };
    if (depth === undefined) return { frame: shown, placed: false };
    if (!(depth > 0 && depth <= 16)) throw new InvalidArgumentError(`placeObject: depth ${depth} must be in (0, 16] cells`);
    this.painter ??= new ObjectPainter(this.width, this.height);
    const draw = this.painter.begin(this.seed, this.lights.state);
    const k = this.model.dims.context;
    const views = contextObjectViews(this.ctxActions, k, this.actionSpace, worldLayout().defaults, depth);
    let i = 0;
    await this.editContext((rgb) => draw(kind, views[i++]!, rgb));
    draw(kind, { depth, lateral: 0 }, this.rgb);
    this.edited = true;
    return { frame: shown, placed: true };
  }

  /** Decodes every context frame, edits it, and encodes it again; the context changes only once
   * all K are done, so a failure leaves the world as it was. */
  private async editContext(edit: (rgb: Uint8Array) => void): Promise<void> {
    const k = this.model.dims.context;
    const L = this.model.latentSize;
    const next = new Float32Array(k * L);
    for (let i = 0; i < k; i++) {
      const rgb = (await this.model.decode(this.ctxLatents.subarray(i * L, (i + 1) * L))).slice();
      edit(rgb);
      next.set(await this.model.encode(rgb), i * L);
    }
    this.ctxLatents.set(next);
  }

  async step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    const A = this.model.dims.actionDim;
    if (action.length !== A) {
      throw new InvalidArgumentError(`action has ${action.length} channels; the model takes ${A}`);
    }
    // As the truth world's step does (wl_world_step): a value outside its channel's range is
    // refused, not integrated into the context (and into the pose estimate after it).
    const channels = this.actionSpace.channels;
    for (let i = 0; i < A; i++) {
      const v = action[i]!;
      const c = channels[i]!;
      if (!(v >= c.min && v <= c.max)) {
        throw new InvalidArgumentError(`model world step: action[${i}] (${c.name}) = ${v} is ${Number.isFinite(v) ? 'outside' : 'not a finite number in'} [${c.min}, ${c.max}]`);
      }
    }
    const k = this.model.dims.context;
    const L = this.model.latentSize;
    const budget = this.evalBudget;
    const anchor = this.edited ? undefined : this.anchor?.(this.index + 1, action, budget > 0 ? Math.min(budget, MAX_BRIDGE_STEPS) : MAX_BRIDGE_STEPS);
    this.edited = false;
    const t0 = performance.now();
    this.seeds[0] = BigInt(this.seed);
    if (anchor) {
      const n = anchor.actions.length;
      if (n < 1 || n > MAX_BRIDGE_STEPS) throw new InvalidArgumentError(`anchor: a bridge takes 1..${MAX_BRIDGE_STEPS} steps; got ${n}`);
      if (budget > 0 && n > budget) throw new InvalidArgumentError(`anchor: a bridge of ${n} steps is over the frame's budget of ${budget} evaluations`);
      if (anchor.latent.length !== L || anchor.actions.some((a) => a.length !== A)) {
        throw new InvalidArgumentError(`anchor: latent/actions have ${anchor.latent.length}/${anchor.actions.map((a) => a.length).join(',')} values; the model takes ${L}/${A}`);
      }
      if (!Number.isSafeInteger(anchor.viewTime) || anchor.viewTime < 0 || anchor.viewTime >= 2 ** 48) {
        throw new InvalidArgumentError(`anchor: viewTime must be a frame index below 2^48; got ${anchor.viewTime}`);
      }
      // As a world opens: the remembered view held still for K frames, then the bridge, step by
      // step; the frames between are context only.
      for (let i = 0; i < k; i++) this.ctxLatents.set(anchor.latent, i * L);
      this.ctxActions.fill(0);
      for (let j = 0; j < n; j++) {
        this.ctxActions.copyWithin(0, A);
        this.ctxActions.set(anchor.actions[j]!, (k - 1) * A);
        if (j === n - 1) break;
        this.frames[0] = anchorNoiseKey(anchor.viewTime, j + 1);
        const z = await this.model.sample({
          contextLatents: this.ctxLatents,
          contextActions: this.ctxActions,
          steps: 1,
          seeds: this.seeds,
          frames: this.frames,
        });
        this.ctxLatents.copyWithin(0, L);
        this.ctxLatents.set(z, (k - 1) * L);
      }
    } else {
      // Newest action goes last: it leads from the newest context frame to the one generated now.
      this.ctxActions.copyWithin(0, A);
      this.ctxActions.set(action, (k - 1) * A);
    }
    this.frames[0] = anchor ? anchorNoiseKey(anchor.viewTime) : BigInt(this.index + 1);
    // An anchored step is a re-opening from the remembered view, and an opening has no memory
    // views (nor did training's first frames); views stored after a long walk are drifted haze
    // that pulls the frame away from the anchor (measured: docs/persistence.md).
    const memory = anchor ? undefined : this.memory?.(this.index + 1);
    const bridgeExtra = anchor ? anchor.actions.length - 1 : 0;
    const steps = budget > 0 ? Math.max(1, Math.min(this.steps, budget - bridgeExtra)) : this.steps;
    // One native call per frame: the sampler and the decode of its latent.
    const { latent, rgb } = await this.model.step({
      contextLatents: this.ctxLatents,
      contextActions: this.ctxActions,
      steps,
      seeds: this.seeds,
      frames: this.frames,
      ...(memory ? { memory } : {}),
      timings: this.stepTimings,
    });
    const total = performance.now() - t0;
    this.ctxLatents.copyWithin(0, L);
    this.ctxLatents.set(latent, (k - 1) * L);
    this.rgb.set(rgb);
    this.index++;
    this.lastEvals = bridgeExtra + steps;
    // After the step succeeded: a failed step leaves the tracked light as it was.
    if (this.lightChannel >= 0 && action[this.lightChannel]! >= 0.5) this.lights.cycle();
    const stages: StageTimes = {};
    if (this.stepTimings) {
      const stepMs = this.model.lastStepMs(steps);
      stepMs.forEach((ms, i) => (stages[`denoise${i}`] = ms));
      // The engine times the decode inside the call; the rest of the call is the sampling.
      const decodeMs = this.model.lastDecodeMs(steps);
      stages.sample = Math.max(0, total - decodeMs);
      stages.decode = decodeMs;
    } else {
      stages.model_step = total;
    }
    return {
      frame: { width: this.width, height: this.height, rgb: this.rgb, index: this.index },
      stages,
    };
  }

  pose(): undefined {
    return undefined;
  }

  /** A copy of the state (context + counters) that restore() accepts. */
  state(): ModelWorldState {
    return {
      seed: this.seed,
      frameIndex: this.index,
      contextLatents: this.ctxLatents.slice(),
      contextActions: this.ctxActions.slice(),
      light: this.lights.state,
    };
  }

  restore(s: ModelWorldState): void {
    if (s.contextLatents.length !== this.ctxLatents.length || s.contextActions.length !== this.ctxActions.length) {
      throw new InvalidArgumentError('state does not match this model\'s context size');
    }
    // First: it validates, and a bad light state must leave the world untouched.
    if (s.light) this.lights.restore(s.light);
    else this.lights.reset();
    this.seed = s.seed;
    this.index = s.frameIndex;
    this.ctxLatents.set(s.contextLatents);
    this.ctxActions.set(s.contextActions);
  }

  close(): void {
    // The model is owned by the caller (one model can serve several worlds).
    this.painter?.close();
    this.painter = undefined;
  }
}
