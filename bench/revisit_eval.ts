/**
 * Revisit eval (issue 7, item 2): on held-out seeds (2^40 + i), a scripted loop walks away from a
 * pose and comes back to exactly it, and the model's frame on return is compared with its own
 * frame on the first visit (self-consistency) and with the truth world's frame there.
 *
 * The loop: settle (standing still), then `n` steps of the exploration policy (events off), then
 * the same steps undone in reverse — each step (turn, then move) is undone by two steps (move
 * back along the current heading, then turn back) — so the player is away for 3n frames. The
 * truth world checks every candidate loop: one that bumped a wall does not return exactly and is
 * replaced by another policy seed. A model with memory slots (docs/memory-model.md) runs each
 * loop twice, with the runtime's memory store feeding retrieved views and without; a model
 * without memory reports "no memory slots" for that column instead of a number.
 *
 * Also reported, as in the training eval: PSNR of the return frame against truth and the
 * sharpness ratio (mean image-gradient magnitude of model frames over truth's), so a model that
 * blurs or freezes cannot look good on self-consistency alone.
 *
 *   node dist/bench/revisit_eval.js [--model PATH] [--seeds N] [--away N]... [--backend cpu|cuda|auto] [--threads N]
 */
import { Explorer, World, worldActionSpace, worldLayout } from '../src/world.js';
import { loadModel, type BackendName, type Model } from '../src/model.js';
import { truthOpening, resolveModelPath, DEFAULT_MODEL } from '../src/loop/open_source.js';
import { MemoryStore } from '../src/memory/memory_store.js';
import { MemoryInputBuilder } from '../src/memory/memory_retrieval.js';
import { PoseTracker } from '../src/memory/pose_tracker.js';
import { machine } from './bench_json.js';

