// World saves: the file format (checksum, version, truncation), atomic writes that never clobber
// an existing save, and continuing a world bit-identically after save + load — on the tiny
// fixture model and on the truth world (with light and spawn events), through the API and the CLI.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { loadModel } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { TruthWorld } from '../src/world.js';
import { truthOpening } from '../src/play/truth_start.js';
import { modelSourceId } from '../src/record/source_identity.js';
import { decodeSave, encodeSave, SAVE_VERSION } from '../src/save/format.js';
import { writeFileAtomic, type AtomicFs } from '../src/save/atomic_write.js';
import { captureSave, checkSaveSource, readSave, restoreSave, writeSave } from '../src/save/world_save.js';
import { openWorld } from '../src/play/open_world.js';
import { MemoryStore } from '../src/memory/memory_store.js';
import { PoseTracker } from '../src/memory/pose_tracker.js';
import { loadRecording } from '../src/record/replay.js';
import * as fs from 'node:fs';
import { runCli as cli } from './helpers/cli.js';
import { copyWithOneWeightChanged } from './helpers/model_files.js';
import { startTruthWindowSession } from './helpers/window_session.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wl-save-'));
}

function sampleHeader() {
  return {
    format: 'worldloop-save' as const,
    kind: 'model' as const,
    sourceId: 'sha256:' + '0'.repeat(64),
    label: 'test',
    backend: 'cpu',
    seed: 7,
    frameIndex: 12,
    settings: { width: 4, height: 2, steps: 2 },
    actionSpace: { channels: [{ name: 'move', min: -1, max: 1, kind: 'axis' as const }] },
    light: { level: 1, tint: [1, 1, 1] as [number, number, number], preset: 0 },
    createdAt: '2026-01-01T00:00:00Z',
  };
}

function sampleSections() {
  return new Map<string, Float32Array | Float64Array | Uint8Array>([
    ['frame', Uint8Array.from({ length: 24 }, (_, i) => i * 7)],
    ['context_latents', Float32Array.from([1.5, -2.25, 3e-7])],
    ['context_actions', Float32Array.from([0.5])],
    ['path', Float64Array.from([1, 2 ** 40 + 3])],
  ]);
}

/** A deterministic action for step i: varied axes, and the world's events now and then. */
function actionAt(i: number, channels: string[]): Float32Array {
  const a = new Float32Array(channels.length);
  channels.forEach((name, c) => {
    if (name === 'move') a[c] = Math.sin(i * 0.37) * 0.9;
    else if (name === 'strafe') a[c] = Math.cos(i * 0.21) * 0.5;
    else if (name === 'turn') a[c] = Math.sin(i * 0.13 + 1) * 0.7;
    else if (name === 'light') a[c] = i % 9 === 4 ? 1 : 0;
    else if (name === 'spawn') a[c] = i % 7 === 3 ? 1 : 0;
  });
  return a;
}

describe('save file format', () => {
  it('round-trips every section type exactly', () => {
    const bytes = encodeSave(sampleHeader(), sampleSections());
    const s = decodeSave(bytes, 'x.wlsave');
    expect(s.header.seed).toBe(7);
    expect(s.header.sections.map((x) => [x.name, x.type, x.bytes])).toEqual([
      ['frame', 'u8', 24],
      ['context_latents', 'f32', 12],
      ['context_actions', 'f32', 4],
      ['path', 'f64', 16],
    ]);
    for (const [k, v] of sampleSections()) expect(Array.from(s.sections.get(k)!)).toEqual(Array.from(v));
  });

  it('refuses corrupt, truncated, wrong-version and foreign files with the reason', () => {
    const good = encodeSave(sampleHeader(), sampleSections());
    const flipped = good.slice();
    flipped[40]! ^= 0x20;
    expect(() => decodeSave(flipped, 'a.wlsave')).toThrow(/a\.wlsave: checksum mismatch.*corrupt/);
    expect(() => decodeSave(good.subarray(0, good.length - 5), 'b.wlsave')).toThrow(/b\.wlsave: checksum mismatch|truncated/);
    expect(() => decodeSave(good.subarray(0, 20), 'c.wlsave')).toThrow(/c\.wlsave: truncated/);
    const v2 = good.slice();
    new DataView(v2.buffer).setUint32(8, SAVE_VERSION + 1, true);
    expect(() => decodeSave(v2, 'd.wlsave')).toThrow(new RegExp(`d\\.wlsave: save format version ${SAVE_VERSION + 1} is not supported`));
    const png = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, ...new Array(60).fill(0)]);
    expect(() => decodeSave(png, 'e.wlsave')).toThrow(/not a worldloop save file/);
    // A well-formed file whose header lies about a section is caught by validation, not a crash.
    const h = { ...sampleHeader(), seed: -1 };
    expect(() => decodeSave(encodeSave(h, sampleSections()), 'f.wlsave')).toThrow(/header\.seed/);
  });
});

