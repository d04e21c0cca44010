// The runtime over a neural world: the tiny fixture model (random weights, 3 actions, 32×32)
// played headless through the CLI, recorded, and replayed bit-exactly on the CPU backend; a
// recording refuses a different model file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { loadRecording } from '../src/record/replay.js';
import { encodeRecording } from '../src/record/format.js';
import { encodePng } from '../src/image/png.js';
import { runCli as cli } from './helpers/cli.js';
import { copyWithOneWeightChanged } from './helpers/model_files.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const TINY_MEMORY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_memory_model.safetensors');

describe('play with a model (headless)', () => {
  it('records a model session and replays it bit-exactly; another model file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-model-'));
    const rec = join(dir, 'm.wlrec');
    let r = await cli(['play', '--headless', '--model', TINY, '--backend', 'cpu', '--frames', '24', '--seed', '5', '--record', rec]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/denoise0/); // per-denoiser-step stage times reach the profiler
    expect(r.text).toMatch(/decode/);
    const header = loadRecording(rec).header;
    expect(header.sourceKind).toBe('model');
    expect(header.sourceId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(header.actionSpace.channels.map((c) => c.name)).toEqual(['move', 'strafe', 'turn']);

    r = await cli(['replay', rec, '--model', TINY, '--backend', 'cpu']);
    expect(r.text).toMatch(/24 frames bit-exact/);
    expect(r.code).toBe(0);

    // Same architecture, one weight byte different: a different model, refused by hash.
    const other = copyWithOneWeightChanged(TINY, join(dir, 'other.safetensors'));
    r = await cli(['replay', rec, '--model', other, '--backend', 'cpu']);
    expect(r.code).toBe(3); // a recording that does not belong to this model: a bad input file
    expect(r.text).toMatch(/recorded with sha256:.*but this source is sha256:.*same model file/);
  });

  it('a memory model with revisit anchoring records and replays bit-exactly; --no-anchor and --no-memory-slots are recorded too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-anchor-'));
    const script = join(dir, 'turn.json');
    // Turn away and back (turning never meets a wall): the way back passes stored views.
    writeFileSync(script, JSON.stringify({ segments: [{ frames: 12, action: { turn: 1 } }, { frames: 12, action: { turn: -1 } }] }));
    // The fixture renders 4x4 frames, below the truth world's smallest, so it opens on a picture.
    const image = join(dir, 'start.png');
    writeFileSync(image, encodePng(8, 8, new Uint8Array(8 * 8 * 3).map((_, i) => (i * 37) & 255), 3));
    const common = ['--headless', '--model', TINY_MEMORY, '--backend', 'cpu', '--threads', '1', '--start-image', image, '--script', script];
    const on = join(dir, 'on.wlrec');
    const off = join(dir, 'off.wlrec');
    const noSlots = join(dir, 'no-slots.wlrec');
    let r = await cli(['play', ...common, '--record', on]);
    expect(r.code).toBe(0);
    const anchored = Number(/revisit anchoring: (\d+) frames? re-grounded/.exec(r.text)?.[1]);
    expect(anchored).toBeGreaterThan(0);
    expect(r.text).toMatch(/last: frame 24, on the view from frame 0, one step away\)/);
    r = await cli(['play', ...common, '--no-anchor', '--record', off]);
    expect(r.code).toBe(0);
    expect(r.text).not.toMatch(/revisit anchoring/);
    r = await cli(['play', ...common, '--no-memory-slots', '--record', noSlots]);
    expect(r.code).toBe(0);
    expect(loadRecording(noSlots).header.settings.runtime).toMatchObject({ memorySlots: false, anchor: true });
    // The slots change frames that are not anchored (the fixture's memory weights are not zero).
    expect(Array.from(loadRecording(noSlots).frameCrcs)).not.toEqual(Array.from(loadRecording(on).frameCrcs));
    const hOn = loadRecording(on).header.settings.runtime;
    const hOff = loadRecording(off).header.settings.runtime;
    expect(hOn).toEqual({ memorySlots: true, anchor: true, anchorSteps: 3, storeEvery: 4, memoryCapacity: 1024, startImage: image });
    expect(hOff).toMatchObject({ anchor: false });
    // Anchoring changed frames; each recording replays as it was made.
    expect(Array.from(loadRecording(on).frameCrcs)).not.toEqual(Array.from(loadRecording(off).frameCrcs));
    // One-step anchoring, as recordings made before multi-step bridges were: a recording without
    // anchorSteps replays that way.
    const oneStep = join(dir, 'one-step.wlrec');
    r = await cli(['play', ...common, '--anchor-steps', '1', '--record', oneStep]);
    expect(r.code).toBe(0);
    const old = loadRecording(oneStep);
    expect(old.header.settings.runtime).toMatchObject({ anchor: true, anchorSteps: 1 });
    // The turn back passes views two and three steps away, so one-step anchoring makes other frames.
    expect(Array.from(old.frameCrcs)).not.toEqual(Array.from(loadRecording(on).frameCrcs));
    delete (old.header.settings.runtime as Record<string, unknown>).anchorSteps;
    const legacy = join(dir, 'legacy.wlrec');
    writeFileSync(legacy, encodeRecording(old));
    for (const rec of [on, off, noSlots, oneStep, legacy]) {
      r = await cli(['replay', rec, '--model', TINY_MEMORY, '--backend', 'cpu', '--threads', '1']);
      expect(r.text).toMatch(/24 frames bit-exact/);
      expect(r.code).toBe(0);
    }
    r = await cli(['play', ...common, '--no-anchor', '--anchor-steps', '2']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/--anchor-steps .* does nothing with --no-anchor/);
  });

  it('in real time the frame budget lowers what frames spend to keep the tick, and the recording replays bit-exactly', async () => {
    // The shipped model cannot keep a 240 Hz tick anywhere, so the budget must act.
    const dir = mkdtempSync(join(tmpdir(), 'wl-budget-'));
    const rec = join(dir, 'b.wlrec');
    const common = ['--headless', '--realtime', '--fps', '240', '--frames', '24', '--threads', '1'];
    let r = await cli(['play', ...common, '--record', rec]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/frame budget: \d+ of 24 frames \(\d+ %\) spent fewer denoiser evaluations than the world's 4/);
    const budgets = loadRecording(rec).header.evalBudgets ?? [];
    expect(budgets.length).toBeGreaterThan(0);
    expect(budgets.every((b) => b >= 1 && b < 4)).toBe(true);
    r = await cli(['replay', rec, '--threads', '1']);
    expect(r.text).toMatch(/24 frames bit-exact/);
    expect(r.code).toBe(0);
    const off = join(dir, 'off.wlrec');
    r = await cli(['play', ...common, '--no-frame-budget', '--record', off]);
    expect(r.code).toBe(0);
    expect(r.text).not.toMatch(/frame budget:/);
    expect(loadRecording(off).header.evalBudgets).toBeUndefined();
  });
});