function args() {
  const a = process.argv.slice(2);
  const get = (n: string) => {
    const i = a.indexOf(`--${n}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const aways = a.flatMap((x, i) => (x === '--away' ? [Number(a[i + 1])] : []));
  return {
    model: resolveModelPath(get('model') ?? DEFAULT_MODEL),
    seeds: Number(get('seeds') ?? 4),
    aways: aways.length ? aways : [200],
    backend: (get('backend') ?? 'cpu') as BackendName,
    threads: Number(get('threads') ?? 0),
    settle: 8,
  };
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / Math.max(se / a.length, 1e-10));
}

/** Mean image-gradient magnitude (train/metrics.py sharpness, on 0..255 RGB). */
export function sharpness(rgb: Uint8Array, w: number, h: number): number {
  let sum = 0;
  for (let y = 0; y < h - 1; y++)
    for (let x = 0; x < w - 1; x++)
      for (let c = 0; c < 3; c++) {
        const v = rgb[(y * w + x) * 3 + c]!;
        const dx = rgb[(y * w + x + 1) * 3 + c]! - v;
        const dy = rgb[((y + 1) * w + x) * 3 + c]! - v;
        sum += Math.sqrt(dx * dx + dy * dy);
      }
  return sum / ((h - 1) * (w - 1) * 3);
}

type Act = Float32Array;

/** A loop that returns exactly to its start pose in the truth world, or undefined. */
function buildLoop(seed: number, policySeed: number, settle: number, n: number): Act[] | undefined {
  const A = worldLayout().channels.length;
  const still = new Float32Array(A);
  const w = new World(seed);
  const ex = new Explorer(policySeed, { pLight: 0, pSpawn: 0, pBump: 0 });
  try {
    const acts: Act[] = [];
    for (let i = 0; i < settle; i++) acts.push(still);
    for (const a of acts) w.step(a);
    const start = w.pose();
    const out: Act[] = [];
    for (let i = 0; i < n; i++) {
      const a = ex.next(w).slice();
      w.step(a);
      out.push(a);
    }
    for (let i = out.length - 1; i >= 0; i--) {
      const a = out[i]!;
      const back = new Float32Array(A);
      back[0] = -a[0]!;
      back[1] = -a[1]!;
      const unturn = new Float32Array(A);
      unturn[2] = -a[2]!;
      acts.push(back, unturn);
      w.step(back);
      w.step(unturn);
    }
    const end = w.pose();
    const moved = Math.hypot(...out.map((a) => a[0]!)) > 0;
    if (!moved || Math.hypot(end.x - start.x, end.y - start.y) > 1e-3 || Math.abs(end.yaw - start.yaw) > 1e-3) return undefined;
    return [...acts.slice(0, settle), ...out, ...acts.slice(settle)];
  } finally {
    w.close();
    ex.close();
  }
}

/** Truth frames for the whole loop (index 0 = the opening's last frame). */
function truthFrames(seed: number, k: number, acts: Act[], width: number, height: number): Uint8Array[] {
  const w = new World(seed, { width, height });
  try {
    const still = new Float32Array(acts[0]!.length);
    for (let i = 0; i < k - 1; i++) w.step(still); // the opening stands still K-1 ticks
    const frames = [w.rgb.slice()];
    for (const a of acts) {
      w.step(a);
      frames.push(w.rgb.slice());
    }
    return frames;
  } finally {
    w.close();
  }
}

async function modelFrames(model: Model, seed: number, acts: Act[], useMemory: boolean): Promise<Uint8Array[]> {
  const d = model.dims;
  const k = d.context;
  const L = model.latentSize;
  const A = d.actionDim;
  const opening = await truthOpening(seed, k, d.frameWidth, d.frameHeight);
  const lat = new Float32Array(k * L);
  const act = new Float32Array(k * A);
  for (let i = 0; i < k; i++) lat.set(await model.encode(opening[i]!), i * L);
  const frames = [opening[k - 1]!.slice()];
  const seeds = new BigUint64Array([BigInt(seed) & 0xffffffffffffffffn]);
  const fr = new BigUint64Array(1);
  const probe = new World(seed);
  const layout = worldLayout().defaults;
  // Loops are truth-world action vectors; the model takes its own channels, matched by name.
  const world = worldLayout().channels.map((c) => c.name);
  const pick = model.actionSpace.channels.map((c) => {
    const i = world.indexOf(c.name);
    if (i < 0) throw new Error(`model action channel '${c.name}' is not one of the world's (${world.join(', ')})`);
    return i;
  });
  const tracker = new PoseTracker(worldActionSpace(), {
    speeds: { moveSpeed: layout.moveSpeed, strafeSpeed: layout.strafeSpeed, turnSpeedDeg: layout.turnSpeedDeg },
    start: probe.pose(),
    walls: probe.map(),
  });
  probe.close();
  const store = new MemoryStore({ latentSize: L });
  const builder = useMemory ? new MemoryInputBuilder(L, { slots: d.memorySlots, poseDim: d.memoryPoseDim }) : undefined;
  for (let i = 0; i < acts.length; i++) {
    act.copyWithin(0, A);
    pick.forEach((w, c) => (act[(k - 1) * A + c] = acts[i]![w]!));
    tracker.update(acts[i]!);
    fr[0] = BigInt(i + 1);
    const z = await model.sample({
      contextLatents: lat,
      contextActions: act,
      seeds,
      frames: fr,
      ...(builder ? { memory: builder.build(store, tracker.pose(), i + 1) } : {}),
    });
    lat.copyWithin(0, L);
    lat.set(z, (k - 1) * L);
    if (builder) store.add(z, tracker.pose(), i + 1);
    frames.push((await model.decode(lat.subarray((k - 1) * L))).slice());
  }
  return frames;
}

/**
 * Is a spawned object recognisable in a model frame? On the pixels where the truth frame with
 * the object differs from the truth frame without it (the object, > 30 levels summed over RGB),
 * the model's frame after the spawn event must be closer to the truth-with-object than the
 * model's frame of the same loop without the event is. Undefined when the object is not in view.
 */
function objectKept(modelWith: Uint8Array, modelWithout: Uint8Array, truthWith: Uint8Array, truthWithout: Uint8Array): boolean | undefined {
  let n = 0;
  let eWith = 0;
  let eWithout = 0;
  for (let p = 0; p < truthWith.length; p += 3) {
    let diff = 0;
    for (let c = 0; c < 3; c++) diff += Math.abs(truthWith[p + c]! - truthWithout[p + c]!);
    if (diff <= 30) continue;
    n++;
    for (let c = 0; c < 3; c++) {
      eWith += (modelWith[p + c]! - truthWith[p + c]!) ** 2;
      eWithout += (modelWithout[p + c]! - truthWith[p + c]!) ** 2;
    }
  }
  return n === 0 ? undefined : eWith < eWithout;
}

