/**
 * `worldloop eval sampler-steps`: how much the sampler's second Euler step changes a latent
 * (the help text says why that matters and what is measured).
 */
import { loadModel } from '../../../model.js';
import { truthOpening } from '../../../play/truth_start.js';
import { machineName } from '../../../profiler/machine.js';
import type { Command } from '../../command.js';
import { parseArgs } from '../../args.js';
import { EVAL_MODEL_FLAGS, EVAL_MODEL_HELP, evalModelPath, evalThreads, noPositionals } from '../../eval_flags.js';

const NAME = 'eval sampler-steps';

const help = `usage: worldloop eval sampler-steps [--model PATH] [--seeds 8] [--threads N]

How much the sampler's second Euler step changes a latent. Revisit anchoring makes the unshown
frames of a multi-step bridge with one step instead of the manifest's two (src/model_world.ts);
this measures what that costs: on held-out seeds (2^40 + i), from the truth opening encoded as
context, one and two steps are sampled with the same noise key under a few actions, and the
relative RMS difference of the latents is reported (mean and max over the cases; one JSON line).

${EVAL_MODEL_HELP}
  --seeds N           held-out seeds (default 8)`;

async function run(model: string, seeds: number, threads: number): Promise<void> {
  const m = await loadModel(model, { backend: 'cpu', threads });
  try {
    const d = m.dims;
    const L = m.latentSize;
    const K = d.context;
    const A = d.actionDim;
    const turn = m.actionSpace.channels.findIndex((c) => c.name === 'turn');
    const move = m.actionSpace.channels.findIndex((c) => c.name === 'move');
    const diffs: number[] = [];
    for (let s = 0; s < seeds; s++) {
      const seed = 2 ** 40 + s;
      const frames = await truthOpening(seed, K, d.frameWidth, d.frameHeight);
      const ctx = new Float32Array(K * L);
      for (let i = 0; i < K; i++) ctx.set(await m.encode(frames[i]!), i * L);
      for (const t of [0, 1, -1]) {
        const acts = new Float32Array(K * A);
        if (turn >= 0) acts[(K - 1) * A + turn] = t;
        if (move >= 0) acts[(K - 1) * A + move] = 0.5;
        const io = { contextLatents: ctx, contextActions: acts, seeds: BigUint64Array.from([BigInt(seed)]), frames: BigUint64Array.from([7n]) };
        const one = (await m.sample({ ...io, steps: 1 })).slice();
        const two = await m.sample({ ...io, steps: 2 });
        let num = 0;
        let den = 0;
        for (let i = 0; i < L; i++) {
          num += (one[i]! - two[i]!) ** 2;
          den += two[i]! ** 2;
        }
        diffs.push(Math.sqrt(num / Math.max(den, 1e-30)));
      }
    }
    const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
    console.log(
      JSON.stringify({
        bench: 'sampler_steps',
        machine: machineName(),
        backend: m.info.backend,
        model,
        cases: diffs.length,
        rel_rms_diff_1_vs_2_steps: { mean: r4(diffs.reduce((x, y) => x + y, 0) / diffs.length), max: r4(Math.max(...diffs)) },
      }),
    );
  } finally {
    await m.close();
  }
}

const command: Command = {
  name: 'sampler-steps',
  summary: 'how much the second Euler step changes a latent (1 vs 2 steps, same noise)',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, {
      ...EVAL_MODEL_FLAGS,
      seeds: { kind: 'int', min: 1 },
    });
    noPositionals(NAME, a);
    await run(evalModelPath(a), (a.flags.seeds as number | undefined) ?? 8, evalThreads(a));
    return 0;
  },
};
export default command;
