// Lasting events: the light and spawn channels go from the keys to the model's action vector
// (the shipped model's manifest has them, as events), and in the truth world an event's effect
// lasts: a spawned object is still there after walking away and coming back.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { loadModel } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { Explorer, TruthWorld, worldLayout } from '../src/world.js';
import { ActionMapper } from '../src/input/action_mapper.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { truthOpening } from '../src/play/truth_start.js';

const DEFAULT = join(projectRoot(), 'models', 'default.safetensors');

describe('lasting events', () => {
  it('L and Space reach the shipped model\'s light/spawn channels and its context actions', async () => {
    expect(existsSync(DEFAULT)).toBe(true);
    const model = await loadModel(DEFAULT, { backend: 'cpu', threads: 1 });
    try {
      const space = model.actionSpace;
      // Same channels, order and kinds as the truth world publishes (what it was trained on).
      expect(space.channels.map((c) => `${c.name}:${c.kind}`)).toEqual(worldLayout().channels.map((c) => `${c.name}:${c.kind}`));
      const mapper = new ActionMapper(space, defaultBindings());
      const light = space.channels.findIndex((c) => c.name === 'light');
      const spawn = space.channels.findIndex((c) => c.name === 'spawn');
      mapper.handle({ type: 'keydown', key: 'L', repeat: false });
      mapper.handle({ type: 'keydown', key: 'Space', repeat: false });
      const a = mapper.read();
      expect(a[light]).toBe(1);
      expect(a[spawn]).toBe(1);
      const k = model.dims.context;
      const w = new ModelWorld(model, { seed: 2, opening: (s) => truthOpening(s, k, model.dims.frameWidth, model.dims.frameHeight) });
      await w.reset();
      await w.step(a);
      const A = model.dims.actionDim;
      const newest = w.state().contextActions.subarray((k - 1) * A);
      expect(newest[light]).toBe(1);
      expect(newest[spawn]).toBe(1);
      // One tick only: the next read has no event, and the event moves back through the context.
      const b = mapper.read();
      expect(b[light]).toBe(0);
      await w.step(b);
      const ctx = w.state().contextActions;
      expect(ctx[(k - 2) * A + light]).toBe(1);
      expect(ctx[(k - 1) * A + light]).toBe(0);
    } finally {
      await model.close();
    }
  });

  it('truth world: a spawned object and a light change are still there after 300 frames away', async () => {
    const t = new TruthWorld({ seed: 2 ** 40 + 5 });
    const names = t.actionSpace.channels.map((c) => c.name);
    const act = (o: Record<string, number>) => Float32Array.from(names.map((n) => o[n] ?? 0));
    await t.reset();
    const still = act({});
    const before = (await t.step(still)).frame.rgb.slice(); // the view before any event
    await t.step(act({ spawn: 1, light: 1 }));
    const first = (await t.step(still)).frame.rgb.slice();
    const here = t.pose();
    expect(Buffer.from(first).equals(Buffer.from(before))).toBe(false); // the events are visible
    const ex = new Explorer(9, { pLight: 0, pSpawn: 0 });
    for (let i = 0; i < 300; i++) await t.step(ex.next(t.world));
    ex.close();
    expect(Math.hypot(t.pose().x - here.x, t.pose().y - here.y) + Math.abs(t.pose().yaw - here.yaw)).toBeGreaterThan(0.5);
    t.world.setPose(here.x, here.y, here.yaw);
    const back = (await t.step(still)).frame.rgb;
    expect(Buffer.from(back).equals(Buffer.from(first))).toBe(true);
    t.close();
  });
});
