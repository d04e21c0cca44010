/**
 * Command-line flags of the TS benchmarks. They are run by hand, often for minutes, so a typo must
 * not silently run the defaults: `--help` prints the usage and exits 0; an unknown flag, a flag
 * without its value or a value that is not a number where one is needed prints what is wrong and
 * the usage, and exits 2.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveModelPath, DEFAULT_MODEL } from '../src/play/model_path.js';

export interface BenchArgSpec {
  /** flags that take a value: `--name V` */
  values?: string[];
  /** flags that stand alone: `--name` */
  switches?: string[];
  /** how many bare positional arguments are allowed */
  positional?: number;
}

export class BenchArgs {
  private constructor(
    private readonly usage: string,
    private readonly values: Map<string, string>,
    private readonly switches: Set<string>,
    private readonly positionals: string[],
  ) {}

  static parse(usage: string, spec: BenchArgSpec, argv: string[] = process.argv.slice(2)): BenchArgs {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(usage);
      process.exit(0);
    }
    const values = new Map<string, string>();
    const switches = new Set<string>();
    const positionals: string[] = [];
    const fail = (msg: string): never => BenchArgs.fail(usage, msg);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (!a.startsWith('--')) {
        if (positionals.length >= (spec.positional ?? 0)) fail(`unexpected argument '${a}'`);
        positionals.push(a);
        continue;
      }
      const name = a.slice(2);
      if (spec.switches?.includes(name)) {
        switches.add(name);
      } else if (spec.values?.includes(name)) {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith('--')) fail(`${a} needs a value`);
        values.set(name, v);
        i++;
      } else {
        fail(`unknown flag ${a}`);
      }
    }
    return new BenchArgs(usage, values, switches, positionals);
  }

  private static fail(usage: string, msg: string): never {
    console.error(`${msg}\n\n${usage}`);
    process.exit(2);
  }

  str(name: string): string | undefined {
    return this.values.get(name);
  }

  /** A file the bench writes at the end: its directory must exist now, before minutes of work. */
  outPath(name: string): string | undefined {
    const path = this.values.get(name);
    if (path !== undefined && !existsSync(dirname(resolve(path)))) {
      BenchArgs.fail(this.usage, `--${name}: directory '${dirname(resolve(path))}' does not exist`);
    }
    return path;
  }

  has(name: string): boolean {
    return this.switches.has(name);
  }

  /** A numeric flag (or, with `position`, the positional argument at that index). */
  /** `--model PATH`, resolved as the CLI resolves it (default: the shipped model). */
  modelPath(): string {
    return resolveModelPath(this.str('model') ?? DEFAULT_MODEL);
  }

  num(name: string, def: number, opts: { integer?: boolean; min?: number; position?: number } = {}): number {
    const raw = opts.position !== undefined ? this.positionals[opts.position] : this.values.get(name);
    if (raw === undefined) return def;
    const v = Number(raw);
    const what = opts.position !== undefined ? name : `--${name}`;
    if (!Number.isFinite(v) || (opts.integer !== false && !Number.isInteger(v))) {
      BenchArgs.fail(this.usage, `${what} must be ${opts.integer !== false ? 'an integer' : 'a number'}; got '${raw}'`);
    }
    if (opts.min !== undefined && v < opts.min) BenchArgs.fail(this.usage, `${what} must be >= ${opts.min}; got ${v}`);
    return v;
  }
}
