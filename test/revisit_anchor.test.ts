// Revisit anchoring: the bridge action is the pose tracker's inverse, the rules for which remembered
// view qualifies, the ModelWorld step it produces (checked against the same context set up by
// hand), and a walk away and back through the world play builds, with and without --no-anchor.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { RevisitAnchor } from '../src/memory/revisit_anchor.js';
import { MemoryStore } from '../src/memory/memory_store.js';
import { PoseTracker } from '../src/memory/pose_tracker.js';
import { worldActionSpace } from '../src/world.js';
import { loadModel, ModelWorld } from '../src/index.js';
import { ANCHOR_NOISE_BASE, anchorNoiseKey } from '../src/model_world.js';
import { openWorld } from '../src/play/open_world.js';
import { truthStart } from '../src/play/truth_start.js';
import type { ActionSpace } from '../src/source.js';

const FIX = join(__dirname, '..', 'native', 'tests', 'fixtures');
const SPEEDS = { moveSpeed: 0.12, strafeSpeed: 0.09, turnSpeedDeg: 5 };
const space = worldActionSpace(); // move, strafe, turn, light, spawn
const motion = (s: ActionSpace = space) => new PoseTracker(s, { speeds: SPEEDS });
const L = 4;
const z = (v: number) => new Float32Array(L).fill(v);

