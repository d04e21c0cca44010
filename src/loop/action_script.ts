/**
 * Action scripts drive the loop without a person (headless runs, `render`, tests): a JSON list of
 * segments, each holding an action for some frames. Channels are named, so one script works on
 * any source whose action space has those names; unknown names are an error.
 *
 *   { "segments": [ { "frames": 30, "action": { "move": 1 } },
 *                   { "frames": 1,  "action": { "spawn": 1 } },
 *                   { "frames": 20, "action": { "turn": -0.5, "move": 1 } },
 *                   { "frames": 1,  "reset": true },
 *                   { "frames": 30, "setLight": { "level": 0.4, "tint": [1, 0.6, 0.4] } },
 *                   { "frames": 10, "place": "lamp" } ] }
 *
 * A bare array of segments is accepted too, and so is the flat form where channel values sit on
 * the segment itself ({ "frames": 30, "move": 1, "turn": 0.2 }) with events listed by name
 * ({ "frames": 1, "events": ["spawn"] }). Event channels fire on the first frame of their segment
 * only (an event is a one-tick trigger). `setLight` sets the global light (level and tint in
 * [0, 1]; tint defaults to white) before the segment's first frame (src/lighting.ts). `place`
 * puts an object of that kind in front of the player before the segment's first frame (after any
 * light; src/object_placement.ts).
 *
 * This is the one script grammar: `play`, `truth` and `render` all read it. So that scripts
 * written for render's older grammar keep working, a channel may also be given as true/false
 * (1/0: `"light": true`), `"spawn": "<kind>"` means `"place": "<kind>"` (in the truth world both
 * are its spawn of that kind), and a `comment` field is ignored.
 */
import { FormatError } from '../errors.js';
import { readJsonFile } from '../input_file.js';
import type { ActionSpace, WorldEdits } from '../source.js';
import { OBJECT_KINDS, type ObjectKind } from '../world.js';
import { parseLightSetting, type LightSetting } from '../lighting.js';

export interface ScriptSegment {
  frames: number;
  action: Record<string, number>;
  /** Restart the world (same seed) before this segment. */
  reset?: boolean;
  /** Set the global light before this segment's first frame (after any reset). */
  setLight?: LightSetting;
  /** Place an object of this kind before this segment's first frame (after any light). */
  place?: ObjectKind;
}

export interface ScriptStep extends WorldEdits {
  action: Float32Array;
  reset: boolean;
}

export const MAX_SCRIPT_FRAMES = 10_000_000;

export function parseActionScript(doc: unknown, source = 'action script'): ScriptSegment[] {
  const list = Array.isArray(doc) ? doc : (doc as { segments?: unknown })?.segments;
  if (!Array.isArray(list)) throw new FormatError(`${source}: expected {"segments": [...]} or an array of segments`);
  // As render's world scripts: a script with nothing in it is a mistake, not a zero-frame run.
  if (list.length === 0) throw new FormatError(`${source}: has no segments (a script needs at least one)`);
  let total = 0;
  return list.map((seg, i) => {
    const at = `${source}: segments[${i}]`;
    if (typeof seg !== 'object' || seg === null || Array.isArray(seg)) throw new FormatError(`${at} must be an object`);
    const s = seg as Record<string, unknown>;
    const frames = s.frames ?? 1;
    if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1) throw new FormatError(`${at}.frames must be a positive integer`);
    total += frames;
    if (total > MAX_SCRIPT_FRAMES) throw new FormatError(`${source}: more than ${MAX_SCRIPT_FRAMES} frames in total`);
    const nested = s.action ?? {};
    if (typeof nested !== 'object' || nested === null || Array.isArray(nested)) throw new FormatError(`${at}.action must be an object of channel → value`);
    // No prototype: a channel named "__proto__" stays a plain key that the space check refuses.
    const action: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, nested);
    // render's older grammar named the kind on the spawn channel; it is the same edit as place.
    const legacyPlace = typeof s.spawn === 'string' ? s.spawn : undefined;
    if (legacyPlace !== undefined && s.place !== undefined) throw new FormatError(`${at}: give the kind once, as place (spawn: "${legacyPlace}" is the same thing)`);
    for (const [k, v] of Object.entries(s)) {
      if (k === 'frames' || k === 'action' || k === 'reset' || k === 'setLight' || k === 'place' || k === 'comment') continue;
      if (k === 'spawn' && legacyPlace !== undefined) continue;
      if (k === 'events') {
        if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) throw new FormatError(`${at}.events must be an array of channel names`);
        for (const e of v as string[]) action[e] = 1;
        continue;
      }
      if (typeof v !== 'number' && typeof v !== 'boolean') throw new FormatError(`${at}.${k}: unknown field (frames, action, reset, events, setLight, place, comment, or a channel name with a number)`);
      action[k] = v;
    }
    const values: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [k, v] of Object.entries(action)) {
      if (typeof v === 'boolean') values[k] = v ? 1 : 0;
      else if (typeof v === 'number' && Number.isFinite(v)) values[k] = v;
      else throw new FormatError(`${at}.action.${k} must be a finite number (or true/false)`);
    }
    if (s.reset !== undefined && typeof s.reset !== 'boolean') throw new FormatError(`${at}.reset must be true or false`);
    const out: ScriptSegment = { frames, action: values, reset: s.reset === true };
    if (s.setLight !== undefined) out.setLight = parseLightSetting(s.setLight, `${at}.setLight`);
    const place = s.place ?? legacyPlace;
    if (place !== undefined) {
      const field = s.place !== undefined ? 'place' : 'spawn';
      if (!(OBJECT_KINDS as readonly unknown[]).includes(place)) {
        throw new FormatError(`${at}.${field} must be an object kind (${OBJECT_KINDS.join(', ')}); got ${JSON.stringify(place)}`);
      }
      out.place = place as ObjectKind;
    }
    return out;
  });
}

