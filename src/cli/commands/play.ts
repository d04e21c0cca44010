/** `worldloop play`: play a neural world model in a window (or headless). */
import { existsSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { DEFAULT_MODEL, resolveModelPath } from '../../loop/open_source.js';
import { loadPersistentWorld, openPersistentWorld } from '../../save/persistent_world.js';
import { DEFAULT_QUICKSAVE, RUNTIME_FLAGS, RUNTIME_HELP, runtimeOptions, runPersistent } from '../persist_flags.js';
import { InputFileError, WorldloopError } from '../../errors.js';
import type { BackendName } from '../../model.js';

const help = `usage: worldloop play [--model PATH] [--backend B] [--fps N] [--display-fps N] [--steps N] [--seed N] [flags]

Plays a world model: each frame the model samples the next latent from the last frames and your
action, then decodes it. The world starts from the ground-truth world's view for --seed.

model:
  --model PATH        .safetensors model (default ${DEFAULT_MODEL})
  --backend B         cpu, cuda or auto (default auto: CUDA when available)
  --threads N         CPU threads (default: all cores)
  --steps N           denoising steps per frame, 1..8 (default: the model's)
start / save:
  --start-image IMG   start from a PNG/JPEG (scaled to cover, centre-cropped) instead of the
                      ground-truth view for --seed
  --load FILE         continue a saved world (worldloop save / F5); same as worldloop load FILE
  --quicksave FILE    where F5 saves and F9 loads (default ${DEFAULT_QUICKSAVE})
memory:
${RUNTIME_HELP}
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
      ...MODEL_FLAGS,
      ...SESSION_FLAGS,
      steps: { kind: 'int', min: 1, max: 8 },
      'start-image': { kind: 'string' },
      load: { kind: 'string' },
      quicksave: { kind: 'string' },
      ...RUNTIME_FLAGS,
    });
    const f = sessionFlags('play', a);
    const load = a.flags.load as string | undefined;
    const startImage = a.flags['start-image'] as string | undefined;
    if (load && (startImage || a.flags.seed !== undefined)) {
      throw new WorldloopError('WL_USAGE', 'play: --load continues a save; --start-image and --seed do not apply');
    }
    const path = resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
    if (!load && !existsSync(path)) {
      throw new InputFileError(
        `no model at '${path}'. Train one (see docs/training.md), pass --model PATH, ` +
          `or play the ground-truth world meanwhile: worldloop truth`,
      );
    }
    const common = {
      ...runtimeOptions(a),
      backend: (a.flags.backend as BackendName | undefined) ?? 'auto',
      ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
    };
    // A persistent world: the same model world, plus pose/memory tracking and F5/F9 save/load.
    const pw = load
      ? await loadPersistentWorld(load, { ...common, ...(a.flags.model !== undefined ? { modelPath: path } : {}) })
      : await openPersistentWorld({
          kind: 'model',
          modelPath: path,
          seed: f.seed,
          ...common,
          ...(a.flags.steps !== undefined ? { steps: a.flags.steps as number } : {}),
          ...(startImage ? { startImage } : {}),
        });
    try {
      await runPersistent(pw, f, { quicksave: (a.flags.quicksave as string | undefined) ?? DEFAULT_QUICKSAVE, force: false }, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};
export default command;
