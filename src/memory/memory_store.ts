/**
 * Spatial latent memory: (latent, pose, time) for views the player has seen, so a world model
 * can be shown what a place looked like when the player comes back to it.
 *
 * - Bounded: at most `capacity` entries. Poses fall into bins (`binSize` cells square, `binYawDeg`
 *   of heading), one entry per bin, so standing still does not fill the store. A bin keeps the
 *   first look at its place since the world last changed (markChange: a light change or a spawned
 *   object): a world model's frames drift the longer it runs, so the first look is the one the
 *   world should stay consistent with, and a change makes every older look stale, to be replaced
 *   by the next one. Fixed bins (not "within a distance of") keep a slow walk from dragging one
 *   entry along. When the store is full, the entry stored longest ago is evicted.
 * - Retrieval: the M entries that best overlap the current view (viewOverlap: distance and yaw
 *   within the field of view), minus a recency penalty, so views the model still has in its
 *   short context (the last few frames) give way to older ones it would otherwise have lost.
 *   Entries younger than `excludeRecent` frames are skipped outright.
 *
 * Latents are copied in; the store owns its memory (one Float32Array per entry, allocated when
 * the entry is first used and reused on replacement).
 */
import { InvalidArgumentError, FormatError } from '../errors.js';
import { DEFAULT_OVERLAP, viewOverlap, type ViewPose } from './view_overlap.js';
import { MAX_POSE_COORD } from './pose_tracker.js';

/** Largest frame index a stored view may have (anchored noise keys need it below 2^48). */
const MAX_FRAME_INDEX = 2 ** 48;
/** Largest |value| a latent read from a file may hold: encoder outputs are O(1-10); far beyond
 * that a value can only be corrupt, and the networks would overflow on it. */
export const MAX_LATENT_ABS = 1e4;

export interface MemoryConfig {
  capacity: number;
  latentSize: number;
  fovDeg: number;
  /** Overlap falls to 0 at this distance (cells). */
  range: number;
  /** A new view in the same bin (binSize x binSize cells, binYawDeg of heading) as a stored one
   * replaces it. */
  binSize: number;
  binYawDeg: number;
  /** Entries younger than this many frames are not retrieved (they are in the model's context). */
  excludeRecent: number;
  /** Score penalty weight·exp(-age/recencyTau) for recent entries. */
  recencyWeight: number;
  recencyTau: number;
}

export const DEFAULT_MEMORY: Omit<MemoryConfig, 'latentSize'> = {
  // 1,024 views (8 MB of latents for the default model): at one view every 4 frames, 4,096
  // frames of places never seen before fit before the oldest is evicted.
  capacity: 1024,
  fovDeg: DEFAULT_OVERLAP.fovDeg,
  range: DEFAULT_OVERLAP.range,
  binSize: 0.5,
  binYawDeg: 30,
  // Retrieval as training does it (docs/memory-model.md): pose-only overlap, views at least
  // K + 4 = 8 frames older than the frame generated, no recency penalty. A penalty can be
  // switched on (recencyWeight > 0), but a model should be fed what it was trained with.
  excludeRecent: 8,
  recencyWeight: 0,
  recencyTau: 60,
};

export interface MemoryEntry {
  latent: Float32Array;
  pose: ViewPose;
  /** Frame index when the view was stored. */
  time: number;
}

export interface Retrieved {
  entry: MemoryEntry;
  /** Position in entries() (stable until the next add). */
  index: number;
  overlap: number;
  score: number;
}

export const MAX_MEMORY_CAPACITY = 1 << 16;

