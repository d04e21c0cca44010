/**
 * `worldloop eval fidelity`: measures a model file against the ground-truth world by running the Python
 * evaluator (`python3 -m train eval`, train/eval.py) — PSNR/SSIM at horizons 1/8/32/128 beside the
 * autoencoder ceiling and copy-last-frame, sharpness ratio, action agreement, events, collapse,
 * engine parity — and writes eval.json + contact_sheet.png.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../../command.js';
import { parseArgs } from '../../args.js';
import { InvalidArgumentError, WorldloopError } from '../../../errors.js';

const FLAGS = {
  model: { kind: 'string' },
  config: { kind: 'string', choices: ['smoke', 'cpu', 'gpu'] },
  out: { kind: 'string' },
  quick: { kind: 'boolean' },
  'engine-lib': { kind: 'string' },
  python: { kind: 'string' },
  device: { kind: 'string', choices: ['auto', 'cpu', 'cuda'] },
  worlds: { kind: 'int', min: 1, max: 256 },
  'collapse-frames': { kind: 'int', min: 16, max: 100000 },
  steps: { kind: 'int', min: 1, max: 8 },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1 },
} as const;

const HELP = `usage: worldloop eval fidelity [--model FILE] [flags]

Evaluates a model file against the ground-truth world on held-out seeds (runs
python3 -m train eval; needs Python with PyTorch and numpy, and libworldloop.so).

flags:
  --model FILE           model (.safetensors); default models/default.safetensors
  --config NAME          smoke | cpu | gpu: eval sizes (worlds, horizons); default cpu
  --out DIR              where eval.json and contact_sheet.png go; default <model dir>/eval
  --quick                fewer clips and a 256-frame collapse check
  --device NAME          auto | cpu | cuda (default cpu)
  --worlds N             held-out worlds for the rollout metrics
  --collapse-frames N    self-rolled frames in the collapse check (default 2000)
  --steps N              sampler steps (1..8)
  --engine-lib FILE      libworldloop.so for the engine parity check (default: build dirs)
  --python EXE           interpreter with torch (default /usr/bin/python3 when present)
  --seed N               noise seed of the model rollouts

example:
  worldloop eval fidelity --model models/default.safetensors --quick`;

/** The repository root: the nearest ancestor of this file that holds train/__main__.py. */
export function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'train', '__main__.py'))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new WorldloopError('WL_IO', 'cannot find the train/ package next to this installation');
    }
    dir = up;
  }
}

export function defaultPython(): string {
  // Debian's python3-torch lives in /usr/bin/python3; another python3 may come first on PATH.
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Validates the flags and returns the interpreter argv (without the interpreter itself). */
export function evalArgs(argv: string[], root: string): { python: string; args: string[] } {
  const { flags, positionals } = parseArgs('eval fidelity', argv, FLAGS);
  if (positionals.length) {
    throw new InvalidArgumentError(`eval fidelity: unexpected argument '${positionals[0]}' (use --model FILE)`);
  }
  const model = resolve(String(flags.model ?? join(root, 'models', 'default.safetensors')));
  if (!existsSync(model) || !statSync(model).isFile()) {
    throw new InvalidArgumentError(`eval fidelity: model file not found: ${model}`);
  }
  const args = ['-m', 'train', 'eval', '--model', model, '--config', String(flags.config ?? 'cpu')];
  if (flags.out !== undefined) args.push('--out', resolve(String(flags.out)));
  if (flags.quick) args.push('--quick');
  args.push('--device', String(flags.device ?? 'cpu'));
  if (flags['engine-lib'] !== undefined) {
    const lib = resolve(String(flags['engine-lib']));
    if (!existsSync(lib)) throw new InvalidArgumentError(`eval fidelity: --engine-lib not found: ${lib}`);
    args.push('--engine-lib', lib);
  }
  for (const k of ['worlds', 'collapse-frames', 'steps', 'seed'] as const) {
    if (flags[k] !== undefined) args.push(`--${k}`, String(flags[k]));
  }
  return { python: String(flags.python ?? defaultPython()), args };
}

const command: Command = {
  name: 'fidelity',
  summary: 'the training eval (PyTorch): PSNR/SSIM vs truth beside baselines, actions, events, collapse',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const root = repoRoot();
    const { python, args } = evalArgs(argv, root);
    return await new Promise<number>((resolveRun, reject) => {
      const child = spawn(python, args, { cwd: root, stdio: 'inherit' });
      child.on('error', (err) =>
        reject(new WorldloopError('WL_IO', `eval fidelity: cannot start ${python}: ${err.message}`)),
      );
      child.on('exit', (code, signal) => resolveRun(signal ? 1 : (code ?? 1)));
    });
  },
};

export default command;
