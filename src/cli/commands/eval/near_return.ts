/**
 * `worldloop eval near-return`: what revisit anchoring's reach buys when the player comes back
 * close to, but not exactly at, a place it has seen (the help text says what is measured).
 */
import { loadModel } from '../../../model.js';
import { modelSourceId } from '../../../record/source_identity.js';
import { DEFAULT_SETTLE, findLoop } from '../../../eval/revisit.js';
import { mean, modelFrames, psnr, round2, sharpness, truthFrames } from '../../../eval/frames.js';
import { machineName } from '../../../profiler/machine.js';
import { InvalidArgumentError } from '../../../errors.js';
import type { Command } from '../../command.js';
import { parseArgs, type ParsedArgs } from '../../args.js';
import { EVAL_MODEL_FLAGS, EVAL_MODEL_HELP, evalModelPath, evalThreads, noPositionals } from '../../eval_flags.js';

const NAME = 'eval near-return';

const help = `usage: worldloop eval near-return [--model PATH] [--seeds 6] [--away 200] [--short 2] [--threads N]

Near returns: what revisit anchoring's reach buys when the player comes back close to, but not
exactly at, a place it has seen. On held-out seeds the revisit eval's loops (settle, first visit,
explore, undo) stop --short undo steps early, so the last frame is a few action steps from the
first visit's pose. The model plays the loop in the world play builds with the memory slots fed
and no anchoring ('memory'), and with anchoring that reaches 1 and 3 steps. Reported per setting
(one JSON line): the last frame's PSNR against truth at the same pose, its sharpness ratio, and
how many loops' last frame was anchored.

${EVAL_MODEL_HELP}
  --seeds N           held-out seeds (default 6; a seed without a wall-free loop is skipped)
  --away N            frames away, at least 6 (default 200)
  --short N           undo steps left out at the end (default 2; at most --away / 3)`;

function options(a: ParsedArgs) {
  return {
    model: evalModelPath(a),
    seeds: (a.flags.seeds as number | undefined) ?? 6,
    away: (a.flags.away as number | undefined) ?? 200,
    short: (a.flags.short as number | undefined) ?? 2,
    threads: evalThreads(a),
  };
}

const settings: { name: string; mode: 'memory' | 'anchor'; maxSteps?: number }[] = [
  { name: 'memory', mode: 'memory' },
  { name: 'anchor_1_step', mode: 'anchor', maxSteps: 1 },
  { name: 'anchor_3_steps', mode: 'anchor', maxSteps: 3 },
];

async function run(o: ReturnType<typeof options>): Promise<void> {
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  const n = Math.ceil(o.away / 3);
  const acc: Record<string, { psnr: number[]; sharp: number[]; anchored: number }> = {};
  for (const s of settings) acc[s.name] = { psnr: [], sharp: [], anchored: 0 };
  let loops = 0;
  try {
    for (let i = 0; i < o.seeds; i++) {
      const seed = 2 ** 40 + i;
      const loop = findLoop(seed, DEFAULT_SETTLE, n);
      if (!loop) {
        console.error(`seed ${seed}: no wall-free loop; skipped`);
        continue;
      }
      // Each undone exploration step is two actions (move back, then turn back).
      const acts = loop.slice(0, loop.length - 2 * o.short);
      const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
      const last = acts.length;
      const line: string[] = [];
      for (const s of settings) {
        const m = await modelFrames(model, sourceId, seed, acts, s.mode, s.maxSteps !== undefined ? { anchorConfig: { maxSteps: s.maxSteps } } : {});
        const r = acc[s.name]!;
        r.psnr.push(psnr(m.frames[last]!, truth[last]!));
        r.sharp.push(sharpness(m.frames[last]!, d.frameWidth, d.frameHeight) / Math.max(1e-9, sharpness(truth[last]!, d.frameWidth, d.frameHeight)));
        if (m.anchoredAt[last]) r.anchored++;
        line.push(`${s.name} ${r.psnr.at(-1)!.toFixed(2)} dB${m.anchoredAt[last] ? ' (anchored)' : ''}`);
      }
      loops++;
      console.error(`seed ${seed}, ${o.short} steps short: last frame vs truth ${line.join(', ')}`);
    }
  } finally {
    await model.close();
  }
  console.log(
    JSON.stringify({
      bench: 'near_return',
      machine: machineName(),
      backend: 'cpu',
      model: o.model,
      loops,
      away_frames: 3 * n,
      steps_short: o.short,
      ...Object.fromEntries(
        settings.map((s) => {
          const r = acc[s.name]!;
          return [s.name, { psnr_vs_truth_db: round2(mean(r.psnr)), sharpness_ratio: round2(mean(r.sharp)), last_frame_anchored: `${r.anchored}/${loops}` }];
        }),
      ),
    }),
  );
}

const command: Command = {
  name: 'near-return',
  summary: 'near returns: the last frame vs truth without anchoring and with a reach of 1 and 3 steps',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, {
      ...EVAL_MODEL_FLAGS,
      seeds: { kind: 'int', min: 1 },
      away: { kind: 'int', min: 6 },
      short: { kind: 'int', min: 1 },
    });
    noPositionals(NAME, a);
    const o = options(a);
    const n = Math.ceil(o.away / 3);
    if (o.short > n) throw new InvalidArgumentError(`${NAME}: --short ${o.short} is more than the loop's ${n} exploration steps`);
    await run(o);
    return 0;
  },
};
export default command;
