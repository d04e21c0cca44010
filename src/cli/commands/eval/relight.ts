/**
 * `worldloop eval relight`: setting the light in a model world — does the model keep a light it
 * was never trained to set? (The help text says what is measured.)
 */
import { loadModel } from '../../../model.js';
import { modelSourceId } from '../../../record/source_identity.js';
import { mean, meanLevel, modelFrames, psnr, round2, type Act } from '../../../eval/frames.js';
import { emitEditCost } from '../../../eval/edit_cost.js';
import { Explorer, World, worldLayout } from '../../../world.js';
import { checkLightSetting } from '../../../lighting.js';
import { machineName } from '../../../profiler/machine.js';
import { InvalidArgumentError } from '../../../errors.js';
import type { Command } from '../../command.js';
import { parseArgs, type ParsedArgs } from '../../args.js';
import { EVAL_MODEL_FLAGS, EVAL_MODEL_HELP, evalModelPath, evalThreads, noPositionals } from '../../eval_flags.js';

const NAME = 'eval relight';

const help = `usage: worldloop eval relight [--model PATH] [--seeds 6] [--warm 20] [--after 32] [--level 0.35]
                              [--tint 0.55,0.65,1] [--threads N] [--cost-runs 30]

Setting the light in a model world: does the model keep a light it was never trained to set? On
held-out seeds the truth world explores for --warm steps, then its light is set (level and tint)
and it explores --after more. The model plays the same actions in the world play builds (memory
slots and revisit anchoring on), once with the same light set before the same step (its context
relit) and once without. Reported at horizons after the change: PSNR of each against the relit
truth, and the relit model's mean level over truth's (1 = as dark or bright as truth). Also what
a light change costs: setLight timed on a fresh world (a relight_cost line: median, p95, p99 over
--cost-runs changes).

${EVAL_MODEL_HELP}
  --seeds N           held-out seeds (default 6)
  --warm N            exploration steps before the change (default 20)
  --after N           steps after it (default 32)
  --level L           light level, 0..1 (default 0.35)
  --tint R,G,B        light tint, each 0..1 (default 0.55,0.65,1)
  --cost-runs N       changes timed for the cost line (default 30)`;

function options(a: ParsedArgs) {
  const tint = (a.flags.tint as string | undefined) ?? '0.55,0.65,1';
  let setting;
  try {
    setting = checkLightSetting((a.flags.level as number | undefined) ?? 0.35, tint.split(',').map(Number), '--level/--tint');
  } catch (err) {
    throw new InvalidArgumentError(`${NAME}: ${(err as Error).message}`);
  }
  return {
    model: evalModelPath(a),
    setting,
    seeds: (a.flags.seeds as number | undefined) ?? 6,
    warm: (a.flags.warm as number | undefined) ?? 20,
    after: (a.flags.after as number | undefined) ?? 32,
    threads: evalThreads(a),
    costRuns: (a.flags['cost-runs'] as number | undefined) ?? 30,
  };
}

type Options = ReturnType<typeof options>;
const horizonsOf = (o: Options) => [1, 4, 8, 16, 32, 64, 128].filter((h) => h <= o.after);

/** Explorer actions with the events left out (the light change is the only one), and the truth
 * frames with the light set before action `warm` (index 0 = the opening's last frame). */
function truthRun(o: Options, seed: number, k: number, width: number, height: number): { acts: Act[]; lit: Uint8Array[] } {
  const names = worldLayout().channels.map((c) => c.name);
  const events = ['light', 'spawn'].map((n) => names.indexOf(n));
  const w = new World(seed, { width, height });
  const ex = new Explorer(seed);
  try {
    const still = new Float32Array(names.length);
    for (let i = 0; i < k - 1; i++) w.step(still); // the opening stands still K-1 ticks
    const lit = [w.rgb.slice()];
    const acts: Act[] = [];
    for (let t = 0; t < o.warm + o.after; t++) {
      if (t === o.warm) w.setLight(o.setting.level, o.setting.tint);
      const act = ex.next(w).slice();
      for (const e of events) act[e] = 0;
      acts.push(act);
      w.step(act);
      lit.push(w.rgb.slice());
    }
    return { acts, lit };
  } finally {
    ex.close();
    w.close();
  }
}

async function run(o: Options): Promise<void> {
  const { setting } = o;
  const horizons = horizonsOf(o);
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  const acc: Record<number, { relit: number[]; plain: number[]; level: number[] }> = {};
  for (const h of horizons) acc[h] = { relit: [], plain: [], level: [] };
  try {
    for (let i = 0; i < o.seeds; i++) {
      const seed = 2 ** 40 + i;
      const { acts, lit } = truthRun(o, seed, d.context, d.frameWidth, d.frameHeight);
      const relit = (await modelFrames(model, sourceId, seed, acts, 'anchor', { light: { step: o.warm, setting } })).frames;
      const plain = (await modelFrames(model, sourceId, seed, acts, 'anchor')).frames;
      const line: string[] = [];
      for (const h of horizons) {
        const f = o.warm + h;
        const r = acc[h]!;
        r.relit.push(psnr(relit[f]!, lit[f]!));
        r.plain.push(psnr(plain[f]!, lit[f]!));
        r.level.push(meanLevel(relit[f]!) / Math.max(1e-9, meanLevel(lit[f]!)));
        line.push(`h${h} ${r.relit.at(-1)!.toFixed(1)}/${r.plain.at(-1)!.toFixed(1)} dB`);
      }
      console.error(`seed ${seed}: relit/plain model vs relit truth ${line.join(', ')}`);
    }
    // The cost of a change: K decodes and K encodes of the context, once.
    await emitEditCost('relight_cost', { model, sourceId, path: o.model }, o.costRuns, (w, i) => w.setLight(i % 2 ? setting : { level: 1, tint: [1, 1, 1] }));
  } finally {
    await model.close();
  }
  console.log(
    JSON.stringify({
      bench: 'relight',
      machine: machineName(),
      backend: 'cpu',
      model: o.model,
      seeds: o.seeds,
      warm_steps: o.warm,
      light: setting,
      horizons: Object.fromEntries(
        horizons.map((h) => {
          const r = acc[h]!;
          return [h, { relit_psnr_db: round2(mean(r.relit)), plain_psnr_db: round2(mean(r.plain)), relit_level_over_truth: round2(mean(r.level)) }];
        }),
      ),
    }),
  );
}

const command: Command = {
  name: 'relight',
  summary: 'setting the light: does the model keep a light it was never trained to set; what a change costs',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, {
      ...EVAL_MODEL_FLAGS,
      seeds: { kind: 'int', min: 1 },
      warm: { kind: 'int', min: 1 },
      after: { kind: 'int', min: 1 },
      level: { kind: 'number', min: 0 },
      tint: { kind: 'string' },
      'cost-runs': { kind: 'int', min: 1 },
    });
    noPositionals(NAME, a);
    await run(options(a));
    return 0;
  },
};
export default command;
