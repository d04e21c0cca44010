// Spatial memory: view overlap, bounded store (near-duplicate replacement, eviction of the
// oldest), retrieval ranking by overlap with a recency penalty, array round trip with validation,
// and the pose tracker against the truth world's own poses.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERLAP, angleDiff, viewOverlap } from '../src/memory/view_overlap.js';
import { MemoryStore } from '../src/memory/memory_store.js';
import { PoseTracker } from '../src/memory/pose_tracker.js';
import { MemoryObserver } from '../src/memory/memory_observer.js';
import { Explorer, World, worldActionSpace, worldLayout } from '../src/world.js';

const L = 4;
const z = (v: number) => new Float32Array(L).fill(v);
const deg = (d: number) => (d * Math.PI) / 180;

describe('view overlap', () => {
  it('is 1 for the same view and falls with distance and yaw, to 0 outside fov or range', () => {
    const p = { x: 3, y: 4, yaw: 1 };
    expect(viewOverlap(p, p)).toBe(1);
    expect(viewOverlap(p, { ...p, yaw: 1 + Math.PI })).toBe(0);
    expect(viewOverlap(p, { ...p, yaw: 1 + deg(DEFAULT_OVERLAP.fovDeg) })).toBe(0);
    expect(viewOverlap(p, { ...p, x: 3 + DEFAULT_OVERLAP.range })).toBe(0);
    const near = viewOverlap(p, { ...p, x: 4 });
    const far = viewOverlap(p, { ...p, x: 6 });
    const turned = viewOverlap(p, { ...p, yaw: 1 + deg(20) });
    expect(near).toBeGreaterThan(far);
    expect(far).toBeGreaterThan(0);
    expect(turned).toBeLessThan(1);
    expect(turned).toBeCloseTo(1 - 20 / 66, 6);
    // Symmetric, and yaw wraps: -179 and 179 degrees are 2 degrees apart.
    expect(viewOverlap({ x: 0, y: 0, yaw: deg(-179) }, { x: 0, y: 0, yaw: deg(179) })).toBeCloseTo(1 - 2 / 66, 6);
    expect(angleDiff(deg(179), deg(-179))).toBeCloseTo(deg(-2), 9);
  });
});

