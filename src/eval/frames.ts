/**
 * What the quality evaluations (`worldloop eval revisit`, `anchor-play`, `near-return`, `relight`,
 * `place-object`) share: model frames made by the world play builds (model world, pose tracker,
 * memory store, memory slots, revisit anchoring — openWorld, src/play/open_world.ts), driven by
 * the game loop in lockstep under a fixed list of truth-world actions; the truth world's frames
 * for the same actions; and the image measures of the training eval (PSNR, sharpness).
 */
import { World, worldLayout, type ObjectKind } from '../world.js';
import type { Model } from '../model.js';
import { GameLoop } from '../loop/game_loop.js';
import { ScriptInput } from '../input/script_input.js';
import { openWorld } from '../play/open_world.js';
import type { AnchorConfig } from '../memory/revisit_anchor.js';
import type { LightSetting } from '../lighting.js';

export type Act = Float32Array;

/** Mean of a list (0 for an empty one) and rounding to 2 decimals, for result lines. */
export const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
export const round2 = (v: number): number => Math.round(v * 100) / 100;

export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / Math.max(se / a.length, 1e-10));
}

/** Mean of an RGB8 frame's bytes (brightness, 0..255). */
export function meanLevel(rgb: Uint8Array): number {
  let s = 0;
  for (const v of rgb) s += v;
  return s / rgb.length;
}

/** Mean image-gradient magnitude (train/metrics.py sharpness, on 0..255 RGB). */
export function sharpness(rgb: Uint8Array, w: number, h: number): number {
  let sum = 0;
  for (let y = 0; y < h - 1; y++)
    for (let x = 0; x < w - 1; x++)
      for (let c = 0; c < 3; c++) {
        const v = rgb[(y * w + x) * 3 + c]!;
        const dx = rgb[(y * w + x + 1) * 3 + c]! - v;
        const dy = rgb[((y + 1) * w + x) * 3 + c]! - v;
        sum += Math.sqrt(dx * dx + dy * dy);
      }
  return sum / ((h - 1) * (w - 1) * 3);
}

/** Byte offsets of the object's pixels: where the truth frame with the object differs from the
 * one without it by more than 30 levels summed over RGB. */
function objectPixels(truthWith: Uint8Array, truthWithout: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < truthWith.length; p += 3) {
    let diff = 0;
    for (let c = 0; c < 3; c++) diff += Math.abs(truthWith[p + c]! - truthWithout[p + c]!);
    if (diff > 30) out.push(p);
  }
  return out;
}

/** Squared error of `frame` against `truth` over the given pixels (byte offsets, RGB). */
function pixelError(frame: Uint8Array, truth: Uint8Array, pixels: number[]): number {
  let se = 0;
  for (const p of pixels) for (let c = 0; c < 3; c++) se += (frame[p + c]! - truth[p + c]!) ** 2;
  return se;
}

/**
 * Is a spawned object recognisable in a model frame? On the object's pixels (objectPixels), the
 * model's frame after the spawn event must be closer to the truth-with-object than the model's
 * frame of the same loop without the event is. Undefined when the object is not in view.
 */
export function objectKept(modelWith: Uint8Array, modelWithout: Uint8Array, truthWith: Uint8Array, truthWithout: Uint8Array): boolean | undefined {
  const px = objectPixels(truthWith, truthWithout);
  return px.length === 0 ? undefined : pixelError(modelWith, truthWith, px) < pixelError(modelWithout, truthWith, px);
}

/** PSNR of `model` against `truthWith` on the object's pixels only (objectPixels); undefined when
 * the object is not in view. */
export function objectPsnr(model: Uint8Array, truthWith: Uint8Array, truthWithout: Uint8Array): number | undefined {
  const px = objectPixels(truthWith, truthWithout);
  if (px.length === 0) return undefined;
  return 10 * Math.log10((255 * 255) / Math.max(pixelError(model, truthWith, px) / (px.length * 3), 1e-10));
}

/**
 * The horizontal image shift from frame `a` to frame `b` in whole pixels (+ = content moved
 * right), by the smallest mean squared luminance difference over shifts up to `maxShift`: what a
 * turn does to the picture. The sign is what action following is judged on (as the training
 * eval's phase correlation is); frames that are all one colour give 0.
 */
export function horizontalShift(a: Uint8Array, b: Uint8Array, w: number, h: number, maxShift = 16): number {
  const lum = (f: Uint8Array) => {
    const out = new Float32Array(w * h);
    for (let i = 0; i < w * h; i++) out[i] = 0.299 * f[i * 3]! + 0.587 * f[i * 3 + 1]! + 0.114 * f[i * 3 + 2]!;
    return out;
  };
  const la = lum(a);
  const lb = lum(b);
  let best = 0;
  let bestErr = Infinity;
  for (let s = -maxShift; s <= maxShift; s++) {
    let err = 0;
    const x0 = Math.max(0, -s);
    const x1 = Math.min(w, w - s);
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let x = x0; x < x1; x++) {
        const d = la[row + x]! - lb[row + x + s]!;
        err += d * d;
      }
    }
    err /= (x1 - x0) * h;
    // Ties (a flat frame) go to the smallest shift.
    if (err < bestErr - 1e-9 || (Math.abs(err - bestErr) <= 1e-9 && Math.abs(s) < Math.abs(best))) {
      bestErr = err;
      best = s;
    }
  }
  return best;
}

