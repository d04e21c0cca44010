import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Explorer, TruthWorld, World, channelIndex, worldActionSpace, worldLayout, type ExploreConfig } from '../src/world.js';
import { WorldloopError } from '../src/errors.js';

const A = () => new Float32Array(worldActionSpace().channels.length);

function hashRun(seed: number, frames: number): string {
  const w = new World(seed);
  const h = createHash('sha256');
  const a = A();
  for (let t = 0; t < frames; t++) {
    a[0] = t % 50 < 30 ? 1 : 0;
    a[2] = t % 50 >= 30 ? 1 : 0;
    a[4] = t === 20 ? 1 : 0;
    w.step(a);
    h.update(w.rgb);
  }
  w.close();
  return h.digest('hex');
}

describe('World', () => {
  it('publishes its action layout as data', () => {
    const layout = worldLayout();
    expect(layout.channels.map((c) => c.name)).toEqual(['move', 'strafe', 'turn', 'light', 'spawn']);
    expect(layout.channels.map((c) => c.kind)).toEqual(['axis', 'axis', 'axis', 'event', 'event']);
    expect(layout.objects.length).toBeGreaterThanOrEqual(5);
    expect(layout.defaults.moveSpeed).toBeCloseTo(0.12);
    expect(layout.defaults.turnSpeedDeg).toBe(5);
    expect(channelIndex('spawn')).toBe(4);
    expect(layout.worldVersion).toBeGreaterThanOrEqual(1);
  });

  it('is deterministic: same seed and actions give the same frames', () => {
    expect(hashRun(3, 120)).toBe(hashRun(3, 120));
    expect(hashRun(3, 120)).not.toBe(hashRun(4, 120));
  });

  it('frames are a stable view on the native buffer (no per-step allocation)', () => {
    const w = new World(1, { width: 64, height: 48 });
    const view = w.rgb;
    expect(view.length).toBe(64 * 48 * 3);
    const before = Buffer.from(view);
    const a = A();
    a[2] = 1;
    w.step(a);
    expect(w.rgb).toBe(view);
    expect(Buffer.from(view).equals(before)).toBe(false);
    w.close();
    expect(view.length).toBe(0); // detached on close: no reads of freed memory
  });

  it('snapshot and restore replay the same future', () => {
    const a = new World(9);
    const act = A();
    act[0] = 1;
    act[2] = 0.2;
    for (let i = 0; i < 60; i++) a.step(act);
    a.setLight(0.5, [1, 0.6, 0.4]);
    a.spawn('lamp');
    const snap = a.snapshot();
    const b = new World(1);
    b.restore(snap);
    for (let i = 0; i < 60; i++) {
      a.step(act);
      b.step(act);
    }
    expect(Buffer.from(b.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    expect(b.pose()).toEqual(a.pose());
    expect(b.info().light.tint[1]).toBeCloseTo(0.6);
    expect(() => b.restore(snap.subarray(0, 10))).toThrow(/snapshot/);
    a.close();
    b.close();
  });

  it('rejects bad inputs with clear errors', () => {
    expect(() => new World(1, { width: 0 })).toThrow(/width/);
    expect(() => new World(1, { height: 100000 })).toThrow(/height/);
    expect(() => new World(-1)).toThrow(/seed/);
    const w = new World(1);
    const bad = A();
    bad[2] = Number.NaN;
    expect(() => w.step(bad)).toThrow(/turn/);
    bad[2] = 0;
    bad[0] = 3;
    expect(() => w.step(bad)).toThrow(/move/);
    expect(() => w.step(new Float32Array(3))).toThrow(/expected 5/);
    try {
      w.spawn(17);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WorldloopError);
      expect((e as WorldloopError).code).toBe('WL_INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(/unknown object kind 17/);
    }
    expect(() => w.spawn('dragon' as never)).toThrow(/unknown object kind/);
    expect(() => w.setLight(2)).toThrow(/level/);
    w.close();
    expect(() => w.step(A())).toThrow(/closed/);
  });

  it('explorer drives the world around the level', () => {
    const w = new World(5, { width: 32, height: 32 });
    const ex = new Explorer(5, { pSpawn: 0.05 });
    const a = A();
    const start = w.pose();
    let far = 0;
    for (let i = 0; i < 1500; i++) {
      ex.next(w, a);
      w.step(a);
      const p = w.pose();
      far = Math.max(far, Math.hypot(p.x - start.x, p.y - start.y));
    }
    expect(far).toBeGreaterThan(5);
    expect(w.info().spawned_objects).toBeGreaterThan(0);
    ex.close();
    w.close();
  });

  it('explorer idles (no key held) when asked to, and refuses a bad idle range', () => {
    const idleTicks = (config: ExploreConfig) => {
      const w = new World(5, { width: 32, height: 32 });
      const ex = new Explorer(5, config);
      const a = A();
      let n = 0;
      for (let i = 0; i < 1500; i++) {
        ex.next(w, a);
        n += a[0] === 0 && a[1] === 0 && a[2] === 0 ? 1 : 0;
        w.step(a);
      }
      ex.close();
      w.close();
      return n;
    };
    expect(idleTicks({ pIdle: 0.01, idleMin: 10, idleMax: 20 })).toBeGreaterThan(3 * idleTicks({}) + 50);
    expect(() => new Explorer(1, { idleMin: 9, idleMax: 3 })).toThrow(/idle_min/);
  });
});

describe('TruthWorld (FrameSource)', () => {
  it('resets, steps and reports pose and stage times', async () => {
    const src = new TruthWorld({ seed: 2, config: { width: 96, height: 64 } });
    expect(src.kind).toBe('truth');
    expect(src.width).toBe(96);
    expect(src.actionSpace.channels).toHaveLength(5);
    const f0 = await src.reset();
    expect(f0.index).toBe(0);
    expect(f0.rgb.length).toBe(96 * 64 * 3);
    const copy = Buffer.from(f0.rgb);
    const a = A();
    a[0] = 1;
    const { frame, stages } = await src.step(a);
    expect(frame.index).toBe(1);
    expect(typeof stages.world).toBe('number');
    const p = src.pose();
    expect(Number.isFinite(p.x) && Number.isFinite(p.yaw)).toBe(true);
    await src.reset(2);
    expect(Buffer.from(src.current().rgb).equals(copy)).toBe(true);
    src.close();
  });
});
