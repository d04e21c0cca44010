/**
 * The page's world: src/model_world.ts's ModelWorld for a WebModel, without the runtime around it
 * (memory, anchoring). It keeps the context ring (K latents and K actions,
 * oldest first), opens from K RGB frames (the truth world's first frames for the seed, which the
 * server renders: /opening), and each step shifts the ring, puts the new action last and samples
 * with the engine's noise keys (Philox(seed, frame index, step)), so the same seed and actions
 * give the engine's frames up to the backend's rounding. It tracks the light as ModelWorld does and
 * relights the same way (setLight: decode the context, multiply, encode again). It places objects
 * as ModelWorld does (placeObject), with the truth renderer on the server painting the decoded
 * frames (POST /place). No DOM: Node tests run it on the JS backend against ModelWorld.
 */
import { checkLightSetting, LightTracker, relightFrame, relightGain, type LightPreset, type LightSetting, type LightState } from '../../lighting.js';
import type { MotionSpeeds } from '../../memory/pose_tracker.js';
import type { ObjectKind } from '../../object_kind.js';
import { checkObjectKind, contextObjectViews, listedObjectKinds, type ManifestObjects, objectKindsFrom, PLACE_DEPTH } from '../../object_placement.js';
import type { ActionSpace } from '../../source.js';
import type { WebModel } from '../web_model.js';
import type { PlaceRequest } from './place_request.js';

/** Paints a placed object into the request's frames (the server's POST /place: requestPlacement);
 * resolves to the painted frames in the same layout. */
export type ObjectPaint = (r: PlaceRequest) => Promise<Uint8Array>;

export interface PageFrame {
  width: number;
  height: number;
  /** RGB8 [H, W, 3]; a fresh array per frame. */
  rgb: Uint8Array;
  /** 0 = the opening's last frame. */
  index: number;
}

/** The action space a model declares in its manifest, as src/model.ts's actionSpaceOf reads it. */
export function manifestActionSpace(model: WebModel): ActionSpace {
  const a = model.manifest.actions;
  return {
    channels: a.names.map((name, i) => ({ name, min: a.min[i] ?? -1, max: a.max[i] ?? 1, kind: a.kinds[i] ?? 'axis' })),
  };
}

export class PageWorld {
  readonly actionSpace: ActionSpace;
  readonly steps: number;
  readonly width: number;
  readonly height: number;
  private readonly ctxLatents: Float32Array;
  private readonly ctxActions: Float32Array;
  private readonly latentSize: number;
  private seedValue = 1;
  private index = 0;
  private opened = false;
  private lastRgb: Uint8Array | undefined;
  private readonly lights: LightTracker | undefined;
  private readonly lightChannel: number;
  private readonly speeds: MotionSpeeds | undefined;
  private readonly kinds: readonly ObjectKind[];
  /** Wall ms of each stage of the last step: denoise0..N-1 and decode. */
  lastStageMs: number[] = [];

  constructor(
    private readonly model: WebModel,
    /** lightPresets: the truth world's (what /world.json sends); without them no setLight.
     * motionSpeeds: the truth world's (also /world.json); placeObject needs them and the presets. */
    opts: { steps?: number; lightPresets?: readonly LightPreset[]; motionSpeeds?: MotionSpeeds } = {},
  ) {
    const d = model.dims;
    this.steps = opts.steps ?? d.defaultSteps;
    if (!Number.isInteger(this.steps) || this.steps < 1 || this.steps > 8) throw new RangeError(`steps must be an integer in 1..8, got ${this.steps}`);
    this.actionSpace = manifestActionSpace(model);
    this.width = d.frameWidth;
    this.height = d.frameHeight;
    this.latentSize = d.latentChannels * d.latentHeight * d.latentWidth;
    this.ctxLatents = new Float32Array(d.context * this.latentSize);
    this.ctxActions = new Float32Array(d.context * d.actionDim);
    this.lights = opts.lightPresets && opts.lightPresets.length > 0 ? new LightTracker(opts.lightPresets) : undefined;
    this.lightChannel = this.actionSpace.channels.findIndex((c) => c.name === 'light' && c.kind === 'event');
    this.speeds = opts.motionSpeeds;
    // As ModelWorld's objectKindsOf: whether the manifest lists kinds is in its text.
    this.kinds = objectKindsFrom(listedObjectKinds(JSON.parse(model.manifest.sourceJson) as ManifestObjects), this.actionSpace);
  }

  /** The object kinds placeObject takes (ModelWorld.objectKinds); none without presets and speeds. */
  objectKinds(): readonly ObjectKind[] {
    return this.lights && this.speeds ? this.kinds : [];
  }

