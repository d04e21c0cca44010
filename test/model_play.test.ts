// The runtime over a neural world: the tiny fixture model (random weights, 3 actions, 32×32)
// played headless through the CLI, recorded, and replayed bit-exactly on the CPU backend; a
// recording refuses a different model file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { loadRecording } from '../src/record/replay.js';
import { runCli as cli } from './helpers/cli.js';
import { copyWithOneWeightChanged } from './helpers/model_files.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

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
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/recorded with sha256:.*but this source is sha256:.*same model file/);
  });
});
