/**
 * `worldloop eval place-object`: placing an object of a chosen kind in a model world
 * (src/object_placement.ts) — is it there, and does the model keep it? (The help text says what
 * is measured.)
 */
import { writeFileSync } from 'node:fs';
import { contactSheet, type Tile } from '../../../image/contact_sheet.js';
import { encodePng } from '../../../image/png.js';
import { loadModel } from '../../../model.js';
import { modelSourceId } from '../../../record/source_identity.js';
import { mean, modelFrames, objectKept, objectPsnr, round2, truthFrames, type Act } from '../../../eval/frames.js';
import { emitEditCost } from '../../../eval/edit_cost.js';
import { Explorer, OBJECT_KINDS, World, worldLayout } from '../../../world.js';
import { machineName } from '../../../profiler/machine.js';
import type { Command } from '../../command.js';
import { parseArgs, type ParsedArgs } from '../../args.js';
import { EVAL_MODEL_FLAGS, EVAL_MODEL_HELP, evalModelPath, evalThreads, noPositionals, outFile } from '../../eval_flags.js';

const NAME = 'eval place-object';

const help = `usage: worldloop eval place-object [--model PATH] [--seeds 12] [--first-seed 0] [--warm 20] [--after 32]
                                   [--threads N] [--cost-runs 30] [--sheet FILE.png]

Placing an object of a chosen kind in a model world: is it there, and does the model keep it? On
held-out seeds the truth world explores for --warm steps, an object is placed in front of the
player (the kinds taken in turn, one per seed), and the player stands still for 8 steps, then
walks slowly backwards for the rest of --after, so the object stays in view. The model plays the
same actions in the world play builds (memory slots and revisit anchoring on): once with the
object placed before the same step, once without (the control). For comparison, the spawn event
the model was trained on is run the same way (the truth world's next kind; the model draws
whatever it learned).

Reported at horizons after the change, on the object's pixels (where truth with and without the
object differ): PSNR of the model with the object against truth with it, beside the control's,
and the share of seeds where the object is "kept" (the model with it is closer to truth there
than the control; the revisit eval's test). Also what a placement costs: placeObject timed on a
fresh world (a place_object_cost line: median, p95, p99 over --cost-runs placements).

${EVAL_MODEL_HELP}
  --seeds N           held-out seeds (default 12)
  --first-seed N      start at seed 2^40 + N (default 0)
  --warm N            exploration steps before the placement (default 20)
  --after N           steps after it, at least 9 (default 32)
  --cost-runs N       placements timed for the cost line (default 30)
  --sheet FILE.png    also write a contact sheet: per seed with the object in view (up to 4), truth
                      with the object, the model with it and without it, 1, 8 and 32 frames on`;

function options(a: ParsedArgs) {
  return {
    model: evalModelPath(a),
    seeds: (a.flags.seeds as number | undefined) ?? 12,
    firstSeed: (a.flags['first-seed'] as number | undefined) ?? 0,
    warm: (a.flags.warm as number | undefined) ?? 20,
    after: (a.flags.after as number | undefined) ?? 32,
    threads: evalThreads(a),
    costRuns: (a.flags['cost-runs'] as number | undefined) ?? 30,
    sheet: outFile(NAME, a, 'sheet'),
  };
}

const SHEET_SEEDS = 4;
const STILL_STEPS = 8;
type Options = ReturnType<typeof options>;
/** Frames after the placement shown on the sheet, and where results are reported. */
const sheetAt = (o: Options) => [1, 8, 32].filter((h) => h <= o.after);
const horizonsOf = (o: Options) => [1, 4, 8, 16, 32, 64, 128].filter((h) => h <= o.after);

/** Explorer actions for `warm` steps with the events left out, then still, then slowly back. */
function script(o: Options, seed: number): Act[] {
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
const fresh = (horizons: number[]): Record<number, Acc> => Object.fromEntries(horizons.map((h) => [h, { psnr: [], control: [], kept: [] }]));

function score(o: Options, acc: Record<number, Acc>, model: Uint8Array[], control: Uint8Array[], truthWith: Uint8Array[], truthWithout: Uint8Array[]): string {
  const line: string[] = [];
  for (const h of horizonsOf(o)) {
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

function summary(horizons: number[], acc: Record<number, Acc>): Record<number, unknown> {
  return Object.fromEntries(
    horizons.map((h) => {
      const r = acc[h]!;
      return [h, { object_psnr_db: round2(mean(r.psnr)), control_psnr_db: round2(mean(r.control)), kept: `${r.kept.filter((x) => x).length}/${r.kept.length}` }];
    }),
  );
}

async function run(o: Options): Promise<void> {
  const horizons = horizonsOf(o);
  const SHEET_AT = sheetAt(o);
  const model = await loadModel(o.model, { backend: 'cpu', threads: o.threads });
  const sourceId = await modelSourceId(o.model);
  const d = model.dims;
  const placed = fresh(horizons);
  const spawned = fresh(horizons);
  const spawnAt = worldLayout().channels.findIndex((c) => c.name === 'spawn');
  const hasSpawn = model.actionSpace.channels.some((c) => c.name === 'spawn' && c.kind === 'event');
  const tiles: Tile[] = [];
  try {
    for (let i = 0; i < o.seeds; i++) {
      const seed = 2 ** 40 + o.firstSeed + i;
      const kind = OBJECT_KINDS[(o.firstSeed + i) % OBJECT_KINDS.length]!;
      const acts = script(o, seed);
      const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
      const truthP = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight, { step: o.warm, kind });
      const control = (await modelFrames(model, sourceId, seed, acts, 'anchor')).frames;
      const withObj = (await modelFrames(model, sourceId, seed, acts, 'anchor', { place: { step: o.warm, kind } })).frames;
      console.error(`seed ${seed}, placed ${kind}: object PSNR model/control ${score(o, placed, withObj, control, truthP, truth)}`);
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
        console.error(`seed ${seed}, spawn event: object PSNR model/control ${score(o, spawned, withS, control, truthS, truth)}`);
      }
    }
    // The cost of a placement: K decodes, K sprite draws and K encodes of the context, once.
    await emitEditCost('place_object_cost', { model, sourceId, path: o.model }, o.costRuns, (w, i) => w.placeObject(OBJECT_KINDS[i % OBJECT_KINDS.length]!));
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
      machine: machineName(),
      backend: 'cpu',
      model: o.model,
      seeds: o.seeds,
      first_seed: 2 ** 40 + o.firstSeed,
      warm_steps: o.warm,
      after: `${STILL_STEPS} still, then move -0.5`,
      placed: summary(horizons, placed),
      ...(hasSpawn ? { spawn_event: summary(horizons, spawned) } : {}),
    }),
  );
}

const command: Command = {
  name: 'place-object',
  summary: 'placing an object: is it there, does the model keep it, what a placement costs',
  help,
  async run(argv) {
    const a = parseArgs(NAME, argv, {
      ...EVAL_MODEL_FLAGS,
      seeds: { kind: 'int', min: 1 },
      'first-seed': { kind: 'int', min: 0 },
      warm: { kind: 'int', min: 1 },
      after: { kind: 'int', min: 9 },
      'cost-runs': { kind: 'int', min: 1 },
      sheet: { kind: 'string' },
    });
    noPositionals(NAME, a);
    await run(options(a));
    return 0;
  },
};
export default command;
