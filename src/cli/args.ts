/**
 * Small flag parser shared by the subcommands: --name value, --name=value, boolean --flag,
 * positionals. Unknown flags are an error that names the flag and points to --help.
 */
import { InvalidArgumentError } from '../errors.js';

export type FlagKind = 'string' | 'number' | 'int' | 'boolean';
export interface FlagSpec {
  kind: FlagKind;
  /** Inclusive bounds for number/int flags. */
  min?: number;
  max?: number;
  choices?: readonly string[];
}
export interface ParsedArgs {
  flags: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseArgs(
  command: string,
  argv: string[],
  spec: Record<string, FlagSpec>,
): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    const s = spec[name];
    if (!s) {
      throw new InvalidArgumentError(
        `${command}: unknown flag --${name} (see: worldloop ${command} --help)`,
      );
    }
    if (s.kind === 'boolean') {
      if (eq >= 0) {
        const v = a.slice(eq + 1);
        if (v !== 'true' && v !== 'false') {
          throw new InvalidArgumentError(`${command}: --${name} takes true or false, got '${v}'`);
        }
        flags[name] = v === 'true';
      } else {
        flags[name] = true;
      }
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      raw = argv[i + 1];
      i++;
    }
    if (raw === undefined) {
      throw new InvalidArgumentError(`${command}: --${name} needs a value`);
    }
    if (s.kind === 'string') {
      if (s.choices && !s.choices.includes(raw)) {
        throw new InvalidArgumentError(
          `${command}: --${name} must be one of ${s.choices.join(', ')}; got '${raw}'`,
        );
      }
      flags[name] = raw;
      continue;
    }
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || (s.kind === 'int' && !Number.isInteger(v))) {
      throw new InvalidArgumentError(
        `${command}: --${name} must be ${s.kind === 'int' ? 'an integer' : 'a number'}; got '${raw}'`,
      );
    }
    if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) {
      throw new InvalidArgumentError(
        `${command}: --${name} must be in [${s.min ?? '-inf'}, ${s.max ?? 'inf'}]; got ${v}`,
      );
    }
    flags[name] = v;
  }
  return { flags, positionals, help };
}