function checkConfig(c: MemoryConfig): void {
  const int = (k: keyof MemoryConfig, lo: number, hi: number) => {
    const v = c[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new InvalidArgumentError(`memory.${k} must be an integer in ${lo}..${hi}; got ${v}`);
  };
  const num = (k: keyof MemoryConfig, lo: number, hi: number) => {
    const v = c[k];
    if (!Number.isFinite(v) || v < lo || v > hi) throw new InvalidArgumentError(`memory.${k} must be a number in [${lo}, ${hi}]; got ${v}`);
  };
  int('capacity', 1, MAX_MEMORY_CAPACITY);
  int('latentSize', 1, 1 << 24);
  num('fovDeg', 1, 360);
  num('range', 1e-3, 1e6);
  num('binSize', 1e-3, 1e6);
  num('binYawDeg', 1, 360);
  int('excludeRecent', 0, 1 << 30);
  num('recencyWeight', 0, 1e6);
  num('recencyTau', 1e-3, 1e9);
}

export class MemoryStore {
  readonly config: MemoryConfig;
  private readonly items: MemoryEntry[] = [];
  private readonly keys: string[] = [];
  private changed = 0;

  constructor(config: Partial<MemoryConfig> & { latentSize: number }) {
    this.config = { ...DEFAULT_MEMORY, ...config };
    checkConfig(this.config);
  }

  get size(): number {
    return this.items.length;
  }

  entries(): readonly MemoryEntry[] {
    return this.items;
  }

  clear(): void {
    this.items.length = 0;
    this.keys.length = 0;
    this.changed = 0;
  }

  /** Frame index of the latest change to the world (0: none): entries stored before it are
   * stale — the place may look different now. */
  get changedAt(): number {
    return this.changed;
  }

  /** The world changed at frame `time` (an event): every look stored before it is stale. */
  markChange(time: number): void {
    if (!Number.isInteger(time) || time < 0) throw new InvalidArgumentError(`memory: change time must be a frame index; got ${time}`);
    this.changed = Math.max(this.changed, time);
  }

  /** Is the entry a look at the world as it is now (stored at or after the latest change)? */
  isCurrent(e: MemoryEntry): boolean {
    return e.time >= this.changed;
  }

  /** The bin a pose falls in (entries in one bin replace each other). */
  binOf(pose: ViewPose): string {
    const c = this.config;
    const turn = 2 * Math.PI;
    const yaw = ((pose.yaw % turn) + turn) % turn;
    return `${Math.floor(pose.x / c.binSize)},${Math.floor(pose.y / c.binSize)},${Math.floor((yaw * 180) / Math.PI / c.binYawDeg)}`;
  }

  /** Stores a view. Returns what happened: 'added', 'replaced' (a stale look in the same bin),
   * 'kept' (the bin already holds a current look, which stays) or 'evicted' (the store was full
   * and its oldest entry made room). */
  add(latent: Float32Array, pose: ViewPose, time: number): 'added' | 'replaced' | 'kept' | 'evicted' {
    const c = this.config;
    if (latent.length !== c.latentSize) {
      throw new InvalidArgumentError(`memory: latent has ${latent.length} values; the store holds ${c.latentSize}`);
    }
    if (![pose.x, pose.y, pose.yaw, time].every(Number.isFinite)) {
      throw new InvalidArgumentError('memory: pose and time must be finite numbers');
    }
    const key = this.binOf(pose);
    let slot = this.keys.indexOf(key);
    if (slot >= 0 && this.isCurrent(this.items[slot]!)) return 'kept';
    let outcome: 'added' | 'replaced' | 'evicted' = 'replaced';
    if (slot < 0 && this.items.length < c.capacity) {
      this.items.push({ latent: new Float32Array(c.latentSize), pose: { x: 0, y: 0, yaw: 0 }, time: 0 });
      this.keys.push(key);
      slot = this.items.length - 1;
      outcome = 'added';
    } else if (slot < 0) {
      slot = 0;
      for (let i = 1; i < this.items.length; i++) if (this.items[i]!.time < this.items[slot]!.time) slot = i;
      outcome = 'evicted';
    }
    const e = this.items[slot]!;
    this.keys[slot] = key;
    e.latent.set(latent);
    e.pose = { x: pose.x, y: pose.y, yaw: pose.yaw };
    e.time = time;
    return outcome;
  }

  /** The score retrieval ranks by (higher is better); -Infinity when the entry is excluded. */
  score(e: MemoryEntry, pose: ViewPose, now: number): { overlap: number; score: number } {
    const c = this.config;
    const age = now - e.time;
    const overlap = viewOverlap(pose, e.pose, { fovDeg: c.fovDeg, range: c.range });
    if (age < c.excludeRecent || overlap <= 0) return { overlap, score: -Infinity };
    return { overlap, score: overlap - c.recencyWeight * Math.exp(-age / c.recencyTau) };
  }

  /** Up to `m` entries that best overlap `pose` at frame `now`, best first. Ties go to the
   * newer entry (the latest look of a place). */
  retrieve(pose: ViewPose, now: number, m: number): Retrieved[] {
    if (!Number.isInteger(m) || m < 0) throw new InvalidArgumentError(`memory: retrieve count must be a non-negative integer; got ${m}`);
    const scored: Retrieved[] = [];
    this.items.forEach((entry, index) => {
      const { overlap, score } = this.score(entry, pose, now);
      if (score > -Infinity) scored.push({ entry, index, overlap, score });
    });
    scored.sort((a, b) => b.score - a.score || b.entry.time - a.entry.time || a.index - b.index);
    return scored.slice(0, m);
  }

  /** Flat arrays for a save file: latents [n·L], poses [n·3] (x, y, yaw), times [n]. */
  toArrays(): { latents: Float32Array; poses: Float64Array; times: Float64Array } {
    const n = this.items.length;
    const L = this.config.latentSize;
    const latents = new Float32Array(n * L);
    const poses = new Float64Array(n * 3);
    const times = new Float64Array(n);
    this.items.forEach((e, i) => {
      latents.set(e.latent, i * L);
      poses[i * 3] = e.pose.x;
      poses[i * 3 + 1] = e.pose.y;
      poses[i * 3 + 2] = e.pose.yaw;
      times[i] = e.time;
    });
    return { latents, poses, times };
  }

  /** Replaces the contents from toArrays() output (validated: sizes agree, values finite);
   * `changedAt` is the latest change (a save's header.memory.changedAt). */
  loadArrays(a: { latents: Float32Array; poses: Float64Array; times: Float64Array }, name = 'memory', changedAt = 0): void {
    const n = a.times.length;
    const L = this.config.latentSize;
    if (n > this.config.capacity) throw new FormatError(`${name}: ${n} entries exceed the store's capacity ${this.config.capacity}`);
    if (a.latents.length !== n * L) throw new FormatError(`${name}: latents hold ${a.latents.length} values; ${n} entries of ${L} need ${n * L}`);
    if (a.poses.length !== n * 3) throw new FormatError(`${name}: poses hold ${a.poses.length} values; ${n} entries need ${n * 3}`);
    for (let i = 0; i < n; i++) {
      // Frame indices below 2^48 (revisit anchoring keys its noise on them) and poses a pose
      // tracker could hold (src/memory/pose_tracker.ts), so nothing downstream meets a value
      // it would refuse as a caller's mistake.
      const t = a.times[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= MAX_FRAME_INDEX) throw new FormatError(`${name}: entry ${i} has time ${t}, not a frame index in 0..2^48-1`);
      const [x, y, yaw] = [a.poses[i * 3]!, a.poses[i * 3 + 1]!, a.poses[i * 3 + 2]!];
      if (!(Math.abs(x) <= MAX_POSE_COORD && Math.abs(y) <= MAX_POSE_COORD && Math.abs(yaw) <= 2 * Math.PI)) {
        throw new FormatError(`${name}: entry ${i} has pose (${x}, ${y}, ${yaw}); x and y must be in [-${MAX_POSE_COORD}, ${MAX_POSE_COORD}] cells and yaw in [-2π, 2π]`);
      }
    }
    for (let i = 0; i < a.latents.length; i++) {
      if (!(Math.abs(a.latents[i]!) <= MAX_LATENT_ABS)) throw new FormatError(`${name}: latent value ${i} is ${a.latents[i]}, outside [-${MAX_LATENT_ABS}, ${MAX_LATENT_ABS}]`);
    }
    if (!Number.isInteger(changedAt) || changedAt < 0) throw new FormatError(`${name}: changedAt ${changedAt} is not a frame index`);
    this.clear();
    this.changed = changedAt;
    for (let i = 0; i < n; i++) {
      this.keys.push(this.binOf({ x: a.poses[i * 3]!, y: a.poses[i * 3 + 1]!, yaw: a.poses[i * 3 + 2]! }));
      this.items.push({
        latent: a.latents.slice(i * L, (i + 1) * L),
        pose: { x: a.poses[i * 3]!, y: a.poses[i * 3 + 1]!, yaw: a.poses[i * 3 + 2]! },
        time: a.times[i]!,
      });
    }
  }
}
