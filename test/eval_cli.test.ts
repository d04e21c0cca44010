import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalArgs, repoRoot } from '../src/cli/commands/eval/fidelity.js';
import { main } from '../src/cli/main.js';

describe('worldloop eval fidelity', () => {
  const root = repoRoot();
  const dir = mkdtempSync(join(tmpdir(), 'wl-eval-'));
  const model = join(dir, 'm.safetensors');
  writeFileSync(model, 'x');

  it('finds the repository root with the train package', () => {
    expect(root).toMatch(/\S/);
  });

  it('builds the python command line from the flags', () => {
    const { python, args } = evalArgs(
      ['--model', model, '--quick', '--config', 'smoke', '--worlds', '3', '--python', 'py'],
      root,
    );
    expect(python).toBe('py');
    expect(args.slice(0, 3)).toEqual(['-m', 'train', 'eval']);
    expect(args).toContain('--quick');
    expect(args[args.indexOf('--model') + 1]).toBe(model);
    expect(args[args.indexOf('--config') + 1]).toBe('smoke');
    expect(args[args.indexOf('--worlds') + 1]).toBe('3');
    expect(args[args.indexOf('--device') + 1]).toBe('cpu');
  });

  it('rejects bad flags before starting python, naming the problem', () => {
    expect(() => evalArgs(['--model', join(dir, 'missing.safetensors')], root)).toThrow(
      /model file not found/,
    );
    expect(() => evalArgs(['--model', model, '--config', 'huge'], root)).toThrow(/--config/);
    expect(() => evalArgs(['--model', model, '--steps', '9'], root)).toThrow(/--steps/);
    expect(() => evalArgs(['--model', model, '--bogus'], root)).toThrow(/unknown flag --bogus/);
    expect(() => evalArgs(['--model', model, 'extra'], root)).toThrow(/unexpected argument/);
  });

  it('is registered in the CLI and exits with a usage code on bad input', async () => {
    expect(await main(['eval', 'fidelity', '--model', join(dir, 'nope.safetensors')])).toBe(2);
  });

  it('passes the evaluator exit status through (a file that is not a model fails)', async () => {
    const code = await main(['eval', 'fidelity', '--model', model, '--quick']);
    expect(code).not.toBe(0);
  }, 60_000);
});
