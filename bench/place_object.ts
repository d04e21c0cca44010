/**
 * Placing an object of a chosen kind in a model world (src/object_placement.ts): is it there, and
 * does the model keep it? On held-out seeds the truth world explores for `--warm` steps, an
 * object is placed in front of the player (the kinds taken in turn, one per seed), and the player
 * stands still for 8 steps, then walks slowly backwards for the rest of `--after`, so the object
 * stays in view. The model plays the same actions in the world play builds (memory slots and
 * revisit anchoring on): once with the object placed before the same step, once without (the
 * control). For comparison, the spawn event the model was trained on is run the same way (the
 * truth world's next kind, a pillar; the model draws whatever it learned).
 *
 * Reported at horizons after the change, on the object's pixels (where truth with and without the
 * object differ): PSNR of the model with the object against truth with it, beside the control's
 * (what the model would score there without any object), and the share of seeds where the
 * object is "kept" (the model with it is closer to truth there than the control; the revisit
 * eval's test). Also what a placement costs: placeObject timed on a fresh world (median, p95,
 * p99 over --cost-runs placements).
 *
 * `--sheet FILE.png` also writes a contact sheet: per seed with the object in view (up to 4), the
 * truth world with the object, the model with it and the model without it, 1, 8 and 32 frames on.
 *
 *   node dist/bench/place_object.js [--model PATH] [--seeds 12] [--first-seed 0] [--warm 20] [--after 32] [--cost-runs 30] [--sheet FILE.png]
 */
import { writeFileSync } from 'node:fs';
import { contactSheet, type Tile } from '../src/image/contact_sheet.js';
import { encodePng } from '../src/image/png.js';
import { loadModel } from '../src/model.js';
import { modelSourceId } from '../src/record/source_identity.js';
import { mean, modelFrames, objectKept, objectPsnr, round2, truthFrames, type Act } from '../src/eval/frames.js';
import { Explorer, OBJECT_KINDS, World, worldLayout } from '../src/world.js';
import { machine } from './bench_json.js';
import { emitEditCost } from './edit_cost.js';
import { BenchArgs } from './bench_args.js';

const a = BenchArgs.parse(
  'Usage: node dist/bench/place_object.js [--model PATH] [--seeds 12] [--first-seed 0] [--warm 20] [--after 32] [--threads N] [--cost-runs 30] [--sheet FILE.png]\n' +
    'Places an object of a chosen kind in the truth world and in the model world at the same step (kinds in turn,\n' +
    'one per seed); object-pixel PSNR against truth and the share of seeds where the model keeps it, at horizons\n' +
    'after the placement; the same for the trained spawn event; and the cost of a placement.',
  { values: ['model', 'seeds', 'first-seed', 'warm', 'after', 'threads', 'cost-runs', 'sheet'] },
);
const o = {
  model: a.modelPath(),
  seeds: a.num('seeds', 12, { min: 1 }),
  firstSeed: a.num('first-seed', 0, { min: 0 }),
  warm: a.num('warm', 20, { min: 1 }),
  after: a.num('after', 32, { min: 9 }),
  threads: a.num('threads', 0, { min: 0 }),
  costRuns: a.num('cost-runs', 30, { min: 1 }),
  sheet: a.str('sheet'),
};
const SHEET_SEEDS = 4;
const SHEET_AT = [1, 8, 32].filter((h) => h <= o.after);
const horizons = [1, 4, 8, 16, 32, 64, 128].filter((h) => h <= o.after);
const STILL_STEPS = 8;

/** Explorer actions for `warm` steps with the events left out, then still, then slowly back. */
function script(seed: number): Act[] {
  const names = worldLayout().channels.map((c) => c.name);
  const events = ['light', 'spawn'].map((n) => names.indexOf(n));
  const move = names.indexOf('move');
  const w = new World(seed);
  const ex = new Explorer(seed);
  try {
    const acts: Act[] = [];
    for (let t = 0; t < o.warm; t++) {
      const act = ex.next(w).slice();
      for (const e of events) act[e] = 0;
      acts.push(act);
      w.step(act);
    }
    for (let t = 0; t < o.after; t++) {
      const act = new Float32Array(names.length);
      if (t >= STILL_STEPS) act[move] = -0.5;
      acts.push(act);
    }
    return acts;
  } finally {
    ex.close();
    w.close();
  }
}

interface Acc {
  psnr: number[];
  control: number[];
  kept: number[];
}
const fresh = (): Record<number, Acc> => Object.fromEntries(horizons.map((h) => [h, { psnr: [], control: [], kept: [] }]));

