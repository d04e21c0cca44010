/**
 * What the game loop drives: a source of frames that responds to actions. Both the ground-truth
 * world (world.ts, "truth") and a neural world model (model_world.ts, "play") implement it, so
 * the loop, recorder, profiler and CLI treat them alike.
 */
import type { LightSetting, LightState } from './lighting.js';
import type { ObjectKind } from './object_kind.js';

/** Changes made to a world just before a step (after any reset): the light set, then an object
 * placed (only when it was: a placement a wall left no room for changed nothing). Recorded with
 * the step, so replays make them again. */
export interface WorldEdits {
  light?: LightSetting;
  place?: ObjectKind;
  /** The denoiser evaluations each frame may spend from this step on (src/loop/frame_budget.ts;
   * 0 = no limit): not an edit of the world's content, but what a replay must set to match. */
  evalBudget?: number;
}

/** One continuous action axis or discrete event channel of an action vector. */
export interface ActionChannel {
  name: string; // e.g. "move", "strafe", "turn", "light", "spawn"
  min: number;
  max: number;
  /** 'axis' = held continuous control; 'event' = one-frame trigger (0 or 1). */
  kind: 'axis' | 'event';
}

/** The action vector a source consumes, in order; published as data by the world or model. */
export interface ActionSpace {
  channels: ActionChannel[];
}

/** Indices of the channels that are one-frame events (light, spawn). */
export function eventChannels(space: ActionSpace): number[] {
  return space.channels.flatMap((c, i) => (c.kind === 'event' ? [i] : []));
}

/** A frame ready to present: RGB8, row-major, `width*height*3` bytes. A view that the source
 * may overwrite on its next step: copy it if you need to keep it. */
export interface Frame {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** Index of this frame since reset (0 = the first frame after reset). */
  index: number;
}

/** Per-step timings in milliseconds, by stage name (e.g. "denoise0", "denoise1", "decode"). */
export type StageTimes = Record<string, number>;

export interface FrameSource {
  readonly kind: 'truth' | 'model';
  readonly actionSpace: ActionSpace;
  readonly width: number;
  readonly height: number;
  /** Human-readable description for the HUD (backend, model name, seed). */
  readonly label: string;
  /** Steps per second of this world's own time (src/tick_rate.ts); absent = the truth world's 30. */
  readonly tickHz?: number;
  /** Restart from the seed. Returns the first frame. */
  reset(seed?: number): Promise<Frame>;
  /** Advance one tick with this action vector (length = actionSpace.channels.length). */
  step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }>;
  /** Model worlds: denoiser evaluations each frame may spend from now on, 0 = no limit
   * (ModelWorld.setEvalBudget). */
  setEvalBudget?(evals: number): void;
  /** Model worlds: evaluations the last step spent, and what a frame spends with no limit. */
  lastStepEvals?(): number;
  readonly fullEvals?: number;
  /** Current pose when the source knows it (truth world), else undefined. */
  pose(): { x: number; y: number; yaw: number } | undefined;
  /** The global light the world shows (truth: its renderer's; model: tracked, src/lighting.ts). */
  light?(): LightState;
  /** Sets the global light (level, tint in [0, 1]) without a step; resolves to the relit frame. */
  setLight?(setting: LightSetting): Promise<Frame>;
  /** The object kinds placeObject takes (truth: all; model: its manifest's, src/object_placement.ts). */
  objectKinds?(): readonly ObjectKind[];
  /** Places an object of `kind` 1 cell in front of the player without a step; resolves to the
   * frame that shows it (`placed` false when the world found no room). */
  placeObject?(kind: ObjectKind): Promise<{ frame: Frame; placed: boolean }>;
  close(): void;
}
