// `worldloop eval revisit`: the revisit eval from the CLI on the tiny fixture model (random weights, so
// only the plumbing is checked: loops found, every mode reported, files written, bad flags named).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { decodePng } from '../src/image/png.js';
import { runCli as cli } from './helpers/cli.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

describe('worldloop eval revisit', () => {
  it('runs the loops, reports plain and anchored returns, and writes the JSON and the sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wl-revisit-'));
    const r = await cli(['eval', 'revisit', '--model', TINY, '--seeds', '3', '--away', '12', '--threads', '1', '--out', out]);
    expect(r.code).toBe(0);
    const line = r.text.split('\n').find((l) => l.startsWith('{"eval":"revisit"'));
    expect(line).toBeDefined();
    const rep = JSON.parse(line!);
    expect(rep.away_frames).toBe(12);
    expect(rep.seeds).toBeGreaterThan(0);
    expect(rep.machine).toMatch(/ x\d+$/);
    expect(rep.memory).toBe('model has no memory slots'); // the fixture has none
    expect(rep.plain.spawned_object_kept).toBe('model has no spawn channel');
    // The loops turn (the undo steps turn back), so there are turning steps to judge; the
    // fixture's random weights follow none of them reliably.
    expect(rep.plain.turn_agreement.steps).toBeGreaterThan(0);
    expect(rep.anchor.turn_agreement.steps).toBe(rep.plain.turn_agreement.steps);
    expect(rep.plain.turn_agreement.agreement).toBeGreaterThanOrEqual(0);
    expect(rep.plain.turn_agreement.agreement).toBeLessThan(0.9);
    expect(rep.plain.placed_object_kept).toMatch(/not measured: the model has no object kind 'lamp' \(manifest objects.kinds: none\)/);
    // The loop comes back to its exact start pose, where the opening is stored: the return is anchored.
    expect(rep.anchor.return_frame_anchored).toBe(`${rep.seeds}/${rep.seeds}`);
    expect(Number.isFinite(rep.plain.psnr_return_vs_first_db)).toBe(true);
    expect(rep.anchor.return_identical_to_first).toMatch(/^\d+\/\d+$/);
    expect(rep.per_seed).toHaveLength(rep.seeds);
    expect(r.text).toMatch(/revisit: seed \d+, 12 frames away: return vs first visit plain .* dB, anchor .* dB/);
    expect(readFileSync(join(out, 'revisit.json'), 'utf8').trim()).toBe(line);
    const sheet = decodePng(readFileSync(join(out, 'revisit_sheet.png')));
    expect(sheet.width).toBeGreaterThan(4 * 32); // truth first, truth return, plain first, plain return, anchor return
    expect(rep.eval_budget).toBeNull();

    // Under a frame budget of one evaluation bridges reach one step: fewer frames anchor, and
    // the exact return (no bridge needed) still does.
    const b = await cli(['eval', 'revisit', '--model', TINY, '--seeds', '3', '--away', '12', '--threads', '1', '--eval-budget', '1']);
    expect(b.code).toBe(0);
    const lim = JSON.parse(b.text.split('\n').find((l) => l.startsWith('{"eval":"revisit"'))!);
    expect(lim.eval_budget).toBe(1);
    expect(lim.anchor.anchored_frames_mean).toBeLessThan(rep.anchor.anchored_frames_mean);
    expect(lim.anchor.return_frame_anchored).toBe(`${lim.seeds}/${lim.seeds}`);
  });

  it('names bad flags and exits 2', async () => {
    let r = await cli(['eval', 'revisit', '--model', TINY, '--modes', 'plain,dreams']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/unknown mode 'dreams'; choose from plain, memory, anchor/);
    r = await cli(['eval', 'revisit', '--model', TINY, '--place', 'sofa']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/--place takes pillar, barrel, plant, lamp, crate, orb or none; got 'sofa'/);
    r = await cli(['eval', 'revisit', '--model', TINY, '--away', '200,x']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/--away takes frame counts in 3..100000; got 'x'/);
    r = await cli(['eval', 'revisit', '--help']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/usage: worldloop eval revisit/);
  });
});
