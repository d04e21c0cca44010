/**
 * `worldloop eval <name>`: the quality evaluations, one subcommand per file in ./eval/. Each
 * measures a model (or the runtime around it) against the ground-truth world and prints JSON
 * lines; speed is measured elsewhere (worldloop bench, npm run bench, bench/).
 */
import type { Command, CommandLoader } from '../command.js';
import { InvalidArgumentError } from '../../errors.js';

/** The evaluations, in the order `worldloop eval --help` lists them. Add new ones here. */
export const EVALUATIONS: Record<string, CommandLoader> = {
  fidelity: () => import('./eval/fidelity.js'),
  revisit: () => import('./eval/revisit.js'),
  'anchor-play': () => import('./eval/anchor_play.js'),
  'near-return': () => import('./eval/near_return.js'),
  relight: () => import('./eval/relight.js'),
  'place-object': () => import('./eval/place_object.js'),
  'pose-tracking': () => import('./eval/pose_tracking.js'),
  'sampler-steps': () => import('./eval/sampler_steps.js'),
  'cache-oracle': () => import('./eval/cache_oracle.js'),
};

const help = `usage: worldloop eval <name> [flags]   (worldloop eval <name> --help for its flags)

Quality evaluations: each measures a model, or the runtime play builds around it, against the
ground-truth world on held-out seeds and prints JSON lines (machine, backend, model and the
measures). Speed benchmarks are elsewhere: worldloop bench (the loop end to end), npm run bench
and node dist/bench/<name>.js (engine, window frame, present).

examples:
  worldloop eval fidelity --model models/default.safetensors --quick
  worldloop eval anchor-play --seeds 4 --frames 600
  worldloop eval revisit --seeds 6 --away 200,1800 --out runs/revisit
  worldloop eval cache-oracle --seeds 6 --away 200,1800 --out runs/cache-oracle`;

const command: Command = {
  name: 'eval',
  summary: 'quality evaluations against the ground-truth world: worldloop eval <name> (see --help)',
  help,
  subcommands: { label: 'evaluations', loaders: EVALUATIONS },
  async run(argv) {
    // Reached only without a name (main dispatches `eval <name>` to the evaluation itself).
    const first = argv[0];
    throw new InvalidArgumentError(
      first === undefined
        ? `eval: name an evaluation: ${Object.keys(EVALUATIONS).join(', ')} (see: worldloop eval --help)`
        : `eval: name an evaluation before its flags, e.g. worldloop eval fidelity ${argv.join(' ')} (the list: worldloop eval --help)`,
    );
  },
};
export default command;