function score(acc: Record<number, Acc>, model: Uint8Array[], control: Uint8Array[], truthWith: Uint8Array[], truthWithout: Uint8Array[]): string {
  const line: string[] = [];
  for (const h of horizons) {
    const f = o.warm + h;
    const p = objectPsnr(model[f]!, truthWith[f]!, truthWithout[f]!);
    if (p === undefined) continue; // not in view in the truth frame
    const r = acc[h]!;
    r.psnr.push(p);
    r.control.push(objectPsnr(control[f]!, truthWith[f]!, truthWithout[f]!)!);
    r.kept.push(objectKept(model[f]!, control[f]!, truthWith[f]!, truthWithout[f]!) ? 1 : 0);
    line.push(`h${h} ${p.toFixed(1)}/${r.control.at(-1)!.toFixed(1)} dB${r.kept.at(-1) ? '' : ' (lost)'}`);
  }
  return line.length ? line.join(', ') : 'not in view in the truth frames (a wall left no room)';
}

function summary(acc: Record<number, Acc>): Record<number, unknown> {
  return Object.fromEntries(
    horizons.map((h) => {
      const r = acc[h]!;
      return [h, { object_psnr_db: round2(mean(r.psnr)), control_psnr_db: round2(mean(r.control)), kept: `${r.kept.filter((x) => x).length}/${r.kept.length}` }];
    }),
  );
}

async function main(): Promise<void> {
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  const placed = fresh();
  const spawned = fresh();
  const spawnAt = worldLayout().channels.findIndex((c) => c.name === 'spawn');
  const hasSpawn = model.actionSpace.channels.some((c) => c.name === 'spawn' && c.kind === 'event');
  const tiles: Tile[] = [];
  try {
    for (let i = 0; i < o.seeds; i++) {
      const seed = 2 ** 40 + o.firstSeed + i;
      const kind = OBJECT_KINDS[(o.firstSeed + i) % OBJECT_KINDS.length]!;
      const acts = script(seed);
      const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
      const truthP = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight, { step: o.warm, kind });
      const control = (await modelFrames(model, sourceId, seed, acts, 'anchor')).frames;
      const withObj = (await modelFrames(model, sourceId, seed, acts, 'anchor', { place: { step: o.warm, kind } })).frames;
      console.error(`seed ${seed}, placed ${kind}: object PSNR model/control ${score(placed, withObj, control, truthP, truth)}`);
      const inView = objectPsnr(withObj[o.warm + 1]!, truthP[o.warm + 1]!, truth[o.warm + 1]!) !== undefined;
      if (inView && tiles.length < SHEET_SEEDS * 3 * SHEET_AT.length) {
        for (const [rows, name] of [[truthP, 'truth'], [withObj, 'model'], [control, 'without']] as const) {
          for (const h of SHEET_AT) tiles.push({ width: d.frameWidth, height: d.frameHeight, rgb: rows[o.warm + h]!, label: `${name} ${kind} h${h}` });
        }
      }
      if (hasSpawn) {
        const actsS = acts.map((x, t) => (t === o.warm ? Float32Array.from(x, (v, c) => (c === spawnAt ? 1 : v)) : x));
        const truthS = truthFrames(seed, d.context, actsS, d.frameWidth, d.frameHeight);
        const withS = (await modelFrames(model, sourceId, seed, actsS, 'anchor')).frames;
        console.error(`seed ${seed}, spawn event: object PSNR model/control ${score(spawned, withS, control, truthS, truth)}`);
      }
    }
    // The cost of a placement: K decodes, K sprite draws and K encodes of the context, once.
    await emitEditCost('place_object_cost', model, o.model, o.costRuns, (w, i) => w.placeObject(OBJECT_KINDS[i % OBJECT_KINDS.length]!));
  } finally {
    await model.close();
  }
  if (o.sheet && tiles.length) {
    const sheet = contactSheet(tiles, { columns: 3 * SHEET_AT.length });
    writeFileSync(o.sheet, encodePng(sheet.width, sheet.height, sheet.rgb, 3));
    console.error(`wrote ${o.sheet}`);
  }
  console.log(
    JSON.stringify({
      bench: 'place_object',
      machine: machine(),
      backend: 'cpu',
      model: o.model,
      seeds: o.seeds,
      first_seed: 2 ** 40 + o.firstSeed,
      warm_steps: o.warm,
      after: `${STILL_STEPS} still, then move -0.5`,
      placed: summary(placed),
      ...(hasSpawn ? { spawn_event: summary(spawned) } : {}),
    }),
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
