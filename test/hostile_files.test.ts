// Hostile files: every format the CLI reads (model, save, recording, bindings, script, image),
// mutated with a seed (values inside well-formed files with the checksum recomputed, and plain
// byte damage), each run by the real launcher in its own process with a hang timeout. A run must
// end (no hang), end by itself (no signal, no stack trace, an exit status the CLI defines), and
// either run cleanly or refuse the file by name (exit 3), or fail naming it (exit 1: a replay
// whose frames differ, a model whose outputs overflow). Exit 2 (usage) would mean a bad file was
// reported as a bad command line.
//
// CI runs WL_FUZZ_PER_FORMAT files per format (default 10); the nightly run sets it higher:
//   WL_FUZZ_PER_FORMAT=350 npx vitest run test/hostile_files.test.ts
// WL_FUZZ_SEED picks another seed; WL_FUZZ_REPORT=path writes the per-format counts as JSON.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { encodePng } from '../src/image/png.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { runCli } from './helpers/cli.js';
import { mutateJsonFile, mutateModel, mutatePng, mutateRecording, mutateSave, rng, type Rng } from './fuzz/hostile_mutations.js';
import { runLauncher as runLauncherWithTimeout, type LauncherRun } from './helpers/launcher.js';

const ROOT = projectRoot();
const TINY = join(ROOT, 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const PER_FORMAT = Number(process.env.WL_FUZZ_PER_FORMAT ?? 10);
const SEED = Number(process.env.WL_FUZZ_SEED ?? 20);
/** Generous: a run that has not ended by then is a hang (clean runs take about a second). */
const HANG_MS = 30_000;
/** Runs at once (the machine's cores; each run is one Node process). */
const PARALLEL = 2;

type Run = LauncherRun;

function runLauncher(args: string[]): Promise<Run> {
  return runLauncherWithTimeout(ROOT, args, HANG_MS, { ...process.env, WL_FUZZ_CHILD: '1' });
}

type Verdict = 'clean' | 'refused' | 'failed' | 'hang' | 'crash' | 'unnamed' | 'usage';

/** What a run did, judged by the rules above. `file` must appear in any refusal. */
function judge(run: Run, file: string): Verdict {
  if (run.timedOut) return 'hang';
  // An uncaught exception is printed by the launcher as a stack ("    at ...").
  if (run.signal !== null || /\n\s+at .+:\d+:\d+\)?/.test(run.text)) return 'crash';
  if (run.code === 0) return 'clean';
  if (run.code === 2) return 'usage';
  if (run.code === 3) return run.text.includes(file) ? 'refused' : 'unnamed';
  // 1: the run failed (a replay whose frames differ, a model whose outputs are not finite).
  if (run.code === 1) return run.text.includes(file) ? 'failed' : 'unnamed';
  return 'crash';
}

interface Format {
  name: string;
  ext: string;
  /** The i-th mutated file's bytes. */
  mutate(r: Rng, i: number): Uint8Array;
  /** The command line that reads it (alternates between the commands that read the format). */
  command(file: string, i: number): string[];
}

let dir = '';
const base: Record<string, Uint8Array> = {};
const bytes = (p: string) => new Uint8Array(readFileSync(p));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-hostile-'));
  const ok = async (args: string[]) => {
    const r = await runCli(args);
    expect(r.code, r.text).toBe(0);
  };
  await ok(['save', join(dir, 'truth.wlsave'), '--truth', '--frames', '4']);
  await ok(['save', join(dir, 'model.wlsave'), '--model', TINY, '--backend', 'cpu', '--frames', '4']);
  await ok(['truth', '--headless', '--frames', '6', '--record', join(dir, 'truth.wlrec')]);
  await ok(['play', '--headless', '--model', TINY, '--backend', 'cpu', '--frames', '6', '--record', join(dir, 'model.wlrec')]);
  for (const n of ['truth.wlsave', 'model.wlsave', 'truth.wlrec', 'model.wlrec']) base[n] = bytes(join(dir, n));
  base.model = bytes(TINY);
  const rgb = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) % 256);
  base.png = encodePng(40, 30, rgb, 3);
  mkdirSync(join(dir, 'files'));
  mkdirSync(join(dir, 'out'));
}, 120_000);

