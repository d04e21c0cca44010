/**
 * Action scripts for the truth world: a JSON list of segments (hold these axes for N frames,
 * fire these events) expanded into one action vector per tick plus explicit events (set the
 * light to a given level/tint, spawn a given kind). Used by `worldloop render` and by tests
 * that compare a model against the truth on the same actions. Format: docs/world.md.
 *
 *   {"segments": [{"frames": 40, "move": 1}, {"frames": 18, "turn": 1, "light": true},
 *                 {"frames": 10, "spawn": "lamp"}, {"frames": 5, "setLight": {"level": 0.4, "tint": [1, 0.5, 0.3]}}]}
 *
 * A bare array of segments is accepted too. Scripts are untrusted input: every field is
 * checked and errors name the segment and the field.
 */
import { FormatError } from './errors.js';
import { OBJECT_KINDS, type ObjectKind } from './world.js';
import { parseLightSetting } from './lighting.js';

/** Upper bound on a script's length, so a typo cannot ask for a billion frames. */
export const MAX_SCRIPT_FRAMES = 1_000_000;
const ACTION_LENGTH = 5; // move, strafe, turn, light, spawn (see worldLayout())

export type ExplicitEvent =
  | { type: 'setLight'; level: number; tint: [number, number, number] }
  | { type: 'spawn'; kind: ObjectKind };

export interface WorldScript {
  /** Ticks in the script. */
  frames: number;
  /** Writes tick t's action vector into out (length 5). */
  actionAt(t: number, out: Float32Array): void;
  /** Explicit events to apply before tick t's frame (empty for most ticks). */
  eventsAt(t: number): ExplicitEvent[];
}

interface Segment {
  start: number;
  frames: number;
  move: number;
  strafe: number;
  turn: number;
  light: boolean;
  spawnEvent: boolean;
  explicit: ExplicitEvent[];
}

const KEYS = new Set(['frames', 'move', 'strafe', 'turn', 'light', 'spawn', 'setLight', 'comment']);

export function parseWorldScript(json: unknown, name = 'script'): WorldScript {
  const list = Array.isArray(json) ? json : (json as { segments?: unknown })?.segments;
  if (!Array.isArray(list)) throw new FormatError(`${name}: expected {"segments": [...]} or an array of segments`);
  if (list.length === 0) throw new FormatError(`${name}: has no segments`);
  const segments: Segment[] = [];
  let total = 0;
  list.forEach((raw, i) => {
    const where = `${name}: segment ${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FormatError(`${where} is not an object`);
    const s = raw as Record<string, unknown>;
    for (const k of Object.keys(s)) {
      if (!KEYS.has(k)) throw new FormatError(`${where}: unknown field '${k}' (known: ${[...KEYS].join(', ')})`);
    }
    const frames = s.frames;
    if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1) {
      throw new FormatError(`${where}: 'frames' must be a positive integer, got ${JSON.stringify(frames)}`);
    }
    const axis = (k: string): number => {
      const v = s[k] ?? 0;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < -1 || v > 1) {
        throw new FormatError(`${where}: '${k}' must be a number in [-1, 1], got ${JSON.stringify(v)}`);
      }
      return v;
    };
    const light = s.light ?? false;
    if (typeof light !== 'boolean') throw new FormatError(`${where}: 'light' must be true or false (the cycle-light event)`);
    const explicit: ExplicitEvent[] = [];
    let spawnEvent = false;
    if (s.spawn !== undefined) {
      if (s.spawn === true) spawnEvent = true;
      else if (typeof s.spawn === 'string' && (OBJECT_KINDS as readonly string[]).includes(s.spawn)) {
        explicit.push({ type: 'spawn', kind: s.spawn as ObjectKind });
      } else if (s.spawn !== false) {
        throw new FormatError(`${where}: 'spawn' must be true (next kind) or one of ${OBJECT_KINDS.join(', ')}; got ${JSON.stringify(s.spawn)}`);
      }
    }
    if (s.setLight !== undefined) {
      const l = parseLightSetting(s.setLight, `${where}.setLight`);
      explicit.push({ type: 'setLight', level: l.level, tint: l.tint });
    }
    segments.push({ start: total, frames, move: axis('move'), strafe: axis('strafe'), turn: axis('turn'), light, spawnEvent, explicit });
    total += frames;
    if (total > MAX_SCRIPT_FRAMES) throw new FormatError(`${name}: more than ${MAX_SCRIPT_FRAMES} frames in total`);
  });

  const segmentAt = (t: number): Segment => {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.start <= t) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo]!;
  };
  return {
    frames: total,
    actionAt(t, out) {
      if (out.length !== ACTION_LENGTH) throw new FormatError(`action buffer has ${out.length} values, expected ${ACTION_LENGTH}`);
      const s = segmentAt(t);
      const first = t === s.start;
      out[0] = s.move;
      out[1] = s.strafe;
      out[2] = s.turn;
      out[3] = first && s.light ? 1 : 0;
      out[4] = first && s.spawnEvent ? 1 : 0;
    },
    eventsAt(t) {
      const s = segmentAt(t);
      return t === s.start ? s.explicit : [];
    },
  };
}