function share(rows: Record<string, number>[], key: string): string {
  const v = rows.map((r) => r[key]).filter((x): x is number => x !== undefined);
  return v.length ? `${v.filter((x) => x === 1).length}/${v.length}` : 'object not in view';
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
const r2 = (v: number) => Math.round(v * 100) / 100;

async function main(): Promise<void> {
  const o = args();
  const model = await loadModel(o.model, { backend: o.backend, threads: o.threads });
  const d = model.dims;
  const hasMemory = d.memorySlots > 0;
  const hasSpawn = model.actionSpace.channels.some((c) => c.name === 'spawn');
  try {
    for (const away of o.aways) {
      const n = Math.ceil(away / 3);
      const rows: Record<string, number>[] = [];
      for (let s = 0; s < o.seeds; s++) {
        const seed = 2 ** 40 + s;
        let acts: Act[] | undefined = undefined;
        let tries = 0;
        for (; !acts && tries < 30; tries++) acts = buildLoop(seed, seed * 31 + tries, o.settle, n);
        if (!acts) {
          console.error(`seed ${seed}: no wall-free loop in ${tries} tries; skipped`);
          continue;
        }
        // One more still step at the first visit; the spawn variant fires the spawn event there.
        const A = acts[0]!.length;
        const spawnAt = worldLayout().channels.findIndex((c) => c.name === 'spawn');
        const spawnStep = new Float32Array(A);
        spawnStep[spawnAt] = 1;
        acts = [...acts.slice(0, o.settle), new Float32Array(A), ...acts.slice(o.settle)];
        const actsSpawn = [...acts.slice(0, o.settle), spawnStep, ...acts.slice(o.settle + 1)];
        const first = o.settle + 1; // frame index of the first visit (after settling)
        const ret = acts.length; // the last frame: back at the same pose
        const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
        const plain = await modelFrames(model, seed, acts, false);
        const row: Record<string, number> = {
          seed_offset: s,
          truth_self_psnr: psnr(truth[ret]!, truth[first]!),
          psnr_return_vs_first: psnr(plain[ret]!, plain[first]!),
          psnr_return_vs_truth: psnr(plain[ret]!, truth[ret]!),
          sharpness_ratio: sharpness(plain[ret]!, d.frameWidth, d.frameHeight) / Math.max(1e-9, sharpness(truth[ret]!, d.frameWidth, d.frameHeight)),
        };
        if (hasMemory) {
          const mem = await modelFrames(model, seed, acts, true);
          row.memory_psnr_return_vs_first = psnr(mem[ret]!, mem[first]!);
          row.memory_psnr_return_vs_truth = psnr(mem[ret]!, truth[ret]!);
        }
        if (hasSpawn) {
          const truthS = truthFrames(seed, d.context, actsSpawn, d.frameWidth, d.frameHeight);
          const modelS = await modelFrames(model, seed, actsSpawn, false);
          for (const [name, at] of [['first', first], ['return', ret]] as const) {
            const r = objectKept(modelS[at]!, plain[at]!, truthS[at]!, truth[at]!);
            if (r !== undefined) row[`object_kept_${name}`] = r ? 1 : 0;
          }
          if (hasMemory) {
            const memS = await modelFrames(model, seed, actsSpawn, true);
            const memN = await modelFrames(model, seed, acts, true);
            const r = objectKept(memS[ret]!, memN[ret]!, truthS[ret]!, truth[ret]!);
            if (r !== undefined) row.memory_object_kept_return = r ? 1 : 0;
          }
        }
        rows.push(row);
      }
      const col = (k: string) => r2(mean(rows.map((r) => r[k]!).filter((v) => Number.isFinite(v))));
      console.log(
        JSON.stringify({
          eval: 'revisit',
          machine: machine(),
          backend: model.info.backend,
          model: o.model,
          seeds: rows.length,
          away_frames: 3 * n,
          // The truth world's own return frame vs its first visit: identical unless the undo left a
          // sub-1e-3 pose error that shows at edges (then its PSNR is the ceiling for that loop).
          truth_return_identical: `${rows.filter((r) => r.truth_self_psnr! >= 100).length}/${rows.length}`,
          truth_self_psnr_min_db: r2(Math.min(...rows.map((r) => r.truth_self_psnr!))),
          psnr_return_vs_first_db: col('psnr_return_vs_first'),
          psnr_return_vs_truth_db: col('psnr_return_vs_truth'),
          sharpness_ratio: col('sharpness_ratio'),
          // Share of loops where the spawned object is "recognisable": see objectKept().
          spawned_object_kept: hasSpawn
            ? { first_visit: share(rows, 'object_kept_first'), on_return: share(rows, 'object_kept_return'), ...(hasMemory ? { on_return_with_memory: share(rows, 'memory_object_kept_return') } : {}) }
            : 'model has no spawn channel',
          memory: hasMemory
            ? { psnr_return_vs_first_db: col('memory_psnr_return_vs_first'), psnr_return_vs_truth_db: col('memory_psnr_return_vs_truth') }
            : 'model has no memory slots',
          per_seed: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, r2(v)]))),
        }),
      );
    }
  } finally {
    await model.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