describe('atomic write', () => {
  it('replaces the file, and a failed write leaves the old save untouched with no temp file', () => {
    const dir = tmp();
    const path = join(dir, 'world.wlsave');
    writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    expect(Array.from(readFileSync(path))).toEqual([1, 2, 3]);
    writeFileAtomic(path, Uint8Array.from([4, 5, 6, 7]));
    expect(Array.from(readFileSync(path))).toEqual([4, 5, 6, 7]);

    // Disk full half-way through the new file.
    let calls = 0;
    const failing: AtomicFs = {
      ...fs,
      writeSync: (fd, data, off, len) => {
        if (calls++ > 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return fs.writeSync(fd, data, off, Math.min(len, 2));
      },
    };
    expect(() => writeFileAtomic(path, new Uint8Array(100).fill(9), failing)).toThrow(/cannot write .*world\.wlsave.*ENOSPC.*unchanged/);
    expect(Array.from(readFileSync(path))).toEqual([4, 5, 6, 7]);
    expect(readdirSync(dir)).toEqual(['world.wlsave']);

    // Failing at the rename (e.g. the target became a directory) also keeps everything clean.
    const failRename: AtomicFs = { ...fs, renameSync: () => { throw new Error('EXDEV: cross-device link'); } };
    expect(() => writeFileAtomic(path, Uint8Array.from([8]), failRename)).toThrow(/EXDEV/);
    expect(Array.from(readFileSync(path))).toEqual([4, 5, 6, 7]);
    expect(readdirSync(dir)).toEqual(['world.wlsave']);
  });
});

describe('persistent source', () => {
  it('idle() waits for the step and its observers; a failed step does not block it; resumeWith restores on reset', async () => {
    const { PersistentSource } = await import('../src/play/persistent_source.js');
    let finish!: (v: unknown) => void;
    let fail!: (e: unknown) => void;
    const frame = { width: 1, height: 1, rgb: new Uint8Array(3), index: 0 };
    const inner = {
      kind: 'model' as const, actionSpace: { channels: [] }, width: 1, height: 1, label: 'fake',
      reset: async () => frame,
      step: () => new Promise<{ frame: typeof frame; stages: Record<string, number> }>((res, rej) => { finish = res as (v: unknown) => void; fail = rej; }),
      pose: () => undefined, close: () => undefined,
    };
    const src = new PersistentSource(inner);
    let idle = false;
    const step = src.step(new Float32Array(0));
    void src.idle().then(() => (idle = true));
    finish({ frame, stages: {} });
    await step;
    await new Promise((r) => setTimeout(r, 5));
    expect(idle).toBe(false); // the step is done but its observers have not run yet
    src.settleObserver.stepFinished!(frame, {});
    await new Promise((r) => setTimeout(r, 5));
    expect(idle).toBe(true);
    const bad = src.step(new Float32Array(0));
    fail(new Error('boom'));
    await expect(bad).rejects.toThrow(/boom/);
    await src.idle(); // resolves: nothing waits on a failed step forever
    const restored = { ...frame, index: 42 };
    src.resumeWith(() => restored);
    expect((await src.reset(1)).index).toBe(42);
    expect(src.label).toBe('fake (loaded)');
    expect((await src.reset(1)).index).toBe(0); // later resets start over
  });
});

describe('continuing a saved world', () => {
  it('model world: N steps, save, M steps == load, same M steps (bit-identical), memory and pose too', async () => {
    const model = await loadModel(TINY, { backend: 'cpu', threads: 1 });
    const k = model.dims.context;
    const opening = (seed: number) => truthOpening(seed, k, model.dims.frameWidth, model.dims.frameHeight);
    const names = model.actionSpace.channels.map((c) => c.name);
    const dir = tmp();
    const file = join(dir, 'm.wlsave');
    const sourceId = await modelSourceId(TINY);
    try {
      const w1 = new ModelWorld(model, { seed: 11, opening });
      const mem1 = new MemoryStore({ latentSize: model.latentSize, capacity: 8 });
      const tr1 = new PoseTracker(model.actionSpace, { speeds: { moveSpeed: 0.12, strafeSpeed: 0.09, turnSpeedDeg: 5 }, start: { x: 5, y: 6, yaw: 0.5 } });
      let frame = await w1.reset();
      for (let i = 0; i < 9; i++) {
        const a = actionAt(i, names);
        tr1.update(a);
        frame = (await w1.step(a)).frame;
        mem1.add(w1.state().contextLatents.subarray((k - 1) * model.latentSize), tr1.pose(), frame.index);
      }
      mem1.markChange(5); // an event at frame 5: looks before it are stale, after loading too
      writeSave(file, captureSave({ source: w1, sourceId, backend: 'cpu', frame, memory: mem1, tracker: tr1 }));
      const savedRgb = frame.rgb.slice(); // frame is a view the next step overwrites
      const after: Uint8Array[] = [];
      for (let i = 9; i < 21; i++) after.push((await w1.step(actionAt(i, names))).frame.rgb.slice());

      const save = readSave(file);
      checkSaveSource(save, sourceId, file);
      const w2 = new ModelWorld(model, { seed: 999, opening });
      await w2.reset(); // a different world first: restore must overwrite all of it
      await w2.step(actionAt(0, names));
      const mem2 = new MemoryStore({ latentSize: model.latentSize, capacity: 8 });
      const tr2 = new PoseTracker(model.actionSpace, { speeds: tr1.speeds });
      const shown = restoreSave(save, w2, { memory: mem2, tracker: tr2 }, file);
      expect(Buffer.from(shown.rgb).equals(Buffer.from(savedRgb))).toBe(true);
      expect(shown.index).toBe(9);
      expect(mem2.toArrays()).toEqual(mem1.toArrays());
      expect(mem2.changedAt).toBe(5);
      // A save from before header.memory.changedAt existed: every stored look counts as stale.
      const { changedAt: _drop, ...oldMemory } = save.header.memory!;
      const sections = new Map([...save.sections].map(([k, v]) => [k, v]));
      const { sections: _s, ...header } = save.header;
      const older = decodeSave(encodeSave({ ...header, memory: oldMemory as typeof save.header.memory & object }, sections), 'older');
      const mem3 = new MemoryStore({ latentSize: model.latentSize, capacity: 8 });
      restoreSave(older, new ModelWorld(model, { seed: 1, opening }), { memory: mem3 }, 'older');
      expect(mem3.changedAt).toBe(9);
      expect(() => decodeSave(encodeSave({ ...header, memory: { ...oldMemory, changedAt: -3 } as typeof oldMemory }, sections), 'bad')).toThrow(
        /header\.memory\.changedAt must be a frame index/,
      );
      expect(tr2.pose()).toEqual(tr1.pose());
      expect(Array.from(tr2.path())).toEqual(Array.from(tr1.path()));
      for (let i = 9; i < 21; i++) {
        const got = (await w2.step(actionAt(i, names))).frame;
        expect(got.index).toBe(i + 1);
        expect(Buffer.from(got.rgb).equals(Buffer.from(after[i - 9]!)), `frame ${i + 1}`).toBe(true);
      }
      // And the continuation is not trivially equal to any other run: a different seed differs.
      const w3 = new ModelWorld(model, { seed: 12, opening });
      await w3.reset();
      let differs = false;
      for (let i = 0; i < 21; i++) {
        const f = (await w3.step(actionAt(i, names))).frame;
        if (i >= 9 && !Buffer.from(f.rgb).equals(Buffer.from(after[i - 9]!))) differs = true;
      }
      expect(differs).toBe(true);
    } finally {
      await model.close();
    }
  });

  it('truth world with light and spawn events: continues bit-identically', async () => {
    const names = ['move', 'strafe', 'turn', 'light', 'spawn'];
    const dir = tmp();
    const file = join(dir, 't.wlsave');
    const w1 = new TruthWorld({ seed: 21 });
    expect(w1.actionSpace.channels.map((c) => c.name)).toEqual(names);
    let frame = await w1.reset();
    for (let i = 0; i < 30; i++) frame = (await w1.step(actionAt(i, names))).frame;
    expect(w1.world.info().spawned_objects).toBeGreaterThan(0);
    writeSave(file, captureSave({ source: w1, sourceId: 'truth:21', backend: 'truth', frame }));
    const after: Uint8Array[] = [];
    for (let i = 30; i < 60; i++) after.push((await w1.step(actionAt(i, names))).frame.rgb.slice());
    const info1 = w1.world.info();
    w1.close();

    const w2 = new TruthWorld({ seed: 21 });
    await w2.reset();
    const save = readSave(file);
    expect(save.header.kind).toBe('truth');
    restoreSave(save, w2, {}, file);
    for (let i = 30; i < 60; i++) {
      const got = (await w2.step(actionAt(i, names))).frame;
      expect(Buffer.from(got.rgb).equals(Buffer.from(after[i - 30]!)), `frame ${i + 1}`).toBe(true);
    }
    expect(w2.world.info().light).toEqual(info1.light);
    expect(w2.world.info().spawned_objects).toBe(info1.spawned_objects);
    w2.close();
  });

  it('refuses a save made by another model file, naming both', async () => {
    const dir = tmp();
    const file = join(dir, 'm.wlsave');
    let r = await cli(['save', file, '--model', TINY, '--backend', 'cpu', '--threads', '1', '--frames', '5', '--seed', '2']);
    expect(r.code).toBe(0);
    const other = copyWithOneWeightChanged(TINY, join(dir, 'other.safetensors'));
    await expect(openWorld({ load: file, modelPath: other, backend: 'cpu' })).rejects.toThrow(/made by sha256:[0-9a-f]{64}, but .* is sha256:[0-9a-f]{64} \(a different model file/);
    r = await cli(['load', file, '--model', other, '--backend', 'cpu', '--headless', '--frames', '1']);
    expect(r.code).toBe(3); // a bad input file
    expect(r.text).toMatch(/different model file/);
  });
});

describe('worldloop save / load', () => {
  it('save + load continues the session exactly like one uninterrupted run (recorded frame CRCs)', async () => {
    const dir = tmp();
    const seg = (frames: number, action: Record<string, number>) => ({ frames, action });
    const partA = [seg(6, { move: 1, turn: 0.3 }), seg(4, { strafe: -0.5 })];
    const partB = [seg(5, { turn: -1 }), seg(7, { move: 0.6, strafe: 0.4 })];
    const write = (name: string, segments: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify({ segments }));
      return p;
    };
    const full = join(dir, 'full.wlrec');
    const part = join(dir, 'part.wlrec');
    const save = join(dir, 's.wlsave');
    const common = ['--model', TINY, '--backend', 'cpu', '--threads', '1'];
    let r = await cli(['play', '--headless', ...common, '--seed', '4', '--script', write('ab.json', [...partA, ...partB]), '--record', full]);
    expect(r.code).toBe(0);
    r = await cli(['save', save, ...common, '--seed', '4', '--script', write('a.json', partA)]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/saved: .*s\.wlsave .*frame 10/);
    r = await cli(['load', save, ...common, '--headless', '--script', write('b.json', partB), '--record', part]);
    expect(r.code).toBe(0);
    const f = loadRecording(full).frameCrcs;
    const p = loadRecording(part).frameCrcs;
    expect(f.length).toBe(22);
    expect(p.length).toBe(12);
    expect(Array.from(p)).toEqual(Array.from(f.subarray(10)));

    // --info describes it; an existing file is not replaced without --force; corruption is named.
    r = await cli(['load', save, '--info']);
    expect(r.text).toMatch(/\(model world\)\n.*sha256:.*\n\s*seed\s+4, frame 10/);
    r = await cli(['save', join(dir, 'no', 'such', 'dir.wlsave'), ...common, '--frames', '1']);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/directory .*no\/such' does not exist/);
    r = await cli(['save', save, ...common, '--frames', '1']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/exists; pass --force/);
    const bytes = readFileSync(save);
    bytes[bytes.length - 40]! ^= 0xff;
    const bad = join(dir, 'bad.wlsave');
    writeFileSync(bad, bytes);
    r = await cli(['load', bad, ...common, '--headless', '--frames', '1']);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/bad\.wlsave: checksum mismatch/);
    r = await cli(['load', join(dir, 'missing.wlsave'), '--headless']);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/cannot read save .*missing\.wlsave/);
    expect(existsSync(save)).toBe(true);
  });

  it('a save in the middle of a revisit continues with the same anchored frames (memory, change time, noise keys)', async () => {
    const dir = tmp();
    const seg = (frames: number, action: Record<string, number>) => ({ frames, action });
    // Turn away and back twice: the second half anchors on views stored before the save.
    const partA = [seg(12, { turn: 1 }), seg(6, { turn: -1 })];
    const partB = [seg(6, { turn: -1 }), seg(12, { turn: 1 }), seg(12, { turn: -1 })];
    const write = (name: string, segments: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify({ segments }));
      return p;
    };
    const common = ['--model', TINY, '--backend', 'cpu', '--threads', '1', '--seed', '6'];
    const full = join(dir, 'full.wlrec');
    const part = join(dir, 'part.wlrec');
    const save = join(dir, 'a.wlsave');
    let r = await cli(['play', '--headless', ...common, '--script', write('ab.json', [...partA, ...partB]), '--record', full]);
    expect(r.code).toBe(0);
    const anchored = Number(/revisit anchoring: (\d+) frames?/.exec(r.text)?.[1]);
    r = await cli(['save', save, ...common, '--script', write('a.json', partA)]);
    expect(r.code).toBe(0);
    const before = Number(/revisit anchoring: (\d+) frames?/.exec(r.text)?.[1]);
    r = await cli(['load', save, '--model', TINY, '--backend', 'cpu', '--threads', '1', '--headless', '--script', write('b.json', partB), '--record', part]);
    expect(r.code).toBe(0);
    const after = Number(/revisit anchoring: (\d+) frames?/.exec(r.text)?.[1]);
    expect(after).toBeGreaterThan(0);
    expect(before + after).toBe(anchored);
    const f = loadRecording(full).frameCrcs;
    const p = loadRecording(part).frameCrcs;
    expect(Array.from(p)).toEqual(Array.from(f.subarray(18)));
  });

  it('truth saves: save --truth, load, save again', async () => {
    const dir = tmp();
    const a = join(dir, 'a.wlsave');
    const b = join(dir, 'b.wlsave');
    let r = await cli(['save', a, '--truth', '--seed', '6', '--frames', '20']);
    expect(r.code).toBe(0);
    r = await cli(['load', a, '--headless', '--frames', '10', '--save-to', b]);
    expect(r.code).toBe(0);
    expect(readSave(b).header.frameIndex).toBe(30);
    expect(readSave(b).header.kind).toBe('truth');
  });
});

