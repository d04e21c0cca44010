// Placing an object of a chosen kind: the geometry of a model world's context, the manifest's
// kinds, ModelWorld/TruthWorld.placeObject, and keys, scripts, recordings and replay.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { loadModel, type Manifest, type Model } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { OBJECT_KINDS, TruthWorld, World, worldActionSpace, worldLayout } from '../src/world.js';
import { truthOpening } from '../src/play/truth_start.js';
import { GameLoop } from '../src/loop/game_loop.js';
import { ScriptInput } from '../src/input/script_input.js';
import { parseActionScript, scriptSteps } from '../src/loop/action_script.js';
import { decodeRecording, encodeRecording, FLAG_PLACE } from '../src/record/format.js';
import { RecordingInput, ReplayVerifier } from '../src/record/replay.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { ActionMapper } from '../src/input/action_mapper.js';
import { contextObjectViews, objectKindsOf, placeDepth, placeKeyKind, PLACE_DEPTH, PLACE_DEPTHS, PLACE_LOCAL_LIGHT } from '../src/object_placement.js';
import { objectKept, objectPsnr, truthFrames } from '../src/eval/frames.js';
import type { FrameSource } from '../src/source.js';
import { startTruthWindowSession } from './helpers/window_session.js';
import { KeyedScript, recorderFor } from './helpers/scripted_session.js';

const DEFAULT = join(projectRoot(), 'models', 'default.safetensors');

function modelWorld(model: Model, seed = 3): ModelWorld {
  const k = model.dims.context;
  return new ModelWorld(model, { seed, opening: (s) => truthOpening(s, k, model.dims.frameWidth, model.dims.frameHeight) });
}

