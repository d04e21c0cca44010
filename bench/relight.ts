/**
 * Setting the light in a model world: does the model keep a light it was never trained to set?
 * On held-out seeds the truth world explores for `--warm` steps, then its light is set (level and
 * tint) and it explores `--after` more. The model plays the same actions in the world play builds
 * (memory slots and revisit anchoring on), once with the same light set before the same step (its
 * context relit, src/lighting.ts) and once without. Reported at horizons after the change: PSNR of
 * each against the relit truth, and the relit model's mean level over truth's (1 = as dark or
 * bright as truth). Also what a light change costs: setLight timed on a fresh world (median, p95,
 * p99 over --cost-runs changes).
 *
 *   node dist/bench/relight.js [--model PATH] [--seeds 6] [--warm 20] [--after 32] [--level 0.35] [--tint 0.55,0.65,1] [--cost-runs 30]
 */
import { loadModel } from '../src/model.js';
import { modelSourceId } from '../src/record/source_identity.js';
import { mean, meanLevel, modelFrames, psnr, round2, type Act } from '../src/eval/frames.js';
import { Explorer, World, worldLayout } from '../src/world.js';
import { checkLightSetting, type LightSetting } from '../src/lighting.js';
import { machine } from './bench_json.js';
import { emitEditCost } from './edit_cost.js';
import { BenchArgs } from './bench_args.js';

const a = BenchArgs.parse(
  'Usage: node dist/bench/relight.js [--model PATH] [--seeds 6] [--warm 20] [--after 32] [--level 0.35] [--tint 0.55,0.65,1] [--threads N] [--cost-runs 30]\n' +
    'Sets the light in the truth world and in the model world at the same step; PSNR of the model with and without\n' +
    'the relit context against the relit truth, and its brightness over truth\'s, at horizons after the change.',
  { values: ['model', 'seeds', 'warm', 'after', 'level', 'tint', 'threads', 'cost-runs'] },
);
const tintText = a.str('tint') ?? '0.55,0.65,1';
let setting: LightSetting;
try {
  setting = checkLightSetting(a.num('level', 0.35, { integer: false, min: 0 }), tintText.split(',').map(Number), '--level/--tint');
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const o = {
  model: a.modelPath(),
  seeds: a.num('seeds', 6, { min: 1 }),
  warm: a.num('warm', 20, { min: 1 }),
  after: a.num('after', 32, { min: 1 }),
  threads: a.num('threads', 0, { min: 0 }),
  costRuns: a.num('cost-runs', 30, { min: 1 }),
};
const horizons = [1, 4, 8, 16, 32, 64, 128].filter((h) => h <= o.after);

/** Explorer actions with the events left out (the light change is the only one), and the truth
 * frames with the light set before action `warm` (index 0 = the opening's last frame). */
function truthRun(seed: number, k: number, width: number, height: number): { acts: Act[]; lit: Uint8Array[] } {
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
      if (t === o.warm) w.setLight(setting.level, setting.tint);
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

async function main(): Promise<void> {
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  const acc: Record<number, { relit: number[]; plain: number[]; level: number[] }> = {};
  for (const h of horizons) acc[h] = { relit: [], plain: [], level: [] };
  try {
    for (let i = 0; i < o.seeds; i++) {
      const seed = 2 ** 40 + i;
      const { acts, lit } = truthRun(seed, d.context, d.frameWidth, d.frameHeight);
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
    await emitEditCost('relight_cost', model, o.model, o.costRuns, (w, i) => w.setLight(i % 2 ? setting : { level: 1, tint: [1, 1, 1] }));
  } finally {
    await model.close();
  }
  console.log(
    JSON.stringify({
      bench: 'relight',
      machine: machine(),
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

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
