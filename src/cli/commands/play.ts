/** `worldloop play`: play a neural world model in a window (or headless). */
import { existsSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { DEFAULT_MODEL, resolveModelPath } from '../../play/model_path.js';
import { openWorld } from '../../play/open_world.js';
import { DEFAULT_QUICKSAVE, runPlay } from '../../play/run_play.js';
import { RUNTIME_FLAGS, RUNTIME_HELP, worldOptions } from '../play_flags.js';
import { InputFileError, WorldloopError } from '../../errors.js';

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
    // The world play runs: the model world, plus pose/memory tracking and F5/F9 save/load. A save
    // names its model file (--model overrides it) and fixes the steps.
    const pw = load
      ? await openWorld({ ...worldOptions(a), load, ...(a.flags.model !== undefined ? { modelPath: path } : {}) })
      : await openWorld({ ...worldOptions(a), kind: 'model', modelPath: path, seed: f.seed, ...(startImage ? { startImage } : {}) });
    try {
      await runPlay(pw, f, { quicksave: (a.flags.quicksave as string | undefined) ?? DEFAULT_QUICKSAVE, force: false }, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};
export default command;