describe('in-game save and load keys (real window under xvfb)', () => {
  it('F5 saves the running world, F9 puts it back (pose, frame counter, spawned objects)', async () => {
    const { windowTesting } = await import('../src/window.js');
    const dir = tmp();
    const quick = join(dir, 'quick.wlsave');
    const lines: string[] = [];
    const { world: pw, done: session } = await startTruthWindowSession(8, { quicksave: quick, shotsDir: dir, log: (l) => lines.push(l) });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      await wait(300);
      windowTesting.pushKey('Space', true); // spawn an object: part of what the save must keep
      windowTesting.pushKey('Space', false);
      windowTesting.pushKey('Left', true);
      await wait(250);
      windowTesting.pushKey('Left', false);
      await wait(100);
      windowTesting.pushKey('F5', true);
      await wait(200);
      const saved = readSave(quick);
      windowTesting.pushKey('W', true);
      windowTesting.pushKey('Right', true);
      await wait(300);
      windowTesting.pushKey('W', false);
      windowTesting.pushKey('Right', false);
      windowTesting.pushKey('R', true); // start over from the seed (drops the spawned object)
      await wait(150);
      expect(pw.world.kind).toBe('truth');
      const truth = pw.world as TruthWorld;
      expect(truth.world.info().spawned_objects).toBe(0);
      windowTesting.pushKey('F9', true);
      await wait(250);
      const pose = truth.pose();
      const info = truth.world.info();
      windowTesting.pushKey('Escape', true);
      await session;
      expect(lines.join('\n')).toMatch(/saved: .*quick\.wlsave/);
      expect(lines.join('\n')).toMatch(/loading: .*quick\.wlsave/);
      expect(lines.join('\n')).not.toMatch(/failed/);
      // Standing still since the load: the pose is the saved one, the object is back, and the
      // frame counter continued from the saved frame.
      expect(pose).toEqual(saved.header.pose);
      expect(info.spawned_objects).toBe(1);
      expect(info.frame_index).toBeGreaterThanOrEqual(saved.header.frameIndex);
      expect(pw.tracker.pose()).toEqual(pose); // the pose estimate came back with it
    } finally {
      await pw.close();
    }
  });
});
