/** `worldloop play`: play a neural world model in a window (or headless). */
import { existsSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { DEFAULT_MODEL, openModel, resolveModelPath } from '../../loop/open_source.js';
import { runSession } from '../../loop/session.js';
import { WorldloopError } from '../../errors.js';
import type { BackendName } from '../../model.js';

const help = `usage: worldloop play [--model PATH] [--backend B] [--fps N] [--steps N] [--seed N] [flags]

Plays a world model: each frame the model samples the next latent from the last frames and your
action, then decodes it. The world starts from the ground-truth world's view for --seed.

model:
  --model PATH        .safetensors model (default ${DEFAULT_MODEL})
  --backend B         cpu, cuda or auto (default auto: CUDA when available)
  --threads N         CPU threads (default: all cores)
  --steps N           denoising steps per frame, 1..8 (default: the model's)
${SESSION_HELP}

examples:
  worldloop play --hud
  worldloop play --backend cuda --steps 2 --record run.wlrec
  worldloop play --headless --frames 600 --trace play.trace.json`;

const command: Command = {
  name: 'play',
  summary: 'play a world model (window or headless)',
  help,
  async run(argv) {
    const a = parseArgs('play', argv, {
      ...SESSION_FLAGS,
      model: { kind: 'string' },
      backend: { kind: 'string', choices: ['cpu', 'cuda', 'auto'] },
      threads: { kind: 'int', min: 0, max: 1024 },
      steps: { kind: 'int', min: 1, max: 8 },
    });
    const f = sessionFlags('play', a);
    const path = resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
    if (!existsSync(path)) {
      throw new WorldloopError(
        'WL_IO',
        `no model at '${path}'. Train one (see docs/training.md), pass --model PATH, ` +
          `or play the ground-truth world meanwhile: worldloop truth`,
      );
    }
    const opened = await openModel(path, {
      backend: (a.flags.backend as BackendName | undefined) ?? 'auto',
      seed: f.seed,
      ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
      ...(a.flags.steps !== undefined ? { steps: a.flags.steps as number } : {}),
    });
    try {
      await runSession({
        ...f,
        source: opened.source,
        sourceId: opened.sourceId,
        backend: opened.backend,
        ...(opened.steps !== undefined ? { steps: opened.steps } : {}),
        log: (l) => console.log(l),
      });
    } finally {
      await opened.close();
    }
    return 0;
  },
};
export default command;