  /**
   * Places an object of `kind` PLACE_DEPTH (1 cell) ahead, as ModelWorld.placeObject does in a
   * world without a placement-depth provider (the page knows no walls): the K context frames are
   * decoded, `paint` (the server's truth renderer) draws the kind's sprite into each where the
   * object stands as seen from it (contextObjectViews, from the context actions) and into the
   * shown frame, lit by the tracked light; the context frames are encoded again. The context
   * changes only once all is done, so a failure leaves the world as it was. No step is taken.
   */
  async placeObject(kind: ObjectKind, paint: ObjectPaint): Promise<PageFrame> {
    if (!this.opened || !this.lastRgb) throw new Error('PageWorld.placeObject: open() the world first');
    if (!this.lights || !this.speeds) throw new Error('PageWorld.placeObject: no light presets or motion speeds were given');
    checkObjectKind(kind, this.kinds, 'placeObject');
    const k = this.model.dims.context;
    const L = this.latentSize;
    const per = this.width * this.height * 3;
    const views = contextObjectViews(this.ctxActions, k, this.actionSpace, this.speeds, PLACE_DEPTH);
    const frames = new Uint8Array((k + 1) * per);
    for (let i = 0; i < k; i++) frames.set(await this.model.decode(this.ctxLatents.subarray(i * L, (i + 1) * L)), i * per);
    frames.set(this.lastRgb, k * per);
    const l = this.lights.state;
    const painted = await paint({
      kind, seed: this.seedValue, width: this.width, height: this.height, light: { level: l.level, tint: [...l.tint] },
      views: [...views, { depth: PLACE_DEPTH, lateral: 0 }], frames,
    });
    if (painted.length !== frames.length) throw new Error(`placeObject: the painter gave ${painted.length} bytes; expected ${frames.length}`);
    const next = new Float32Array(k * L);
    for (let i = 0; i < k; i++) next.set(await this.model.encode(painted.subarray(i * per, (i + 1) * per)), i * L);
    this.ctxLatents.set(next);
    this.lastRgb = painted.slice(k * per);
    return { width: this.width, height: this.height, rgb: this.lastRgb.slice(), index: this.index };
  }

  /** Whether setLight works (the light presets were given). */
  get canSetLight(): boolean {
    return this.lights !== undefined;
  }

  /** The lighting the world is meant to show (ModelWorld.light()); undefined without presets. */
  light(): LightState | undefined {
    return this.lights?.state;
  }

  /**
   * Relights the world as ModelWorld.setLight does: each context frame is decoded, multiplied per
   * channel by new / current light, and encoded again; the shown frame is relit the same way and
   * returned. No step is taken.
   */
  async setLight(setting: LightSetting): Promise<PageFrame> {
    if (!this.lights) throw new Error('PageWorld.setLight: no light presets were given');
    if (!this.opened || !this.lastRgb) throw new Error('PageWorld.setLight: open() the world first');
    const to = checkLightSetting(setting.level, setting.tint, 'setLight');
    const gain = relightGain(this.lights.state, to);
    const k = this.model.dims.context;
    const L = this.latentSize;
    const next = new Float32Array(k * L);
    for (let i = 0; i < k; i++) {
      const rgb = await this.model.decode(this.ctxLatents.subarray(i * L, (i + 1) * L));
      relightFrame(rgb, gain);
      next.set(await this.model.encode(rgb), i * L);
    }
    this.ctxLatents.set(next);
    relightFrame(this.lastRgb, gain);
    this.lights.set(to);
    return { width: this.width, height: this.height, rgb: this.lastRgb.slice(), index: this.index };
  }

  get seed(): number {
    return this.seedValue;
  }

  get frameIndex(): number {
    return this.index;
  }

  /** Bytes of the K opening frames the model needs (what /opening serves). */
  openingBytes(): number {
    return this.model.dims.context * this.width * this.height * 3;
  }

  /** Starts the world for `seed` from K RGB frames, oldest first, packed one after another. */
  async open(seed: number, opening: Uint8Array): Promise<PageFrame> {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in 0..2^32-1, got ${seed}`);
    const k = this.model.dims.context;
    const per = this.width * this.height * 3;
    if (opening.length !== k * per) {
      throw new RangeError(`the opening has ${opening.length} bytes; the model needs ${k} frames of ${this.width}x${this.height}x3 = ${k * per}`);
    }
    const latents = new Float32Array(this.ctxLatents.length);
    for (let i = 0; i < k; i++) latents.set(await this.model.encode(opening.subarray(i * per, (i + 1) * per)), i * this.latentSize);
    this.ctxLatents.set(latents);
    this.ctxActions.fill(0);
    this.seedValue = seed;
    this.index = 0;
    this.opened = true;
    this.lights?.reset();
    this.lastRgb = opening.slice((k - 1) * per);
    return { width: this.width, height: this.height, rgb: this.lastRgb.slice(), index: 0 };
  }

  /** One tick: the action leads from the newest context frame to the frame made now. */
  async step(action: Float32Array, timed = true): Promise<PageFrame> {
    if (!this.opened) throw new Error('PageWorld.step: open() the world first');
    const A = this.model.dims.actionDim;
    if (action.length !== A) throw new RangeError(`action has ${action.length} channels; the model takes ${A}`);
    this.actionSpace.channels.forEach((c, i) => {
      const v = action[i]!;
      if (!(v >= c.min && v <= c.max)) throw new RangeError(`action[${i}] (${c.name}) = ${v} is outside [${c.min}, ${c.max}]`);
    });
    const k = this.model.dims.context;
    const L = this.latentSize;
    const actions = this.ctxActions.slice();
    actions.copyWithin(0, A);
    actions.set(action, (k - 1) * A);
    // The engine's noise key: (seed, index of the frame being made, step).
    const out = await this.model.step(this.ctxLatents, actions, BigInt(this.seedValue), BigInt(this.index + 1), this.steps, timed);
    // Only after the step succeeded: a failed step leaves the world as it was.
    this.ctxActions.set(actions);
    this.ctxLatents.copyWithin(0, L);
    this.ctxLatents.set(out.latent, (k - 1) * L);
    this.index++;
    this.lastStageMs = out.stageMs;
    this.lastRgb = out.rgb.slice();
    if (this.lights && this.lightChannel >= 0 && action[this.lightChannel]! >= 0.5) this.lights.cycle();
    return { width: this.width, height: this.height, rgb: out.rgb, index: this.index };
  }
}