const ACTION_SCRIPT = { segments: [{ frames: 2, action: { move: 1 } }, { frames: 1, turn: -0.5, setLight: { level: 0.4, tint: [1, 0.6, 0.4] } }, { frames: 1, events: ['spawn'] }, { frames: 1, place: 'lamp' }] };
const WORLD_SCRIPT = { segments: [{ frames: 2, move: 1 }, { frames: 1, turn: 0.5, light: true }, { frames: 1, spawn: 'lamp' }] };

const FORMATS: Format[] = [
  {
    name: 'model',
    ext: 'safetensors',
    mutate: (r) => mutateModel(r, base.model!),
    command: (f, i) => (i % 2 === 0 ? ['info', f] : ['play', '--headless', '--model', f, '--backend', 'cpu', '--threads', '1', '--frames', '2']),
  },
  {
    name: 'save',
    ext: 'wlsave',
    mutate: (r, i) => mutateSave(r, base[i % 2 === 0 ? 'truth.wlsave' : 'model.wlsave']!),
    command: (f) => ['load', f, '--headless', '--frames', '2', '--model', TINY, '--backend', 'cpu', '--threads', '1'],
  },
  {
    name: 'recording',
    ext: 'wlrec',
    mutate: (r, i) => mutateRecording(r, base[i % 2 === 0 ? 'truth.wlrec' : 'model.wlrec']!),
    command: (f) => ['replay', f, '--model', TINY, '--threads', '1'],
  },
  {
    name: 'bindings',
    ext: 'json',
    mutate: (r) => mutateJsonFile(r, defaultBindings()),
    command: (f, i) => (i % 2 === 0 ? ['keys', '--bindings', f] : ['truth', '--headless', '--frames', '2', '--bindings', f]),
  },
  {
    name: 'script',
    ext: 'json',
    mutate: (r, i) => mutateJsonFile(r, i % 2 === 0 ? ACTION_SCRIPT : WORLD_SCRIPT),
    command: (f, i) => (i % 2 === 0 ? ['truth', '--headless', '--script', f, '--frames', '5'] : ['render', '--script', f, '--frames', '4', '--out', join(dir, 'out', `r${i}`)]),
  },
  {
    name: 'image',
    ext: 'png',
    mutate: (r) => mutatePng(r, base.png!),
    command: (f) => ['play', '--headless', '--model', TINY, '--backend', 'cpu', '--threads', '1', '--frames', '2', '--start-image', f],
  },
];

/** Runs jobs PARALLEL at a time, in order of index. */
async function runAll<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

describe('hostile files', () => {
  it(`${PER_FORMAT} mutated files per format (seed ${SEED}): no hang, no crash, a clean run or a refusal naming the file`, async () => {
    const jobs: (() => Promise<{ format: string; file: string; verdict: Verdict; run: Run }>)[] = [];
    for (const [fi, fmt] of FORMATS.entries()) {
      const r = rng(SEED * 1000 + fi);
      for (let i = 0; i < PER_FORMAT; i++) {
        const file = join(dir, 'files', `${fmt.name}-${i}.${fmt.ext}`);
        writeFileSync(file, fmt.mutate(r, i));
        const args = fmt.command(file, i);
        jobs.push(async () => {
          const run = await runLauncher(args);
          return { format: fmt.name, file, verdict: judge(run, file), run };
        });
      }
    }
    const results = await runAll(jobs);
    const counts: Record<string, Record<string, number>> = {};
    for (const x of results) {
      const c = (counts[x.format] ??= {});
      c[x.verdict] = (c[x.verdict] ?? 0) + 1;
    }
    console.log(`hostile files (seed ${SEED}, ${PER_FORMAT} per format): ${JSON.stringify(counts)}; slowest run ${Math.max(...results.map((x) => x.run.ms)).toFixed(0)} ms`);
    if (process.env.WL_FUZZ_REPORT) writeFileSync(process.env.WL_FUZZ_REPORT, JSON.stringify({ seed: SEED, perFormat: PER_FORMAT, counts }, null, 2));
    const bad = results.filter((x) => !['clean', 'refused', 'failed'].includes(x.verdict));
    expect(bad.map((x) => `${x.verdict}: ${x.file} (exit ${x.run.code}${x.run.signal ? `, ${x.run.signal}` : ''}): ${x.run.text.slice(-600)}`)).toEqual([]);
    // The mutations must reach the validators, not only the checksums: most files are refused.
    for (const fmt of FORMATS) expect(counts[fmt.name]?.refused ?? 0, fmt.name).toBeGreaterThan(0);
  }, 3_600_000);
});