describe('revisit anchor', () => {
  it('bridges two poses with the action the pose tracker would take between them', () => {
    const inverse = motion();
    const out = new Float32Array(5);
    let rng = 7;
    const rand = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let trial = 0; trial < 50; trial++) {
      const from = { x: 10 + 3 * rand(), y: 10 + 3 * rand(), yaw: Math.PI * rand() };
      const act = Float32Array.from([rand(), rand(), rand(), 0, 0]);
      const tr = new PoseTracker(space, { speeds: SPEEDS, start: from });
      tr.update(act);
      const size = inverse.actionBetween(from, tr.pose(), out);
      for (let c = 0; c < 3; c++) expect(out[c]).toBeCloseTo(act[c]!, 4);
      expect(size).toBeCloseTo(Math.max(...Array.from(act.subarray(0, 3), Math.abs)), 4);
    }
    // An action space without strafe cannot bridge a sideways offset.
    const noStrafe: ActionSpace = { channels: space.channels.filter((c) => c.name !== 'strafe') };
    const a2 = motion(noStrafe);
    expect(a2.actionBetween({ x: 0, y: 0, yaw: 0 }, { x: 0, y: 0.05, yaw: 0 }, new Float32Array(4))).toBeUndefined();
    expect(a2.actionBetween({ x: 0, y: 0, yaw: 0 }, { x: 0.05, y: 0, yaw: 0 }, new Float32Array(4))).toBeCloseTo(0.05 / 0.12, 6);
    // A channel whose speed is 0 cannot bridge either (no division by zero into the action).
    const still = new PoseTracker(space, { speeds: { ...SPEEDS, strafeSpeed: 0 } });
    expect(still.actionBetween({ x: 0, y: 0, yaw: 0 }, { x: 0, y: 0.05, yaw: 0 }, new Float32Array(5))).toBeUndefined();
  });

  it('picks the current, old-enough view with the smallest bridge within one step', () => {
    const anchor = new RevisitAnchor(space, motion(), { minAge: 8 });
    const store = new MemoryStore({ latentSize: L, capacity: 16 });
    const here = { x: 5, y: 5, yaw: 0 };
    const still = new Float32Array(5);
    store.add(z(1), { x: 4.94, y: 5, yaw: 0 }, 10); // half a step behind: bridge 0.5 (a bin of its own)
    store.add(z(2), { x: 5.6, y: 5, yaw: 0 }, 12); // 5 steps ahead: too far
    store.add(z(3), { x: 5, y: 5, yaw: (2 * Math.PI) / 180 }, 14); // 2 degrees: bridge 0.4
    let got = anchor.find(store, here, 100, still);
    expect(got?.entry.latent[0]).toBe(3);
    expect(got?.size).toBeCloseTo(0.4, 5);
    expect(got?.actions.length).toBe(1);
    expect(got?.actions[0]![2]).toBeCloseTo(-0.4, 5); // turn back by 2 degrees
    expect(anchor.anchored).toBe(1);
    expect(anchor.last?.target).toBe(100);
    expect(anchor.last?.viewTime).toBe(14);
    // Too young (age 6 < 8): the best view is skipped, the next best is used.
    got = anchor.find(store, here, 20, still);
    expect(got?.entry.latent[0]).toBe(1);
    // A step that fires an event never anchors.
    expect(anchor.find(store, here, 100, Float32Array.from([0, 0, 0, 0, 1]))).toBeUndefined();
    // After a change, only looks stored since count.
    const before = anchor.last!;
    store.markChange(50);
    expect(anchor.find(store, here, 100, still)).toBeUndefined();
    store.add(z(4), { x: 4.97, y: 5, yaw: 0 }, 60);
    expect(anchor.find(store, here, 100, still)?.entry.latent[0]).toBe(4);
    // The new look reused the stale entry in place; the earlier anchoring keeps its view's time.
    expect(before.entry.time).toBe(60);
    expect(before.viewTime).toBe(10);
    // Tighter bridges on request.
    expect(new RevisitAnchor(space, motion(), { maxBridge: 0.1, maxSteps: 1 }).find(store, here, 100, still)).toBeUndefined();
    expect(new RevisitAnchor(space, motion(), { maxBridge: 0.1 }).find(store, here, 100, still)?.actions.length).toBe(3);
    expect(() => new RevisitAnchor(space, motion(), { maxBridge: 0 })).toThrow(/anchor.maxBridge must be in \(0, 1\]/);
    expect(() => new RevisitAnchor(space, motion(), { minAge: 0 })).toThrow(/anchor.minAge must be a positive integer/);
    expect(() => new RevisitAnchor(space, motion(), { maxSteps: 9 })).toThrow(/anchor.maxSteps must be an integer in 1..8/);
    expect(() => anchor.find(store, here, 100, new Float32Array(3))).toThrow(/action has 3 channels; the world takes 5/);
  });

  it('bridges a view up to maxSteps steps away in the fewest steps, each within one step, arriving at the pose', () => {
    const anchor = new RevisitAnchor(space, motion(), { minAge: 8 });
    const view = { x: 5, y: 5, yaw: 0.3 };
    // Small bins, so that two views a few steps apart are both kept.
    const store = new MemoryStore({ latentSize: L, capacity: 16, binSize: 0.01, binYawDeg: 1 });
    store.add(z(1), view, 10);
    const still = new Float32Array(5);
    // 2.5 steps forward along the view's heading, and 12 degrees of turn: 3 steps.
    const far = { x: 5 + 0.3 * Math.cos(0.3), y: 5 + 0.3 * Math.sin(0.3), yaw: 0.3 + (12 * Math.PI) / 180 };
    const got = anchor.find(store, far, 100, still);
    expect(got?.actions.length).toBe(3);
    expect(got!.size).toBeLessThanOrEqual(1);
    expect(anchor.last?.steps).toBe(3);
    // The steps, taken by the pose tracker from the view, arrive where the frame is.
    const walk = new PoseTracker(space, { speeds: SPEEDS, start: view });
    for (const a of got!.actions) {
      expect(Math.max(...Array.from(a.subarray(0, 3), Math.abs))).toBeLessThanOrEqual(1 + 1e-6);
      walk.update(a);
    }
    expect(walk.pose().x).toBeCloseTo(far.x, 6);
    expect(walk.pose().y).toBeCloseTo(far.y, 6);
    expect(walk.pose().yaw).toBeCloseTo(far.yaw, 6);
    // A view one step away is bridged in one step, even when the three-step one is smaller.
    store.add(z(2), { x: far.x, y: far.y, yaw: far.yaw - (4 * Math.PI) / 180 }, 12);
    expect(anchor.find(store, far, 100, still)?.actions.length).toBe(1);
    // Out of reach of three steps (4 steps of turn); reachable when more steps are allowed.
    const only = new MemoryStore({ latentSize: L, capacity: 16 });
    only.add(z(1), view, 10);
    const turned = { ...view, yaw: view.yaw + (20 * Math.PI) / 180 };
    expect(anchor.find(only, turned, 100, still)).toBeUndefined();
    expect(new RevisitAnchor(space, motion(), { maxSteps: 4 }).find(only, turned, 100, still)?.actions.length).toBe(4);
  });

  it('a bridge of several steps makes the frames between as unshown context, one Euler step each', async () => {
    const model = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    try {
      const { frameWidth: W, frameHeight: H, context: K, actionDim: A } = model.dims;
      const L = model.latentSize;
      const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 11 + j * 3) & 255));
      const view = new Float32Array(L).map((_, i) => Math.sin(i * 0.45));
      const b1 = new Float32Array(A).fill(0.5);
      const b2 = new Float32Array(A).fill(-0.75);
      const w = new ModelWorld(model, { seed: 9, opening });
      await w.reset();
      w.setAnchorProvider(() => ({ latent: view, actions: [b1, b2], viewTime: 30 }));
      const shown = (await w.step(new Float32Array(A))).frame.rgb.slice();
      expect(w.frameIndex).toBe(1); // one frame shown, whatever the bridge length

      // By hand: the view held still, b1 sampled with one Euler step under the step-1 key, then b2.
      const ctx = new Float32Array(K * L);
      for (let i = 0; i < K; i++) ctx.set(view, i * L);
      const acts = new Float32Array(K * A);
      acts.set(b1, (K - 1) * A);
      const seeds = BigUint64Array.from([9n]);
      const between = (await model.sample({ contextLatents: ctx, contextActions: acts, steps: 1, seeds, frames: BigUint64Array.from([anchorNoiseKey(30, 1)]) })).slice();
      ctx.copyWithin(0, L);
      ctx.set(between, (K - 1) * L);
      acts.copyWithin(0, A);
      acts.set(b2, (K - 1) * A);
      const byHand = await model.step({ contextLatents: ctx, contextActions: acts, steps: w.steps, seeds, frames: BigUint64Array.from([anchorNoiseKey(30)]) });
      expect(Buffer.from(byHand.rgb).equals(Buffer.from(shown))).toBe(true);
      expect(anchorNoiseKey(30)).toBe(ANCHOR_NOISE_BASE + 30n);
    } finally {
      await model.close();
    }
  });

  it('a ModelWorld step anchored on a view equals a step from that view held still, then the bridge', async () => {
    const model = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    try {
      const { frameWidth: W, frameHeight: H, context: K, actionDim: A } = model.dims;
      const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 31 + j * 7) & 255));
      const view = new Float32Array(model.latentSize).map((_, i) => Math.sin(i * 0.3));
      const bridge = new Float32Array(A).fill(0.25);
      const act = new Float32Array(A).fill(-1);

      const a = new ModelWorld(model, { seed: 5, opening });
      await a.reset();
      await a.step(act);
      a.setAnchorProvider((target, action) => {
        expect(Array.from(action)).toEqual(Array.from(act));
        return target === 2 || target === 4 ? { latent: view, actions: [bridge], viewTime: 17 } : undefined;
      });
      const anchored = (await a.step(act)).frame.rgb.slice();
      await a.step(act);
      // The same view and bridge again, two frames later: the same noise key, the same frame.
      expect(Buffer.from((await a.step(act)).frame.rgb).equals(Buffer.from(anchored))).toBe(true);

      // By hand: K copies of the view, still actions with the bridge newest, noise keyed by the view.
      const ctx = new Float32Array(K * model.latentSize);
      for (let i = 0; i < K; i++) ctx.set(view, i * model.latentSize);
      const acts = new Float32Array(K * A);
      acts.set(bridge, (K - 1) * A);
      const byHand = await model.step({
        contextLatents: ctx,
        contextActions: acts,
        steps: a.steps,
        seeds: BigUint64Array.from([5n]),
        frames: BigUint64Array.from([ANCHOR_NOISE_BASE + 17n]),
      });
      expect(Buffer.from(byHand.rgb).equals(Buffer.from(anchored))).toBe(true);

      // Without the anchor the same step differs (the anchor changed what the model was shown).
      const c = new ModelWorld(model, { seed: 5, opening });
      await c.reset();
      await c.step(act);
      expect(Buffer.from((await c.step(act)).frame.rgb).equals(Buffer.from(anchored))).toBe(false);
      const bad = new ModelWorld(model, { seed: 5, opening });
      await bad.reset();
      bad.setAnchorProvider(() => ({ latent: view, actions: [bridge], viewTime: -1 }));
      await expect(bad.step(act)).rejects.toThrow(/viewTime must be a frame index/);
      bad.setAnchorProvider(() => ({ latent: view, actions: [], viewTime: 1 }));
      await expect(bad.step(act)).rejects.toThrow(/a bridge takes 1..8 steps; got 0/);
    } finally {
      await model.close();
    }
  });

  it('an anchored step gives the memory slots nothing (a re-opening has no views)', async () => {
    const model = await loadModel(join(FIX, 'tiny_memory_model.safetensors'), { threads: 1 });
    try {
      const { frameWidth: W, frameHeight: H, context: K, actionDim: A, memorySlots: M, memoryPoseDim: P } = model.dims;
      const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 13 + j * 5) & 255));
      const view = new Float32Array(model.latentSize).map((_, i) => Math.cos(i * 0.2));
      const views = {
        latents: new Float32Array(M * model.latentSize).map((_, i) => Math.sin(i * 0.7)),
        poses: new Float32Array(M * P).map((_, i) => 0.1 * (i + 1)),
        mask: new Float32Array(M).fill(1),
      };
      const asked: number[] = [];
      const w = new ModelWorld(model, { seed: 4, opening });
      w.setMemoryProvider((t) => (asked.push(t), views));
      w.setAnchorProvider((t) => (t === 2 ? { latent: view, actions: [new Float32Array(A)], viewTime: 0 } : undefined));
      await w.reset();
      await w.step(new Float32Array(A));
      const anchored = (await w.step(new Float32Array(A))).frame.rgb.slice();
      await w.step(new Float32Array(A));
      expect(asked).toEqual([1, 3]);
      // The anchored frame is the one a memory-less step from the view makes.
      const ctx = new Float32Array(K * model.latentSize);
      for (let i = 0; i < K; i++) ctx.set(view, i * model.latentSize);
      const byHand = await model.step({
        contextLatents: ctx,
        contextActions: new Float32Array(K * A),
        steps: w.steps,
        seeds: BigUint64Array.from([4n]),
        frames: BigUint64Array.from([ANCHOR_NOISE_BASE]),
      });
      expect(Buffer.from(byHand.rgb).equals(Buffer.from(anchored))).toBe(true);
    } finally {
      await model.close();
    }
  });

  it('walking away and back anchors the return in the world play builds; --no-anchor turns it off', async () => {
    const model = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    try {
      const seed = 3;
      const names = model.actionSpace.channels.map((c) => c.name);
      const act = (turn: number) => {
        const a = new Float32Array(model.dims.actionDim);
        a[names.indexOf('turn')] = turn;
        return a;
      };
      const run = async (anchor: boolean) => {
        // The world play runs, opened as every command opens it (on this test's model).
        const pw = await openWorld({ kind: 'model', model: { model, sourceId: 'test' }, seed, anchor });
        const world = pw.world;
        const st = truthStart(seed);
        const first = await world.reset(seed);
        for (const o of pw.observers) o.sessionStarted?.(first);
        // Turn left 12 steps, then right 12: back where it started (turning never touches a wall).
        const frames: Uint8Array[] = [];
        for (const t of [...Array(12).fill(1), ...Array(12).fill(-1)] as number[]) {
          for (const o of pw.observers) o.stepStarted?.(act(t), false);
          const { frame, stages } = await world.step(act(t));
          for (const o of pw.observers) await o.stepFinished?.(frame, stages);
          frames.push(frame.rgb.slice());
        }
        expect(pw.tracker.pose().yaw).toBeCloseTo(st.pose.yaw, 5);
        expect(pw.startPose).toEqual(st.pose);
        await pw.close();
        return { frames, anchor: pw.anchor };
      };
      const on = await run(true);
      const off = await run(false);
      expect(off.anchor).toBeUndefined();
      expect(on.anchor!.anchored).toBeGreaterThan(0);
      // The return (frame 24) is generated from the opening's look (stored at frame 0, same pose).
      expect(on.anchor!.last!.target).toBe(24);
      expect(on.anchor!.last!.entry.time).toBe(0);
      expect(on.anchor!.last!.viewTime).toBe(0);
      expect(on.anchor!.last!.size).toBeLessThan(1e-3);
      // Up to the first anchored frame both runs are identical; the anchored run differs after.
      const firstAnchored = on.frames.findIndex((f, i) => !Buffer.from(f).equals(Buffer.from(off.frames[i]!)));
      expect(firstAnchored).toBeGreaterThan(8);
    } finally {
      await model.close();
    }
  });
});