/** A turning step of a loop: frame `i` follows a turn (|turn| ≥ 0.5) that shifted truth's picture
 * by `shift` pixels (at least one). */
export interface TurnStep {
  i: number;
  shift: number;
}

/** The turning steps of a loop, measured once on the truth frames (frame i follows action i - 1). */
export function turnSteps(truth: Uint8Array[], acts: Act[], w: number, h: number): TurnStep[] {
  const turn = worldLayout().channels.findIndex((c) => c.name === 'turn');
  const steps: TurnStep[] = [];
  for (let i = 1; i < truth.length && i <= acts.length; i++) {
    if (Math.abs(acts[i - 1]![turn]!) < 0.5) continue;
    const shift = horizontalShift(truth[i - 1]!, truth[i]!, w, h);
    if (Math.abs(shift) >= 1) steps.push({ i, shift });
  }
  return steps;
}

/** Turn direction agreement: at how many of the turning steps does the model's picture shift
 * the same way as truth's? */
export function turnAgreement(model: Uint8Array[], steps: readonly TurnStep[], w: number, h: number): { agree: number; total: number } {
  let agree = 0;
  for (const { i, shift } of steps) {
    if (Math.sign(horizontalShift(model[i - 1]!, model[i]!, w, h)) === Math.sign(shift)) agree++;
  }
  return { agree, total: steps.length };
}

/** Truth frames for the whole loop (index 0 = the opening's last frame); `place` puts an object
 * in front of the player before action `step` (0-based), as a script's place does. */
export function truthFrames(
  seed: number,
  k: number,
  acts: Act[],
  width: number,
  height: number,
  place?: { step: number; kind: ObjectKind },
): Uint8Array[] {
  const w = new World(seed, { width, height });
  try {
    const still = new Float32Array(acts[0]!.length);
    for (let i = 0; i < k - 1; i++) w.step(still); // the opening stands still K-1 ticks
    const frames = [w.rgb.slice()];
    for (const [i, a] of acts.entries()) {
      if (place?.step === i) w.spawn(place.kind);
      w.step(a);
      frames.push(w.rgb.slice());
    }
    return frames;
  } finally {
    w.close();
  }
}

/** How a loop's model frames are made: the plain model; its memory slots fed retrieved views;
 * or everything play does (memory slots when the model has them, plus revisit anchoring). */
export type Mode = 'plain' | 'memory' | 'anchor';

export async function modelFrames(
  model: Model,
  sourceId: string,
  seed: number,
  acts: Act[],
  mode: Mode,
  opts: {
    /** Revisit anchoring settings for the 'anchor' mode (default: play's). */
    anchorConfig?: Partial<AnchorConfig>;
    /** Set the light to `setting` before action `step` (0-based), as a script's setLight does. */
    light?: { step: number; setting: LightSetting };
    /** Place an object of `kind` before action `step` (after any light), as a script's place does. */
    place?: { step: number; kind: ObjectKind };
    /** Every frame spends at most this many denoiser evaluations, as under play's frame budget
     * on a machine too slow for the full frame (src/loop/frame_budget.ts; 0 / absent = no limit). */
    evalBudget?: number;
  } = {},
): Promise<{ frames: Uint8Array[]; anchored: number; anchoredAt: boolean[] }> {
  const d = model.dims;
  // Loops are truth-world action vectors; the model takes its own channels, matched by name.
  const world = worldLayout().channels.map((c) => c.name);
  const pick = model.actionSpace.channels.map((c) => {
    const i = world.indexOf(c.name);
    if (i < 0) throw new Error(`model action channel '${c.name}' is not one of the world's (${world.join(', ')})`);
    return i;
  });
  // The world play runs (openWorld, on the caller's model): pose tracker with the seed's walls,
  // memory store and observers; only the switches differ between the modes.
  const pw = await openWorld({
    kind: 'model',
    model: { model, sourceId },
    seed,
    memorySlots: mode !== 'plain',
    anchor: mode === 'anchor' ? (opts.anchorConfig ?? true) : false,
  });
  // Driven by the game loop in lockstep, as headless play is: observers, resets and all.
  const frames: Uint8Array[] = [];
  const anchoredAt: boolean[] = [];
  let counted = 0;
  const steps = acts.map((act, i) => {
    const a = new Float32Array(d.actionDim);
    pick.forEach((w, c) => (a[c] = act[w]!));
    return {
      action: a,
      reset: false,
      ...(opts.light?.step === i ? { light: opts.light.setting } : {}),
      ...(opts.place?.step === i ? { place: opts.place.kind } : {}),
      ...(i === 0 && opts.evalBudget ? { evalBudget: opts.evalBudget } : {}),
    };
  });
  try {
    await new GameLoop({
      source: pw.source,
      input: new ScriptInput(steps[Symbol.iterator]()),
      output: {
        present: (f) => {
          frames[f.index] = f.rgb.slice();
          const n = pw.anchor?.anchored ?? 0;
          anchoredAt[f.index] = n > counted;
          counted = n;
        },
      },
      observers: pw.observers,
      realtime: false,
      seed,
    }).run();
  } finally {
    await pw.close(); // the world only: the model is the caller's
  }
  if (frames.length !== acts.length + 1 || frames.some((f) => !f)) {
    throw new Error(`model frames: the loop presented ${frames.filter(Boolean).length} of ${acts.length + 1} frames`);
  }
  return { frames, anchored: pw.anchor?.anchored ?? 0, anchoredAt };
}