export function loadActionScript(path: string): ScriptSegment[] {
  return parseActionScript(readJsonFile(path, 'action script'), path);
}

/**
 * Expands segments into per-frame steps against an action space. Every segment is checked
 * before the first step is made (channel names, values in each channel's range, events 0 or 1),
 * so a bad value late in a script is refused before the run, not after minutes of it; errors
 * start with `source` (the file).
 */
export function scriptSteps(segments: ScriptSegment[], space: ActionSpace, source = 'action script'): Generator<ScriptStep> {
  const idx = new Map(space.channels.map((c, i) => [c.name, i] as const));
  const bases = segments.map((seg, i) => {
    const base = new Float32Array(space.channels.length);
    for (const [name, v] of Object.entries(seg.action)) {
      const j = idx.get(name);
      if (j === undefined) {
        throw new FormatError(`${source}: segments[${i}]: channel '${name}' is not in this world's action space (${space.channels.map((c) => c.name).join(', ')})`);
      }
      const c = space.channels[j]!;
      if (c.kind === 'event' && v !== 0 && v !== 1) throw new FormatError(`${source}: segments[${i}]: ${name}=${v}: an event channel takes 0 or 1`);
      if (!(v >= c.min && v <= c.max)) throw new FormatError(`${source}: segments[${i}]: ${name}=${v} is outside [${c.min}, ${c.max}]`);
      base[j] = v;
    }
    return base;
  });
  return expandSteps(segments, bases, space);
}

function* expandSteps(segments: ScriptSegment[], bases: Float32Array[], space: ActionSpace): Generator<ScriptStep> {
  for (const [i, seg] of segments.entries()) {
    const base = bases[i]!;
    for (let f = 0; f < seg.frames; f++) {
      const a = base.slice();
      if (f > 0) space.channels.forEach((c, j) => { if (c.kind === 'event') a[j] = 0; });
      const step: ScriptStep = { action: a, reset: f === 0 && seg.reset === true };
      if (f === 0 && seg.setLight) step.light = seg.setLight;
      if (f === 0 && seg.place) step.place = seg.place;
      yield step;
    }
  }
}

/** Uniform random actions (soak tests, benchmarks): axes anywhere in range, events rarely. */
export function randomAction(space: ActionSpace, rand: () => number, eventRate = 0.02): Float32Array {
  const a = new Float32Array(space.channels.length);
  space.channels.forEach((c, j) => {
    a[j] = c.kind === 'event' ? (rand() < eventRate ? 1 : 0) : c.min + (c.max - c.min) * rand();
  });
  return a;
}

/** Small deterministic PRNG (mulberry32) so random runs are repeatable from a seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
