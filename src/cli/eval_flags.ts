/** The flags the model evaluations (`worldloop eval <name>`) share, and what they become. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FlagSpec, ParsedArgs } from './args.js';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_MODEL, resolveModelPath } from '../play/model_path.js';

/** --model and --threads: the evaluations run on the CPU backend. */
export const EVAL_MODEL_FLAGS: Record<string, FlagSpec> = {
  model: { kind: 'string' },
  threads: { kind: 'int', min: 0, max: 1024 },
};

export const EVAL_MODEL_HELP = `  --model PATH        model file (default ${DEFAULT_MODEL})
  --threads N         CPU threads (default: all cores)`;

/** --eval-budget N: the evals that run the world play builds can run it under a fixed frame budget. */
export const EVAL_BUDGET_FLAG: Record<string, FlagSpec> = { 'eval-budget': { kind: 'int', min: 1, max: 8 } };

export const EVAL_BUDGET_HELP = `  --eval-budget N     every frame spends at most N denoiser evaluations (sampler steps plus
                      bridge steps past the first), as play's frame budget makes a machine too
                      slow for the full frame do (docs/runtime.md); default: no limit`;

/** --eval-budget as modelFrames' option (src/eval/frames.ts): 0 = no limit. */
export function evalBudget(a: ParsedArgs): number {
  return (a.flags['eval-budget'] as number | undefined) ?? 0;
}

/** --model, resolved as play resolves it (default: the shipped model). */
export function evalModelPath(a: ParsedArgs): string {
  return resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
}

/** --threads (0 = all cores). */
export function evalThreads(a: ParsedArgs): number {
  return (a.flags.threads as number | undefined) ?? 0;
}

/** A file written at the end: its directory must exist now, before minutes of work. */
export function outFile(command: string, a: ParsedArgs, flag: string): string | undefined {
  const path = a.flags[flag] as string | undefined;
  if (path !== undefined && !existsSync(dirname(resolve(path)))) {
    throw new InvalidArgumentError(`${command}: --${flag}: directory '${dirname(resolve(path))}' does not exist`);
  }
  return path;
}

/** No positional arguments. */
export function noPositionals(command: string, a: ParsedArgs): void {
  if (a.positionals.length) throw new InvalidArgumentError(`${command}: unexpected argument '${a.positionals[0]}' (see: worldloop ${command} --help)`);
}
