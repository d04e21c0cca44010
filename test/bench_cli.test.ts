// `worldloop bench` end to end on the truth world and the tiny fixture model: the bare worlds by
// default, and with --runtime inside the runtime play builds around them (memory store, revisit
// anchoring), which the lines say and whose anchored frames they count.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { runCli as cli } from './helpers/cli.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('worldloop bench', () => {
  it('measures the bare worlds by default: lockstep and paced lines for truth and the model', async () => {
    const r = await cli(['bench', '--model', TINY, '--frames', '12', '--fps', '60']);
    expect(r.code, r.text).toBe(0);
    const lines = jsonLines(r.text);
    expect(lines.map((l) => `${l.bench} ${l.model === 'truth' ? 'truth' : 'model'}`)).toEqual([
      'e2e_step truth',
      'e2e_paced truth',
      'e2e_step model',
      'e2e_paced model',
    ]);
    for (const l of lines) {
      expect(l.runtime).toBe(false);
      expect(l).not.toHaveProperty('anchored_frames');
    }
    // The paced model run runs under the frame budget, as play does; the others have none.
    const paced = lines[3]!;
    expect(paced).toMatchObject({ frame_budget: true, evals_full: 2 });
    expect(typeof paced.budget_limited_frames).toBe('number');
    expect(paced.evals_per_frame_mean as number).toBeGreaterThanOrEqual(1);
    for (const l of lines.slice(0, 3)) expect(l).not.toHaveProperty('frame_budget', true);
  });

  it('--no-frame-budget runs the paced model loop at full evaluations', async () => {
    const r = await cli(['bench', '--model', TINY, '--frames', '12', '--fps', '60', '--no-frame-budget']);
    expect(r.code, r.text).toBe(0);
    const paced = jsonLines(r.text).find((l) => l.bench === 'e2e_paced' && l.model !== 'truth')!;
    expect(paced.frame_budget).toBe(false);
    expect(paced).not.toHaveProperty('budget_limited_frames');
  });

  it('--runtime measures them inside play runtime and counts the anchored frames', async () => {
    const r = await cli(['bench', '--model', TINY, '--frames', '12', '--fps', '60', '--runtime']);
    expect(r.code, r.text).toBe(0);
    const lines = jsonLines(r.text);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l.runtime).toBe(true);
    // The truth world has no anchoring; the model world does (it may or may not re-ground in 12 frames).
    expect(lines.filter((l) => l.model === 'truth').map((l) => l.anchored_frames)).toEqual([null, null]);
    for (const l of lines.filter((l) => l.model !== 'truth')) {
      expect(typeof l.anchored_frames).toBe('number');
      expect(l.frames as number).toBeGreaterThan(0);
    }
    // The lockstep run's random walk (seeded, untimed) comes back to where it was: the runtime's
    // observers reached the loop, so anchoring re-grounded frames (none would without them).
    const lock = lines.find((l) => l.bench === 'e2e_step' && l.model !== 'truth')!;
    expect(lock.anchored_frames as number).toBeGreaterThan(0);
  });

  it('refuses a value on --runtime and names the flag', async () => {
    const r = await cli(['bench', '--runtime=yes']);
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/--runtime/);
  });
});
