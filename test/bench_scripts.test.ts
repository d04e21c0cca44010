// The speed benches in bench/ are run by hand for minutes at a time, on the CLI's flag parser
// (parseScriptArgs over parseArgs, src/cli/args.ts): --help must answer at once, and a mistyped
// flag must stop with the flag named (exit 2) instead of running the defaults. bench/ holds
// speed benches only; quality evaluations are `worldloop eval <name>` (test/eval_commands.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseScriptArgs } from '../src/cli/args.js';

const root = join(__dirname, '..');

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
  const text = () => out.join('\n');
  try {
    const a = parseScriptArgs('bench', 'Usage: bench [--seeds N] [--quick] [frames]', { seeds: { kind: 'int', min: 1 }, quick: { kind: 'boolean' } }, { maxPositionals: 1, argv });
    return { a, code: undefined as number | undefined, text };
  } catch (e) {
    if (e instanceof Exit) return { a: undefined, code: e.code, text };
    throw e;
  }
}

describe('bench script flags', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads values, switches and positionals, with defaults', () => {
    const { a } = parse(['--seeds', '6', '--quick', '300']);
    expect(a!.flags.seeds).toBe(6);
    expect(a!.flags.quick).toBe(true);
    expect(a!.positionalNumber(0, 'frames', 10, { kind: 'int', min: 1 })).toBe(300);
    const d = parse([]).a!;
    expect(d.flags.seeds).toBeUndefined();
    expect(d.positionalNumber(0, 'frames', 10, { kind: 'int', min: 1 })).toBe(10);
  });

  it('--help prints the usage and exits 0', () => {
    const r = parse(['--seeds', '2', '--help']);
    expect(r.code).toBe(0);
    expect(r.text()).toMatch(/^Usage: bench/);
  });

  it('names what is wrong, prints the usage and exits 2', () => {
    const cases: [string[], RegExp][] = [
      [['--sedes', '6'], /unknown flag --sedes/],
      [['--seeds'], /--seeds needs a value/],
      [['--seeds', 'x'], /--seeds must be an integer; got 'x'/],
      [['--seeds', '0'], /--seeds must be in \[1, inf\]; got 0/],
      [['1', '2'], /unexpected argument '2'/],
    ];
    for (const [argv, msg] of cases) {
      const r = parse(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.text()).toMatch(msg);
      expect(r.text()).toMatch(/Usage: bench/);
    }
    const bad = parse(['x']);
    expect(() => bad.a!.positionalNumber(0, 'frames', 10, { kind: 'int', min: 1 })).toThrow(Exit);
    expect(bad.text()).toMatch(/frames must be an integer; got 'x'/);
  });

  it('every bench script answers --help and refuses an unknown flag (built scripts in dist/bench)', () => {
    const scripts = readdirSync(join(root, 'bench'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3));
    // Speed only: the quality measurements moved to `worldloop eval <name>`.
    expect(scripts.sort()).toEqual(['engine', 'frame', 'present', 'run', 'web']);
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
