// Quality evaluations live under `worldloop eval <name>` (issue 21): the group lists every one,
// each answers --help with its own usage and refuses unknown flags with exit 2 (the CLI's one
// parser), and the cheap ones run end to end on the truth world and the tiny fixture model.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { EVALUATIONS } from '../src/cli/commands/eval.js';
import { runCli as cli } from './helpers/cli.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const NAMES = ['fidelity', 'revisit', 'anchor-play', 'near-return', 'relight', 'place-object', 'pose-tracking', 'sampler-steps', 'cache-oracle'];

const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('worldloop eval <name>', () => {
  it('worldloop eval --help lists every evaluation with its summary', async () => {
    expect(Object.keys(EVALUATIONS)).toEqual(NAMES);
    const r = await cli(['eval', '--help']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^usage: worldloop eval <name>/);
    const list = r.text.slice(r.text.indexOf('evaluations:'));
    for (const n of NAMES) expect(list).toMatch(new RegExp(`^  ${n} +\\S`, 'm'));
  });

  it('each evaluation answers --help with its usage and refuses an unknown flag with exit 2', async () => {
    for (const n of NAMES) {
      const help = await cli(['eval', n, '--help']);
      expect(help.code, n).toBe(0);
      expect(help.text, n).toMatch(new RegExp(`^usage: worldloop eval ${n} `));
      expect(help.text, n).toMatch(/exit status: 0 success/);
      const bad = await cli(['eval', n, '--no-such-flag']);
      expect(bad.code, n).toBe(2);
      expect(bad.text, n).toMatch(new RegExp(`unknown flag --no-such-flag \\(see: worldloop eval ${n} --help\\)`));
    }
  });

  it('without a known name it is a usage error (exit 2)', async () => {
    for (const argv of [['eval'], ['eval', 'bogus'], ['eval', '--model', TINY]]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.text).toMatch(/worldloop eval --help/);
    }
    expect((await cli(['revisit', '--help'])).code).toBe(2); // now `worldloop eval revisit`
  });

  it('checks values before any work: ranges, the light, an output directory', async () => {
    expect((await cli(['eval', 'anchor-play', '--model', TINY, '--frames', '100'])).code).toBe(2);
    const tint = await cli(['eval', 'relight', '--model', TINY, '--tint', '2,2']);
    expect(tint.code).toBe(2);
    expect(tint.text).toMatch(/tint must be three numbers/);
    const sheet = await cli(['eval', 'anchor-play', '--model', TINY, '--sheet', '/no/such/dir/x.png']);
    expect(sheet.code).toBe(2);
    expect(sheet.text).toMatch(/--sheet: directory '\/no\/such\/dir' does not exist/);
    const short = await cli(['eval', 'near-return', '--model', TINY, '--away', '6', '--short', '3']);
    expect(short.code).toBe(2);
    expect(short.text).toMatch(/--short 3 is more than the loop's 2 exploration steps/);
  });

  it('pose-tracking and sampler-steps run and print their JSON lines', async () => {
    const pose = await cli(['eval', 'pose-tracking', '--seeds', '1', '--frames', '50']);
    expect(pose.code).toBe(0);
    const lines = jsonLines(pose.text);
    expect(lines.map((l) => l.tracker)).toEqual(['dead_reckoning', 'with_walls']);
    expect(lines[0]).toMatchObject({ eval: 'pose_tracking', seeds: 1, frames: 50 });
    expect(lines[0]!.machine).toEqual(expect.any(String));
    const steps = await cli(['eval', 'sampler-steps', '--model', TINY, '--seeds', '1', '--threads', '1']);
    expect(steps.code).toBe(0);
    expect(jsonLines(steps.text)[0]).toMatchObject({ bench: 'sampler_steps', backend: 'cpu', model: TINY, cases: 3 });
  });

  it('relight and anchor-play run on the tiny model through the world play builds', async () => {
    const relight = await cli(['eval', 'relight', '--model', TINY, '--seeds', '1', '--warm', '2', '--after', '4', '--cost-runs', '2', '--threads', '1']);
    expect(relight.code).toBe(0);
    const [cost, rep] = jsonLines(relight.text);
    expect(cost).toMatchObject({ bench: 'relight_cost', samples: 2, median_ms: expect.any(Number), p95_ms: expect.any(Number), p99_ms: expect.any(Number) });
    expect(Object.keys(rep!.horizons as object)).toEqual(['1', '4']);
    const play = await cli(['eval', 'anchor-play', '--model', TINY, '--seeds', '1', '--frames', '130', '--threads', '1']);
    expect(play.code).toBe(0);
    const full = jsonLines(play.text)[0]!;
    expect(full).toMatchObject({ bench: 'anchor_play', frames: 130, eval_budget: null, plain: expect.any(Object), anchor: expect.any(Object) });
    // Under a budget of one evaluation the tiny model (2 sampler steps) samples once a frame and
    // anchors only one step away: other frames, and no more anchoring than without it.
    const one = await cli(['eval', 'anchor-play', '--model', TINY, '--seeds', '1', '--frames', '130', '--threads', '1', '--eval-budget', '1']);
    expect(one.code).toBe(0);
    const lim = jsonLines(one.text)[0]!;
    expect(lim.eval_budget).toBe(1);
    const psnrOf = (r: Record<string, unknown>, m: string) => (r[m] as { psnr_vs_truth_db: unknown }).psnr_vs_truth_db;
    expect(psnrOf(lim, 'plain')).not.toEqual(psnrOf(full, 'plain'));
    const share = (r: Record<string, unknown>) => (r.anchor as { anchored_share: number }).anchored_share;
    expect(share(lim)).toBeLessThanOrEqual(share(full));
    expect((await cli(['eval', 'anchor-play', '--model', TINY, '--eval-budget', '0'])).code).toBe(2);
  }, 60_000);
});
