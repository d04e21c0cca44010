/** `worldloop save`: run a world headless (from a seed or an image) and save it to a file. */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { SESSION_FLAGS, sessionFlags } from '../session_flags.js';
import { PLAY_OUTPUT_FLAGS, PLAY_OUTPUT_HELP, checkSaveTarget, playOutputs, worldOptions } from '../play_flags.js';
import { openWorld } from '../../play/open_world.js';
import { runPlay } from '../../play/run_play.js';
import { DEFAULT_MODEL } from '../../play/model_path.js';
import { InvalidArgumentError } from '../../errors.js';

const help = `usage: worldloop save OUT.wlsave [--model PATH | --truth] [--seed N] [--start-image IMG]
                      [--frames N] [--script FILE] [flags]

Runs a world headless for --frames frames (default 300; random actions unless --script), then
writes the whole world to OUT: the model's context latents and actions (or the truth world's
snapshot), seed and frame counter, the pose estimate and path, the spatial memory, the settings
and the model file's SHA-256. The file is versioned and checksummed and written atomically
(temporary file, fsync, rename): an existing save is never left half-written.
Continue it with: worldloop load OUT.wlsave

world:
  --model PATH        .safetensors model (default ${DEFAULT_MODEL})
  --truth             save the ground-truth world instead of a model world
  --seed N            world seed (default 1)
  --start-image IMG   start the model world from a PNG/JPEG (scaled to cover, centre-cropped)
  --backend B         cpu, cuda or auto (default auto)
  --threads N         CPU threads (default: all cores)
  --steps N           denoising steps per frame, 1..8 (default: the model's)
run:
  --frames N          frames to run before saving (default 300; 0 = save the opening)
  --script FILE       action script JSON (see worldloop play --help)
  --record FILE       also record the run (worldloop replay)
${PLAY_OUTPUT_HELP}

examples:
  worldloop save world.wlsave --seed 7 --frames 600
  worldloop save pic.wlsave --start-image photo.jpg --frames 0
  worldloop save t.wlsave --truth --seed 3 --script walk.json --map t_map.png`;

const command: Command = {
  name: 'save',
  summary: 'run a world headless and save it to a file (continue with load)',
  help,
  async run(argv) {
    const a = parseArgs('save', argv, {
      ...MODEL_FLAGS,
      ...SESSION_FLAGS,
      ...PLAY_OUTPUT_FLAGS,
      truth: { kind: 'boolean' },
      'start-image': { kind: 'string' },
      steps: { kind: 'int', min: 1, max: 8 },
    });
    if (a.positionals.length !== 1) throw new InvalidArgumentError('save: give exactly one output file (see: worldloop save --help)');
    const out = a.positionals[0]!;
    const truth = a.flags.truth === true;
    if (truth && a.flags.model !== undefined) throw new InvalidArgumentError('save: --truth and --model exclude each other');
    a.flags.headless = true;
    const frames = a.flags.frames;
    const f = sessionFlags('save', a);
    f.frames = (frames as number | undefined) ?? 300;
    const outputs = { ...playOutputs(a, out), openOnly: f.frames === 0 && f.script === undefined };
    checkSaveTarget('save', out, outputs.force);
    const pw = await openWorld({
      ...worldOptions(a),
      kind: truth ? 'truth' : 'model',
      seed: f.seed,
      ...(a.flags['start-image'] !== undefined ? { startImage: a.flags['start-image'] as string } : {}),
    });
    try {
      await runPlay(pw, f, outputs, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};
export default command;
