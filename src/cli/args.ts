/**
 * The one flag parser: the `worldloop` commands and the speed benches in bench/ use it. --name
 * value, --name=value, boolean --flag, positionals. Unknown flags are an error that names the
 * flag and points to --help.
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
  /** Where an unknown flag's message points (default: worldloop <command> --help). */
  helpHint = `worldloop ${command} --help`,
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
        `${command}: unknown flag --${name} (see: ${helpHint})`,
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
    flags[name] = parseNumber(command, `--${name}`, raw, s);
  }
  return { flags, positionals, help };
}

/** A number or int flag's value (or a positional's), checked against its spec. */
export function parseNumber(command: string, what: string, raw: string, s: FlagSpec): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (s.kind === 'int' && !Number.isInteger(v))) {
    throw new InvalidArgumentError(`${command}: ${what} must be ${s.kind === 'int' ? 'an integer' : 'a number'}; got '${raw}'`);
  }
  if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) {
    throw new InvalidArgumentError(`${command}: ${what} must be in [${s.min ?? '-inf'}, ${s.max ?? 'inf'}]; got ${v}`);
  }
  return v;
}

/**
 * parseArgs for a script run with node (the speed benches in bench/), which runs for minutes, so
 * a typo must not silently run the defaults: --help prints `usage` and exits 0; a usage error (an
 * unknown flag, a missing or malformed value, more than `maxPositionals` positionals) prints what
 * is wrong and the usage, and exits 2 — the CLI's usage status.
 */
export function parseScriptArgs(
  script: string,
  usage: string,
  spec: Record<string, FlagSpec>,
  opts: { maxPositionals?: number; argv?: string[] } = {},
): ParsedArgs & { positionalNumber(index: number, name: string, def: number, s: FlagSpec): number } {
  const fail = (msg: string): never => {
    console.error(`${msg}\n\n${usage}`);
    process.exit(2);
  };
  let a: ParsedArgs;
  try {
    a = parseArgs(script, opts.argv ?? process.argv.slice(2), spec, `node dist/bench/${script}.js --help`);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return fail(err.message);
    throw err;
  }
  if (a.help) {
    console.log(usage);
    process.exit(0);
  }
  if (a.positionals.length > (opts.maxPositionals ?? 0)) fail(`${script}: unexpected argument '${a.positionals[opts.maxPositionals ?? 0]}'`);
  return {
    ...a,
    positionalNumber(index, name, def, s) {
      const raw = a.positionals[index];
      if (raw === undefined) return def;
      try {
        return parseNumber(script, name, raw, s);
      } catch (err) {
        return fail((err as Error).message);
      }
    },
  };
}
