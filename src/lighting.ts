/**
 * Global lighting as the ground-truth world defines it (native/world/lighting.h): a level and an
 * RGB tint that multiply the lit colours, six named presets that the "light" event cycles through,
 * and `set_light(level, tint)` for any other setting.
 *
 * A model world has no renderer to tell. Its light event is learned (the model was trained on the
 * world's cycle); a chosen level and tint is applied by relighting the model's context: the K
 * context frames are decoded, multiplied per channel by new / current light, and encoded again,
 * so the model continues from a world lit the new way. For that the model world tracks the
 * lighting it is meant to show with the same rules as the truth world (LightTracker).
 */
import { FormatError, InvalidArgumentError } from './errors.js';

export type Tint = [number, number, number];

/** One of the world's named light settings (published in its layout, cycled by the light event). */
export interface LightPreset {
  name: string;
  level: number;
  tint: Tint;
}

export interface LightSetting {
  level: number;
  tint: Tint;
}

/** The lighting a world is meant to show; `preset` = index of the last preset the light event
 * applied, -1 after a custom setting (so the next light event starts the cycle again at 0). */
export interface LightState extends LightSetting {
  preset: number;
}

/** Tints the tint key (T) steps through, white first. */
export const KEY_TINTS: readonly Tint[] = [
  [1, 1, 1],
  [1, 0.8, 0.55],
  [0.55, 0.65, 1],
  [0.85, 0.6, 0.8],
  [1, 0.35, 0.3],
  [0.6, 1, 0.5],
];
/** Level change per press of the level keys, and the lowest level they go to: a model world
 * relights by ratios, and from a black frame no ratio brings the picture back. */
export const KEY_LEVEL_STEP = 0.1;
export const KEY_LEVEL_MIN = 0.1;
/** Largest per-channel gain one relight applies (darker to brighter saturates long before). */
export const MAX_RELIGHT_GAIN = 10;

/** Checks a level and tint as set_light does ([0, 1] each); `where` names the caller. */
export function checkLightSetting(level: number, tint: readonly number[], where: string): LightSetting {
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
  if (!ok(level)) throw new InvalidArgumentError(`${where}: light level must be a number in [0, 1], got ${level}`);
  if (!Array.isArray(tint) || tint.length !== 3 || !tint.every(ok)) {
    throw new InvalidArgumentError(`${where}: tint must be three numbers in [0, 1], got ${JSON.stringify(tint)}`);
  }
  return { level, tint: [tint[0]!, tint[1]!, tint[2]!] };
}

/** `{"level": 0..1, "tint": [r, g, b] in 0..1}` from a script (tint optional, default white);
 * a FormatError naming `where` otherwise. Action scripts and world scripts share it. */
export function parseLightSetting(v: unknown, where: string): LightSetting {
  const l = v as { level?: unknown; tint?: unknown } | null;
  if (typeof l !== 'object' || l === null || Array.isArray(l) || Object.keys(l).some((k) => k !== 'level' && k !== 'tint')) {
    throw new FormatError(`${where} must be {"level": 0..1, "tint": [r, g, b] in 0..1} (tint optional, default white)`);
  }
  try {
    return checkLightSetting(l.level as number, (l.tint ?? [1, 1, 1]) as number[], where);
  } catch (err) {
    throw new FormatError((err as Error).message);
  }
}

/** A light state from untrusted data (a save file), checked; `presets` = how many there are. */
export function checkLightState(v: unknown, presets: number, where: string): LightState {
  const o = v as Partial<LightState> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InvalidArgumentError(`${where} must be {level, tint, preset}`);
  const { level, tint } = checkLightSetting(o.level as number, o.tint as number[], where);
  const preset = o.preset;
  if (typeof preset !== 'number' || !Number.isInteger(preset) || preset < -1 || preset >= presets) {
    throw new InvalidArgumentError(`${where}: preset must be an integer in [-1, ${presets - 1}], got ${JSON.stringify(preset)}`);
  }
  return { level, tint, preset };
}

/** Mirrors the truth world's light rules: starts at preset 0, the event cycles, set() leaves the
 * cycle (preset -1). */
export class LightTracker {
  private s: LightState;

  constructor(private readonly presets: readonly LightPreset[], initial?: LightState) {
    if (presets.length === 0) throw new InvalidArgumentError('LightTracker: no light presets');
    this.s = initial ? copyState(initial) : fromPreset(presets, 0);
  }

  get state(): LightState {
    return copyState(this.s);
  }

  /** The light event: the next preset, as native World::step does. */
  cycle(): void {
    this.s = fromPreset(this.presets, this.s.preset < 0 ? 0 : (this.s.preset + 1) % this.presets.length);
  }

  set(setting: LightSetting): void {
    this.s = { level: setting.level, tint: [...setting.tint], preset: -1 };
  }

  restore(state: LightState): void {
    this.s = checkLightState(state, this.presets.length, 'light state');
  }

  reset(): void {
    this.s = fromPreset(this.presets, 0);
  }
}

/** Per-channel factor that takes colours lit by `from` to colours lit by `to` (capped). */
export function relightGain(from: LightSetting, to: LightSetting): Tint {
  const g = (c: 0 | 1 | 2) => {
    const num = to.level * to.tint[c];
    const den = from.level * from.tint[c];
    if (den <= 0) return num <= 0 ? 1 : MAX_RELIGHT_GAIN;
    return Math.min(MAX_RELIGHT_GAIN, num / den);
  };
  return [g(0), g(1), g(2)];
}

/** Multiplies an RGB8 frame by a per-channel gain in place (rounded, clamped to 0..255). */
export function relightFrame(rgb: Uint8Array, gain: Tint): void {
  for (let i = 0; i < rgb.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(rgb[i + c]! * gain[c as 0 | 1 | 2]);
      rgb[i + c] = v > 255 ? 255 : v;
    }
  }
}

/** The runtime commands that change the light (bound to ], [ and T by default). */
export type LightKey = 'lightUp' | 'lightDown' | 'tintNext';

/** The setting the level keys ([ and ]) and the tint key (T) make from the current one. */
export function keyLightSetting(current: LightSetting, key: LightKey): LightSetting {
  if (key === 'tintNext') {
    const i = KEY_TINTS.findIndex((t) => t.every((v, c) => Math.abs(v - current.tint[c]!) < 1e-6));
    return { level: current.level, tint: [...KEY_TINTS[(i + 1) % KEY_TINTS.length]!] };
  }
  const step = key === 'lightUp' ? KEY_LEVEL_STEP : -KEY_LEVEL_STEP;
  // Rounded to the step grid so repeated presses land on 0.1, 0.2, ... whatever the start.
  const level = Math.round(Math.min(1, Math.max(KEY_LEVEL_MIN, current.level + step)) * 100) / 100;
  return { level, tint: [...current.tint] };
}

function fromPreset(presets: readonly LightPreset[], i: number): LightState {
  const p = presets[i]!;
  return { level: p.level, tint: [p.tint[0], p.tint[1], p.tint[2]], preset: i };
}

function copyState(s: LightState): LightState {
  return { level: s.level, tint: [s.tint[0], s.tint[1], s.tint[2]], preset: s.preset };
}