describe('memory store', () => {
  it('keeps the first look in a bin until the world changes, evicts the oldest when full, and stays bounded', () => {
    const m = new MemoryStore({ latentSize: L, capacity: 3 });
    expect(m.add(z(1), { x: 0, y: 0, yaw: 0 }, 10)).toBe('added');
    expect(m.add(z(2), { x: 2, y: 0, yaw: 0 }, 20)).toBe('added');
    expect(m.add(z(3), { x: 4, y: 0, yaw: 0 }, 30)).toBe('added');
    // Same bin (place and heading) as the first entry, nothing changed since: the first look stays.
    expect(m.add(z(9), { x: 0.2, y: 0.1, yaw: deg(5) }, 35)).toBe('kept');
    expect(m.entries()[0]!.time).toBe(10);
    expect(m.entries()[0]!.latent[0]).toBe(1);
    // The world changed at frame 32 (an event): older looks are stale, and the next look replaces one.
    m.markChange(32);
    expect(m.changedAt).toBe(32);
    expect(m.isCurrent(m.entries()[0]!)).toBe(false);
    expect(m.add(z(4), { x: 0.2, y: 0.1, yaw: deg(5) }, 40)).toBe('replaced');
    expect(m.entries()[0]!.pose.x).toBe(0.2);
    expect(m.size).toBe(3);
    expect(m.entries()[0]!.time).toBe(40);
    expect(m.entries()[0]!.latent[0]).toBe(4);
    expect(m.isCurrent(m.entries()[0]!)).toBe(true);
    expect(() => m.markChange(-1)).toThrow(/change time must be a frame index/);
    // Same place, other direction: a new view; the store is full, so the oldest (time 20) goes.
    expect(m.add(z(5), { x: 0, y: 0, yaw: deg(90) }, 50)).toBe('evicted');
    expect(m.size).toBe(3);
    expect(m.entries().map((e) => e.time).sort((a, b) => a - b)).toEqual([30, 40, 50]);
    for (let t = 60; t < 600; t += 10) m.add(z(t), { x: t, y: 0, yaw: 0 }, t);
    expect(m.size).toBe(3);
    expect(() => m.add(new Float32Array(L + 1), { x: 0, y: 0, yaw: 0 }, 1)).toThrow(/latent has 5 values; the store holds 4/);
    expect(() => new MemoryStore({ latentSize: L, capacity: 0 })).toThrow(/memory\.capacity/);
  });

  it('retrieves by overlap, skips entries still in the context, and penalises recent ones', () => {
    const m = new MemoryStore({ latentSize: L, capacity: 16, excludeRecent: 4, recencyWeight: 0.3, recencyTau: 50 });
    const here = { x: 10, y: 10, yaw: 0 };
    m.add(z(1), { x: 10, y: 10, yaw: Math.PI }, 0); // behind: no overlap
    m.add(z(2), { x: 13, y: 10, yaw: 0 }, 5); // 3 cells ahead
    m.add(z(3), { x: 11, y: 10, yaw: 0 }, 10); // 1 cell ahead
    m.add(z(4), { x: 10, y: 10.8, yaw: deg(10) }, 15); // close, slightly turned
    m.add(z(5), { x: 10, y: 10, yaw: 0 }, 298); // the view just seen: in the context
    const r = m.retrieve(here, 300, 3);
    expect(r.map((x) => x.entry.latent[0])).toEqual([3, 4, 2]);
    expect(r[0]!.score).toBeGreaterThan(r[1]!.score);
    expect(m.retrieve(here, 300, 10).some((x) => x.entry.latent[0] === 1 || x.entry.latent[0] === 5)).toBe(false);

    // Two equally overlapping views: the recency penalty prefers the older one; without it the
    // tie goes to the newer (the latest look of the place).
    const a = new MemoryStore({ latentSize: L, capacity: 4, excludeRecent: 0, recencyWeight: 0.5, recencyTau: 20 });
    a.add(z(1), { x: 1, y: 0, yaw: 0 }, 100);
    a.add(z(2), { x: 0, y: 1, yaw: 0 }, 195);
    expect(a.retrieve({ x: 0, y: 0, yaw: 0 }, 200, 1)[0]!.entry.latent[0]).toBe(1);
    const b = new MemoryStore({ latentSize: L, capacity: 4, excludeRecent: 0, recencyWeight: 0 });
    b.add(z(1), { x: 1, y: 0, yaw: 0 }, 100);
    b.add(z(2), { x: 0, y: 1, yaw: 0 }, 195);
    expect(b.retrieve({ x: 0, y: 0, yaw: 0 }, 200, 1)[0]!.entry.latent[0]).toBe(2);
  });

  it('round-trips through arrays and refuses inconsistent ones', () => {
    const m = new MemoryStore({ latentSize: L, capacity: 4 });
    m.add(z(1), { x: 1, y: 2, yaw: 0.5 }, 3);
    m.add(z(2), { x: 5, y: 2, yaw: -0.5 }, 2 ** 40);
    const arr = m.toArrays();
    const n = new MemoryStore({ latentSize: L, capacity: 4 });
    n.loadArrays(arr);
    expect(n.toArrays()).toEqual(arr);
    expect(n.changedAt).toBe(0);
    n.loadArrays(arr, 'x', 7);
    expect(n.changedAt).toBe(7);
    expect(() => n.loadArrays(arr, 'x', 1.5)).toThrow(/x: changedAt 1.5 is not a frame index/);
    expect(() => n.loadArrays({ ...arr, poses: arr.poses.subarray(0, 5) }, 'x')).toThrow(/x: poses hold 5 values; 2 entries need 6/);
    expect(() => n.loadArrays({ ...arr, times: Float64Array.from([1.5, 2]) }, 'x')).toThrow(/entry 0 has time 1.5/);
    const small = new MemoryStore({ latentSize: L, capacity: 1 });
    expect(() => small.loadArrays(arr, 'x')).toThrow(/2 entries exceed the store's capacity 1/);
  });
});

describe('pose tracker', () => {
  const d = () => worldLayout().defaults;
  const speeds = () => ({ moveSpeed: d().moveSpeed, strafeSpeed: d().strafeSpeed, turnSpeedDeg: d().turnSpeedDeg });

  it('predicts each truth-world step exactly whenever the player is not stopped by a wall', () => {
    const w = new World(5);
    const ex = new Explorer(5);
    const space = worldActionSpace();
    const tr = new PoseTracker(space, { speeds: speeds() });
    let moving = 0;
    let exact = 0;
    let yawExact = 0;
    for (let i = 0; i < 400; i++) {
      const before = w.pose();
      const a = ex.next(w);
      tr.set(before);
      tr.update(a);
      w.step(a);
      const after = w.pose();
      const est = tr.pose();
      if (Math.abs(angleDiff(est.yaw, after.yaw)) < 1e-5) yawExact++;
      if (Math.hypot(after.x - before.x, after.y - before.y) > 1e-4) {
        moving++;
        if (Math.hypot(est.x - after.x, est.y - after.y) < 1e-4) exact++;
      }
    }
    w.close();
    ex.close();
    expect(yawExact).toBe(400); // turning never collides
    expect(moving).toBeGreaterThan(100);
    // Steps that end against a wall are the only ones allowed to differ.
    expect(exact / moving).toBeGreaterThan(0.8);
  });

  it('with the seed\'s wall grid it follows the truth world exactly, walls included (held-out seed)', () => {
    const seed = 2 ** 40 + 3;
    const w = new World(seed);
    const ex = new Explorer(seed);
    const start = w.pose();
    const withWalls = new PoseTracker(worldActionSpace(), { speeds: speeds(), start, walls: w.map() });
    const plain = new PoseTracker(worldActionSpace(), { speeds: speeds(), start });
    let plainOff = 0;
    for (let i = 0; i < 900; i++) {
      const a = ex.next(w);
      w.step(a);
      withWalls.update(a);
      plain.update(a);
      const p = w.pose();
      expect(withWalls.pose(), `step ${i}`).toEqual(p);
      plainOff = Math.max(plainOff, Math.hypot(plain.pose().x - p.x, plain.pose().y - p.y));
    }
    w.close();
    ex.close();
    expect(plainOff).toBeGreaterThan(0.01); // the walls mattered on this run
  });

  it('records a bounded path and maps channels by name', () => {
    const space = { channels: [{ name: 'turn', min: -1, max: 1, kind: 'axis' as const }, { name: 'move', min: -1, max: 1, kind: 'axis' as const }] };
    const tr = new PoseTracker(space, { speeds: { moveSpeed: 0.5, strafeSpeed: 0, turnSpeedDeg: 90 }, maxPath: 4 });
    tr.update(Float32Array.from([1, 0])); // turn 90 degrees left (yaw +)
    tr.update(Float32Array.from([0, 1])); // then forward along +y
    expect(tr.pose().x).toBeCloseTo(0, 9);
    expect(tr.pose().y).toBeCloseTo(0.5, 9);
    for (let i = 0; i < 20; i++) tr.update(Float32Array.from([0, 1]));
    expect(tr.path().length).toBeLessThanOrEqual(2 * 4 + 2);
    expect(() => tr.update(new Float32Array(3))).toThrow(/3 channels, expected 2/);
    expect(() => new PoseTracker({ channels: [{ name: 'jump', min: 0, max: 1, kind: 'event' }] }, { speeds: speeds() })).toThrow(/none of move, strafe, turn/);
  });

  it('the memory observer stores views at the tracked pose and starts over on reset', () => {
    const space = worldActionSpace();
    // 0.2-cell bins: one view per two forward steps (0.24 cells) lands in a bin of its own.
    const memory = new MemoryStore({ latentSize: L, capacity: 8, binSize: 0.2 });
    const tracker = new PoseTracker(space, { speeds: speeds(), start: { x: 1, y: 1, yaw: 0 } });
    let latent = 0;
    const obs = new MemoryObserver({ memory, tracker, startPose: { x: 1, y: 1, yaw: 0 }, latestLatent: () => z(++latent), storeEvery: 2 });
    const fwd = Float32Array.from([1, 0, 0, 0, 0]);
    for (let i = 1; i <= 10; i++) {
      obs.stepStarted(fwd, false);
      obs.stepFinished({ width: 1, height: 1, rgb: new Uint8Array(3), index: i }, {});
    }
    expect(memory.size).toBe(5);
    expect(tracker.pose().x).toBeCloseTo(1 + 10 * d().moveSpeed, 5);
    expect(memory.entries().map((e) => e.time)).toEqual([2, 4, 6, 8, 10]);
    obs.resetOutsideStep();
    expect(memory.size).toBe(0);
    expect(tracker.pose()).toEqual({ x: 1, y: 1, yaw: 0 });
  });
});

describe('memory observer and world changes', () => {
  it('an event step marks a change and stores its frame whatever the cadence; older looks give way', () => {
    const space = worldActionSpace();
    const memory = new MemoryStore({ latentSize: L, capacity: 8 });
    const tracker = new PoseTracker(space, { speeds: { moveSpeed: 0.12, strafeSpeed: 0.09, turnSpeedDeg: 5 }, start: { x: 1, y: 1, yaw: 0 } });
    let latent = 0;
    const obs = new MemoryObserver({ memory, tracker, startPose: { x: 1, y: 1, yaw: 0 }, latestLatent: () => z(++latent), storeEvery: 4, actionSpace: space });
    const still = new Float32Array(5);
    const light = Float32Array.from([0, 0, 0, 1, 0]);
    const step = (a: Float32Array, index: number) => {
      obs.stepStarted(a, false);
      obs.stepFinished({ width: 1, height: 1, rgb: new Uint8Array(3), index }, {});
    };
    for (let i = 1; i <= 5; i++) step(still, i);
    // Standing still: one bin; the look at frame 4 is the first and stays.
    expect(memory.entries().map((e) => e.time)).toEqual([4]);
    step(light, 6); // not a multiple of 4, stored because the world changed
    expect(memory.changedAt).toBe(6);
    expect(memory.entries().map((e) => e.time)).toEqual([6]);
    step(still, 8);
    expect(memory.entries().map((e) => e.time)).toEqual([6]);
    // Told the world's frame index, it stores the opening as frame 0 on the step after a fresh
    // start or a reset (R), at the start pose; a world restored mid-run (index > 0) is not an opening.
    let index = 0;
    const m2 = new MemoryStore({ latentSize: L, capacity: 8 });
    const o3 = new MemoryObserver({
      memory: m2, tracker, startPose: { x: 1, y: 1, yaw: 0 }, latestLatent: () => z(7), actionSpace: space, frameIndex: () => index,
    });
    o3.stepStarted(Float32Array.from([0, 0, 1, 0, 0]), true);
    expect(m2.entries().map((e) => [e.time, e.pose.x, e.pose.yaw])).toEqual([[0, 1, 0]]);
    index = 57;
    o3.resetOutsideStep(); // F9: the store is emptied, then the load puts its own entries back
    o3.stepStarted(still, false);
    expect(m2.size).toBe(0);
    // Without the action space the observer cannot tell events: no change is marked.
    const blind = new MemoryStore({ latentSize: L, capacity: 8 });
    const o2 = new MemoryObserver({ memory: blind, tracker, startPose: { x: 1, y: 1, yaw: 0 }, latestLatent: () => z(1) });
    o2.stepStarted(light, false);
    o2.stepFinished({ width: 1, height: 1, rgb: new Uint8Array(3), index: 6 }, {});
    expect(blind.changedAt).toBe(0);
    expect(blind.size).toBe(0);
  });
});

describe('memory input for a memory-enabled model', () => {
  it('fills the best-overlapping views with relative-pose features and marks empty slots absent', async () => {
    const { MemoryInputBuilder } = await import('../src/memory/memory_retrieval.js');
    const m = new MemoryStore({ latentSize: L, capacity: 8 });
    m.add(z(1), { x: 11, y: 10, yaw: 0 }, 10); // 1 cell ahead, facing the same way
    m.add(z(2), { x: 10, y: 13, yaw: Math.PI / 2 }, 20); // to the side, facing away: no overlap
    m.add(z(3), { x: 12, y: 10, yaw: 0 }, 97); // too recent (age 3 < 8): in the context already
    const b = new MemoryInputBuilder(L, { slots: 2, poseDim: 6 });
    const inp = b.build(m, { x: 10, y: 10, yaw: 0 }, 100);
    expect(Array.from(inp.mask)).toEqual([1, 0]);
    expect(Array.from(inp.latents.subarray(0, L))).toEqual([1, 1, 1, 1]);
    // [dx, dy, sin dyaw, cos dyaw, age/100, pad]: 1 cell straight ahead, same heading, 90 frames.
    const f = Array.from(inp.poses.subarray(0, 6));
    expect(f[0]).toBeCloseTo(1, 6);
    expect(f[1]).toBeCloseTo(0, 6);
    expect(f[2]).toBeCloseTo(0, 6);
    expect(f[3]).toBeCloseTo(1, 6);
    expect(f[4]).toBeCloseTo(0.9, 6);
    expect(f[5]).toBe(0);
    expect(Array.from(inp.poses.subarray(6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => b.build(new MemoryStore({ latentSize: L + 1 }), { x: 0, y: 0, yaw: 0 }, 0)).toThrow(/store latents have 5/);
  });
});
