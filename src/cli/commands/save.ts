/** `worldloop save`: run a world headless (from a seed or an image) and save it to a file. */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { SESSION_FLAGS, sessionFlags } from '../session_flags.js';
import { PERSIST_FLAGS, PERSIST_HELP, runtimeOptions, checkSaveTarget, persistOutputs, runPersistent } from '../persist_flags.js';
import { openPersistentWorld } from '../../save/persistent_world.js';
import { DEFAULT_MODEL } from '../../loop/open_source.js';
import { InvalidArgumentError } from '../../errors.js';
import type { BackendName } from '../../model.js';

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
${PERSIST_HELP}

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
      ...PERSIST_FLAGS,
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
    const outputs = { ...persistOutputs(a, out), openOnly: f.frames === 0 && f.script === undefined };
    checkSaveTarget('save', out, outputs.force);
    const pw = await openPersistentWorld({
      kind: truth ? 'truth' : 'model',
      seed: f.seed,
      ...(a.flags.model !== undefined ? { modelPath: a.flags.model as string } : {}),
      backend: (a.flags.backend as BackendName | undefined) ?? 'auto',
      ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
      ...(a.flags.steps !== undefined ? { steps: a.flags.steps as number } : {}),
      ...(a.flags['start-image'] !== undefined ? { startImage: a.flags['start-image'] as string } : {}),
      ...(a.flags['memory-capacity'] !== undefined ? { memory: { capacity: a.flags['memory-capacity'] as number } } : {}),
      ...(a.flags['store-every'] !== undefined ? { storeEvery: a.flags['store-every'] as number } : {}),
      ...runtimeOptions(a),
    });
    try {
      await runPersistent(pw, f, outputs, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};
export default command;
