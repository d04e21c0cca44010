/** The flags every command that opens a model takes: which file, which backend, how many threads. */
import type { FlagSpec } from './args.js';

export const MODEL_FLAGS: Record<string, FlagSpec> = {
  model: { kind: 'string' },
  backend: { kind: 'string', choices: ['cpu', 'cuda', 'auto'] },
  threads: { kind: 'int', min: 0, max: 1024 },
};