describe('placement rules', () => {
  it('contextObjectViews sees the object from each context frame as the truth world does', () => {
    const names = worldLayout().channels.map((c) => c.name);
    const act = (v: Record<string, number>) => Float32Array.from(names.map((n) => v[n] ?? 0));
    // Actions into context frames 1..3 (frame 0's is never undone): turn, walk, strafe.
    const acts = [act({}), act({ turn: 1, move: 0.5 }), act({ move: 1, strafe: -0.5 }), act({ turn: -0.6, strafe: 1 })];
    const w = new World(9);
    try {
      const poses = [w.pose()];
      for (const a of acts.slice(1)) {
        w.step(a);
        poses.push(w.pose());
      }
      const now = poses[3]!;
      const ox = now.x + Math.cos(now.yaw) * PLACE_DEPTH;
      const oy = now.y + Math.sin(now.yaw) * PLACE_DEPTH;
      const flat = new Float32Array(acts.length * names.length);
      acts.forEach((a, j) => flat.set(a, j * names.length));
      const views = contextObjectViews(flat, 4, worldActionSpace(), worldLayout().defaults);
      views.forEach((v, j) => {
        const p = poses[j]!;
        const dx = ox - p.x;
        const dy = oy - p.y;
        expect(v.depth).toBeCloseTo(dx * Math.cos(p.yaw) + dy * Math.sin(p.yaw), 4);
        expect(v.lateral).toBeCloseTo(-dx * Math.sin(p.yaw) + dy * Math.cos(p.yaw), 4);
      });
      expect(views[3]!.depth).toBe(PLACE_DEPTH);
      expect(views[3]!.lateral).toBeCloseTo(0, 12);
      expect(Math.abs(views[0]!.lateral)).toBeGreaterThan(0.05); // the context did move
    } finally {
      w.close();
    }
  });

  it('placeDepth puts an object where the truth world does, in front of walls too', () => {
    const w = new World(6);
    try {
      const walls = w.map();
      const n = walls.size;
      const wall = (x: number, y: number) => walls.cells[y * n + x] !== 0;
      let rng = 7;
      const rand = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const seen = new Map<string, number>();
      let tried = 0;
      for (let cy = 1; cy < n - 1 && tried < 60; cy++) {
        for (let cx = 1; cx < n - 2 && tried < 60; cx++) {
          // Floor cells with a wall one or two cells to the east: stand in them facing it.
          if (wall(cx, cy) || !(wall(cx + 1, cy) || wall(cx + 2, cy)) || rand() < 0.5) continue;
          const pose = { x: cx + 0.05 + 0.9 * rand(), y: cy + 0.5, yaw: (rand() - 0.5) * 0.6 };
          try {
            w.setPose(pose.x, pose.y, pose.yaw);
          } catch {
            continue; // too close to a wall for the player
          }
          tried++;
          const before = w.rgb.slice();
          const placed = w.spawn('pillar');
          const ours = placeDepth(w.pose(), walls);
          expect(ours !== undefined).toBe(placed);
          if (placed) {
            // Which depth did the truth world use? The one whose sprite covers the pixels that
            // changed (the mask does not depend on the light, which the truth world keeps to itself).
            const changed = new Uint8Array(before.length / 3);
            for (let p = 0; p < changed.length; p++) {
              for (let c = 0; c < 3; c++) if (before[p * 3 + c] !== w.rgb[p * 3 + c]) changed[p] = 1;
            }
            let best = { depth: 0, diff: Infinity };
            for (const d of PLACE_DEPTHS) {
              const mask = new Uint8Array(changed.length);
              w.drawObject('pillar', { depth: d, lateral: 0, localLight: 1 }, before.slice(), mask);
              let diff = 0;
              for (let p = 0; p < mask.length; p++) if ((mask[p] === 255 ? 1 : 0) !== changed[p]) diff++;
              if (diff < best.diff) best = { depth: d, diff };
            }
            expect(ours).toBe(best.depth);
          }
          const key = String(ours);
          seen.set(key, (seen.get(key) ?? 0) + 1);
          w.reset(6);
        }
      }
      // The poses covered every outcome: each depth, and no room at all.
      expect([...seen.keys()].sort()).toEqual(['0.5', '0.75', '1', 'undefined']);
    } finally {
      w.close();
    }
  });

  it('a manifest lists the kinds; older models with the spawn event get the truth world\'s; undrawable kinds are left out', () => {
    const space = worldActionSpace();
    const m = (objects?: unknown) => ({ ...(objects === undefined ? {} : { objects }) }) as unknown as Manifest;
    expect(objectKindsOf(m({ kinds: ['lamp', 'orb'] }), space)).toEqual(['lamp', 'orb']);
    expect(objectKindsOf(m(), space)).toEqual([...OBJECT_KINDS]);
    expect(objectKindsOf(m(), { channels: space.channels.filter((c) => c.name !== 'spawn') })).toEqual([]);
    // A kind this runtime cannot draw (a model of a newer world) is left out, not fatal.
    expect(objectKindsOf(m({ kinds: ['lamp', 'sofa'] }), space)).toEqual(['lamp']);
    expect(() => objectKindsOf(m({ kinds: 'lamp' }), space)).toThrow(/objects\.kinds must be an array/);
    expect(() => objectKindsOf(m({ kinds: ['lamp', 3] }), space)).toThrow(/objects\.kinds must be an array of object kind names/);
  });

  it('placeKeyKind: a key places its kind if the world has it; B the next kind the world has after the last placed', () => {
    expect(placeKeyKind('lamp', ['pillar', 'lamp'], -1)).toBe('lamp');
    expect(placeKeyKind('orb', ['pillar', 'lamp'], -1)).toBeUndefined();
    expect(placeKeyKind('next', ['pillar', 'lamp'], -1)).toBe('pillar');
    expect(placeKeyKind('next', ['pillar', 'lamp'], OBJECT_KINDS.indexOf('pillar'))).toBe('lamp');
    expect(placeKeyKind('next', ['pillar', 'lamp'], OBJECT_KINDS.indexOf('lamp'))).toBe('pillar');
    expect(placeKeyKind('next', [], -1)).toBeUndefined();
  });

  it('keys 1-6 and pad B reach the loop as place commands; scripts take place and name a bad kind', () => {
    const mapper = new ActionMapper({ channels: worldLayout().channels }, defaultBindings());
    expect(['1', '2', '3', '4', '5', '6'].map((k) => mapper.handle({ type: 'keydown', key: k, repeat: false })[0])).toEqual([
      'placePillar', 'placeBarrel', 'placePlant', 'placeLamp', 'placeCrate', 'placeOrb',
    ]);
    expect(mapper.handle({ type: 'gamepaddown', gamepad: 0, button: 'b' })).toEqual(['placeNext']);
    const segs = parseActionScript([{ frames: 2, move: 1, place: 'crate' }, { frames: 1 }]);
    const steps = [...scriptSteps(segs, worldActionSpace())];
    expect(steps.map((s) => s.place)).toEqual(['crate', undefined, undefined]);
    expect(() => parseActionScript([{ frames: 1, place: 'sofa' }])).toThrow(/segments\[0\]\.place must be an object kind \(pillar, .*\); got "sofa"/);
  });
});

