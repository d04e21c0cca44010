// Benchmarks are run by hand for minutes at a time: --help must answer at once, and a mistyped
// flag must stop with the flag named instead of running the defaults.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BenchArgs } from '../bench/bench_args.js';

const root = join(__dirname, '..');
const HELPERS = new Set(['bench_args', 'bench_json', 'edit_cost']);

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function parse(argv: string[]) {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exit(Number(code));
  });
  try {
    const a = BenchArgs.parse('Usage: bench [--seeds N] [--quick] [frames]', { values: ['seeds'], switches: ['quick'], positional: 1 }, argv);
    return { a, code: undefined as number | undefined, get text() { return out.join('\n'); } };
  } catch (e) {
    if (e instanceof Exit) return { a: undefined, code: e.code, get text() { return out.join('\n'); } };
    throw e;
  }
}

describe('bench flags', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads values, switches and positionals, with defaults', () => {
    const { a } = parse(['--seeds', '6', '--quick', '300']);
    expect(a!.num('seeds', 4, { min: 1 })).toBe(6);
    expect(a!.has('quick')).toBe(true);
    expect(a!.num('frames', 10, { position: 0 })).toBe(300);
    const d = parse([]).a!;
    expect(d.num('seeds', 4)).toBe(4);
    expect(d.has('quick')).toBe(false);
  });

  it('--help prints the usage and exits 0', () => {
    const r = parse(['--seeds', '2', '--help']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^Usage: bench/);
  });

  it('names what is wrong and exits 2', () => {
    const cases: [string[], RegExp][] = [
      [['--sedes', '6'], /unknown flag --sedes/],
      [['--seeds'], /--seeds needs a value/],
      [['--seeds', '--quick'], /--seeds needs a value/],
      [['1', '2'], /unexpected argument '2'/],
    ];
    for (const [argv, msg] of cases) {
      const r = parse(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.text).toMatch(msg);
      expect(r.text).toMatch(/Usage: bench/);
    }
    const bad = parse(['--seeds', 'x']);
    expect(() => bad.a!.num('seeds', 4)).toThrow(Exit);
    expect(bad.text).toMatch(/--seeds must be an integer; got 'x'/);
    const out = parse(['--seeds', '/no/such/dir/x.png']);
    expect(() => out.a!.outPath('seeds')).toThrow(Exit);
    expect(out.text).toMatch(/--seeds: directory '\/no\/such\/dir' does not exist/);
    expect(parse(['--seeds', 'x.png']).a!.outPath('seeds')).toBe('x.png');
    const low = parse(['--seeds', '0']);
    expect(() => low.a!.num('seeds', 4, { min: 1 })).toThrow(Exit);
    expect(low.text).toMatch(/--seeds must be >= 1; got 0/);
  });

  it('every benchmark script answers --help and refuses an unknown flag (built scripts in dist/bench)', () => {
    const scripts = readdirSync(join(root, 'bench'))
      .filter((f) => f.endsWith('.ts') && !HELPERS.has(f.slice(0, -3)))
      .map((f) => f.slice(0, -3));
    expect(scripts).toEqual(expect.arrayContaining(['run', 'engine', 'anchor_play']));
    for (const s of scripts) {
      const js = join(root, 'dist', 'bench', `${s}.js`);
      expect(existsSync(js), `${js} missing: run npm run build`).toBe(true);
      const help = spawnSync(process.execPath, [js, '--help'], { encoding: 'utf8', timeout: 30_000 });
      expect(help.status, `${s} --help`).toBe(0);
      expect(help.stdout, s).toMatch(/^Usage: /);
      const bad = spawnSync(process.execPath, [js, '--no-such-flag'], { encoding: 'utf8', timeout: 30_000 });
      expect(bad.status, `${s} --no-such-flag`).toBe(2);
      expect(bad.stderr).toMatch(/unknown flag --no-such-flag/);
    }
  });
});