describe('placing in a model world', () => {
  it('draws the object into the frame and the context, keeps it, and refuses unknown kinds', async () => {
    const model = await loadModel(DEFAULT, { backend: 'cpu', threads: 1 });
    try {
      expect(objectKindsOf(model.info.manifest, model.actionSpace)).toEqual([...OBJECT_KINDS]);
      const seed = 2 ** 40 + 1;
      const w = modelWorld(model, seed);
      const first = (await w.reset()).rgb.slice();
      const before = w.state();
      await expect(w.placeObject('sofa' as never)).rejects.toThrow(/placeObject: unknown object kind "sofa" \(this world has pillar, /);
      expect(w.state()).toEqual(before);
      // A world that knows a wall leaves no room places nothing, and changes nothing.
      w.setPlacementDepthProvider(() => undefined);
      expect((await w.placeObject('barrel')).placed).toBe(false);
      expect(w.state()).toEqual(before);
      w.setPlacementDepthProvider(undefined);
      const { frame, placed } = await w.placeObject('barrel');
      expect(placed).toBe(true);
      expect(frame.index).toBe(0);
      // The frame on screen is the opening with the truth renderer's barrel drawn 1 cell ahead.
      const painter = new World(seed);
      const want = first.slice();
      const mask = new Uint8Array(128 * 128);
      try {
        painter.drawObject('barrel', { depth: PLACE_DEPTH, lateral: 0, localLight: PLACE_LOCAL_LIGHT }, want, mask);
      } finally {
        painter.close();
      }
      expect(mask.some((m) => m === 255)).toBe(true);
      expect(Buffer.from(frame.rgb).equals(Buffer.from(want))).toBe(true);
      const after = w.state();
      expect(after.frameIndex).toBe(0);
      expect(after.contextLatents).not.toEqual(before.contextLatents);
      // Eight still steps on, the model still draws it: closer to the truth world's barrel on the
      // barrel's pixels than the same world without it.
      const still = new Float32Array(model.dims.actionDim);
      const control = modelWorld(model, seed);
      await control.reset();
      let withObj = frame.rgb;
      let without = first;
      for (let i = 0; i < 8; i++) {
        withObj = (await w.step(still)).frame.rgb;
        without = (await control.step(still)).frame.rgb;
      }
      const truthActs = Array.from({ length: 9 }, () => new Float32Array(worldLayout().channels.length));
      const truthWith = truthFrames(seed, model.dims.context, truthActs, 128, 128, { step: 0, kind: 'barrel' });
      const truthWithout = truthFrames(seed, model.dims.context, truthActs, 128, 128);
      expect(objectKept(withObj, without, truthWith[8]!, truthWithout[8]!)).toBe(true);
      expect(objectPsnr(withObj, truthWith[8]!, truthWithout[8]!)! - objectPsnr(without, truthWith[8]!, truthWithout[8]!)!).toBeGreaterThan(2);
      w.close();
      control.close();
    } finally {
      await model.close();
    }
  });

  it('a placement by script or key is recorded and replays bit-exactly (model and truth)', async () => {
    const model = await loadModel(DEFAULT, { backend: 'cpu', threads: 1 });
    try {
      for (const make of [() => modelWorld(model), () => new TruthWorld({ seed: 3 })] as (() => FrameSource)[]) {
        const world = make();
        const script = parseActionScript([{ frames: 3, move: 1 }, { frames: 3, turn: 1, place: 'lamp' }, { frames: 2 }]);
        // Keys: after the script's first six steps, pad B (placeNext) places the kind after the lamp.
        const input = new KeyedScript(scriptSteps(script, world.actionSpace), 6, ['placeNext']);
        const rec = recorderFor(world, 3, 'place test');
        await new GameLoop({ source: world, input, observers: [rec], realtime: false, seed: 3 }).run();
        const r = decodeRecording(rec.encode());
        expect([...r.flags].map((f) => f & FLAG_PLACE)).toEqual([0, 0, 0, FLAG_PLACE, 0, 0, FLAG_PLACE, 0]);
        expect(r.header.placedObjects).toEqual(['lamp', 'crate']);
        const verifier = new ReplayVerifier(r);
        const again = make();
        await new GameLoop({ source: again, input: new RecordingInput(r), observers: [verifier], realtime: false, seed: 3 }).run();
        expect(verifier.exact).toBe(true);
        // Headers that do not match their flags are refused by name.
        const lost = { ...r, header: { ...r.header, placedObjects: ['lamp' as const] } };
        expect(() => decodeRecording(encodeRecording(lost), 'x.wlrec')).toThrow(/x.wlrec: 2 steps placed an object but header.placedObjects has 1 entries/);
        const odd = { ...r, header: { ...r.header, placedObjects: ['lamp', 'sofa'] } } as unknown as typeof r;
        expect(() => decodeRecording(encodeRecording(odd), 'x.wlrec')).toThrow(/header.placedObjects\[1\] = "sofa" is not an object kind/);
        world.close();
        again.close();
      }
    } finally {
      await model.close();
    }
  });
});

describe('no room in front', () => {
  it('a placement a wall leaves no room for is a no-op: not recorded, not remembered as a change', async () => {
    // A pose in seed 6 facing a wall too close for any placement depth.
    const probe = new World(6);
    const walls = probe.map();
    let facing: { x: number; y: number; yaw: number } | undefined;
    for (let cy = 1; cy < walls.size - 1 && !facing; cy++) {
      for (let cx = 1; cx < walls.size - 1 && !facing; cx++) {
        const pose = { x: cx + 0.75, y: cy + 0.5, yaw: 0 };
        if (walls.cells[cy * walls.size + cx] || !walls.cells[cy * walls.size + cx + 1]) continue;
        try {
          probe.setPose(pose.x, pose.y, pose.yaw);
        } catch {
          continue;
        }
        if (placeDepth(probe.pose(), walls) === undefined) facing = pose;
      }
    }
    probe.close();
    expect(facing).toBeDefined();
    class FacingWall extends TruthWorld {
      override async reset(seed?: number) {
        await super.reset(seed);
        this.world.setPose(facing!.x, facing!.y, facing!.yaw);
        return this.current();
      }
    }
    const world = new FacingWall({ seed: 6 });
    const rec = recorderFor(world, 6, 'place test');
    const steps = scriptSteps(parseActionScript([{ frames: 2, place: 'crate' }]), world.actionSpace);
    await new GameLoop({ source: world, input: new ScriptInput(steps), observers: [rec], realtime: false, seed: 6 }).run();
    expect(world.world.info().spawned_objects).toBe(0);
    const r = decodeRecording(rec.encode());
    expect([...r.flags]).toEqual([0, 0]);
    expect(r.header.placedObjects).toBeUndefined();
    world.close();
  });
});

describe('place keys (real window under xvfb)', () => {
  it('4 places a lamp in a truth session', async () => {
    const { windowTesting } = await import('../src/window.js');
    const { world: pw, done: session } = await startTruthWindowSession(8, { quicksave: 'unused.wlsave', shotsDir: '.' });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let spawned: number | undefined;
    try {
      await wait(300);
      windowTesting.pushKey('4', true);
      windowTesting.pushKey('4', false);
      await wait(300);
      spawned = (pw.world as TruthWorld).world.info().spawned_objects;
      windowTesting.pushKey('Escape', true);
      await session;
    } finally {
      await pw.close();
    }
    expect(spawned).toBe(1);
  });
});
