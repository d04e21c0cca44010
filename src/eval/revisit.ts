/**
 * Revisit eval (issue 7, item 2): on held-out seeds (2^40 + i), a scripted loop walks away from a
 * pose and comes back to exactly it, and the model's frame on return is compared with its own
 * frame on the first visit (self-consistency) and with the truth world's frame there.
 *
 * The loop: settle (standing still), one still frame (the first visit), then `n` steps of the
 * exploration policy (events off), then the same steps undone in reverse — each step (turn, then
 * move) is undone by two steps (move back along the current heading, then turn back) — so the
 * player is away for 3n frames. The truth world checks every candidate loop: one that bumped a
 * wall does not return exactly and is replaced by another policy seed. Each loop runs in up to
 * three modes, all through the world play builds (openWorld, src/play/open_world.ts):
 * - plain: the model alone;
 * - memory: a model with memory slots (docs/memory-model.md) fed the views retrieval picks;
 * - anchor: what play runs — the slots when the model has them, plus revisit anchoring
 *   (src/memory/revisit_anchor.ts), which re-grounds a frame on a remembered view on return.
 *
 * Also reported, as in the training eval: PSNR of the return frame against truth, the sharpness
 * ratio (mean image-gradient magnitude of model frames over truth's) and turn direction agreement
 * along the loop (turnAgreement), so a model that blurs, freezes or ignores the player cannot
 * look good on self-consistency alone; and whether an object is still
 * recognisable on return: one spawned by the model's own spawn event, and one of a chosen kind
 * placed by the runtime (src/object_placement.ts), each at the first visit. `worldloop eval revisit` runs it (src/cli/commands/eval/revisit.ts).
 */
import { Explorer, World, worldLayout, type ObjectKind } from '../world.js';
import type { Model } from '../model.js';
import type { Tile } from '../image/contact_sheet.js';
import { objectKindsOf } from '../object_placement.js';
import { mean, modelFrames, objectKept, psnr, round2, sharpness, truthFrames, turnAgreement, turnSteps, type Act, type Mode } from './frames.js';

export const REVISIT_MODES: readonly Mode[] = ['plain', 'memory', 'anchor'];

export interface RevisitOptions {
  /** The model's identity (sha256:… of its file). */
  sourceId: string;
  /** Loops per away length: seeds 2^40 + 0 .. seeds-1 (a seed without a wall-free loop is skipped). */
  seeds: number;
  /** Frames away (rounded up to a multiple of 3). */
  aways: number[];
  modes: Mode[];
  /** Still frames before the first visit (default 8). */
  settle?: number;
  /** The kind placed at the first visit for "placed object kept" (default lamp; none = skip). */
  place?: ObjectKind | 'none';
  /** Every frame spends at most this many denoiser evaluations, as under play's frame budget
   * on a slow machine (src/loop/frame_budget.ts; 0 / absent = no limit). */
  evalBudget?: number;
}

export interface RevisitResult {
  /** One report per away length (the JSON `worldloop eval revisit` prints and writes). */
  reports: Record<string, unknown>[];
  /** Per loop: truth and each mode at the first visit and on return, captioned. */
  tiles: Tile[];
  /** Tiles per sheet row. */
  columns: number;
}

/** A loop that returns exactly to its start pose in the truth world, or undefined. */
export function buildLoop(seed: number, policySeed: number, settle: number, n: number): Act[] | undefined {
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

export const LOOP_TRIES = 30;
/** Still frames before a loop's first visit. */
export const DEFAULT_SETTLE = 8;

/** The seed's loop of n exploration steps (buildLoop with up to LOOP_TRIES policy seeds), or
 * undefined when none stays clear of walls. */
export function findLoop(seed: number, settle: number, n: number): Act[] | undefined {
  for (let t = 0; t < LOOP_TRIES; t++) {
    const acts = buildLoop(seed, seed * 31 + t, settle, n);
    if (acts) return acts;
  }
  return undefined;
}

/** One revisit loop as the revisit eval and the cache oracle both walk it: seed 2^40 + offset,
 * its loop of n steps away and back (findLoop) with one more still step at the first visit.
 * `first` and `ret` are the frame indices of the first visit and of the return (the same pose);
 * undefined (and a log line) when the seed has no wall-free loop. */
export function revisitLoop(
  offset: number,
  settle: number,
  n: number,
  log: (line: string) => void,
): { seed: number; acts: Act[]; first: number; ret: number } | undefined {
  const seed = 2 ** 40 + offset;
  const loop = findLoop(seed, settle, n);
  if (!loop) {
    log(`seed ${seed}: no wall-free loop in ${LOOP_TRIES} tries; skipped`);
    return undefined;
  }
  const acts = [...loop.slice(0, settle), new Float32Array(loop[0]!.length), ...loop.slice(settle)];
  return { seed, acts, first: settle + 1, ret: acts.length };
}

function turnShare(rows: Record<string, number>[], mode: Mode): { agreement: number | null; steps: number } {
  const sum = (k: string) => rows.reduce((t, r) => t + (r[k] ?? 0), 0);
  const steps = sum(`${mode}_turn_steps`);
  return { agreement: steps ? round2(sum(`${mode}_turn_agree`) / steps) : null, steps };
}

function share(rows: Record<string, number>[], key: string): string {
  const v = rows.map((r) => r[key]).filter((x): x is number => x !== undefined);
  return v.length ? `${v.filter((x) => x === 1).length}/${v.length}` : 'object not in view';
}


/** Runs every loop; `log` gets one progress line per loop, `onReport` each distance's report as
 * soon as its loops are done. */
export async function runRevisit(
  model: Model,
  o: RevisitOptions,
  log: (line: string) => void,
  onReport: (report: Record<string, unknown>) => void = () => {},
): Promise<RevisitResult> {
  const settle = o.settle ?? DEFAULT_SETTLE;
  const d = model.dims;
  const hasSpawn = model.actionSpace.channels.some((c) => c.name === 'spawn');
  const wanted = o.place === 'none' ? undefined : (o.place ?? 'lamp');
  const placeable = objectKindsOf(model.info.manifest, model.actionSpace);
  const placeKind = wanted && placeable.includes(wanted) ? wanted : undefined;
  // 'memory' needs memory slots; without them it would repeat 'plain'.
  const modes = o.modes.filter((m) => m !== 'memory' || d.memorySlots > 0);
  const reports: Record<string, unknown>[] = [];
  const tiles: Tile[] = [];
  const tile = (rgb: Uint8Array, label: string): Tile => ({ width: d.frameWidth, height: d.frameHeight, rgb, label });
  for (const away of o.aways) {
    const n = Math.ceil(away / 3);
    const rows: Record<string, number>[] = [];
    for (let s = 0; s < o.seeds; s++) {
      const loop = revisitLoop(s, settle, n, log);
      if (!loop) continue;
      const { seed, acts, first, ret } = loop;
      // The spawn variant fires the spawn event at the still step of the first visit.
      const spawnStep = new Float32Array(acts[0]!.length);
      spawnStep[worldLayout().channels.findIndex((c) => c.name === 'spawn')] = 1;
      const actsSpawn = [...acts.slice(0, settle), spawnStep, ...acts.slice(settle + 1)];
      const truth = truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight);
      const truthS = hasSpawn ? truthFrames(seed, d.context, actsSpawn, d.frameWidth, d.frameHeight) : undefined;
      const place = placeKind ? { step: settle, kind: placeKind } : undefined;
      const truthP = place ? truthFrames(seed, d.context, acts, d.frameWidth, d.frameHeight, place) : undefined;
      const truthSharp = Math.max(1e-9, sharpness(truth[ret]!, d.frameWidth, d.frameHeight));
      const turning = turnSteps(truth, acts, d.frameWidth, d.frameHeight);
      const row: Record<string, number> = { seed_offset: s, truth_self_psnr: psnr(truth[ret]!, truth[first]!) };
      const loopTiles = [tile(truth[first]!, `s${s} truth first`), tile(truth[ret]!, `truth return ${3 * n}`)];
      for (const mode of modes) {
        const budget = o.evalBudget ? { evalBudget: o.evalBudget } : {};
        const m = await modelFrames(model, o.sourceId, seed, acts, mode, budget);
        const f = m.frames;
        row[`${mode}_psnr_return_vs_first`] = psnr(f[ret]!, f[first]!);
        row[`${mode}_psnr_return_vs_truth`] = psnr(f[ret]!, truth[ret]!);
        row[`${mode}_sharpness_ratio`] = sharpness(f[ret]!, d.frameWidth, d.frameHeight) / truthSharp;
        row[`${mode}_anchored_frames`] = m.anchored;
        // Action following along the loop, as the training eval judges it (turn direction).
        const turns = turnAgreement(f, turning, d.frameWidth, d.frameHeight);
        row[`${mode}_turn_agree`] = turns.agree;
        row[`${mode}_turn_steps`] = turns.total;
        row[`${mode}_return_anchored`] = m.anchoredAt[ret] ? 1 : 0;
        if (mode === modes[0]) loopTiles.push(tile(f[first]!, `${mode} first`));
        loopTiles.push(tile(f[ret]!, `${mode} return`));
        if (truthS) {
          const fs = (await modelFrames(model, o.sourceId, seed, actsSpawn, mode, budget)).frames;
          for (const [name, at] of [['first', first], ['return', ret]] as const) {
            const r = objectKept(fs[at]!, f[at]!, truthS[at]!, truth[at]!);
            if (r !== undefined) row[`${mode}_object_kept_${name}`] = r ? 1 : 0;
          }
        }
        if (truthP && place) {
          const fp = (await modelFrames(model, o.sourceId, seed, acts, mode, { place, ...budget })).frames;
          for (const [name, at] of [['first', first], ['return', ret]] as const) {
            const r = objectKept(fp[at]!, f[at]!, truthP[at]!, truth[at]!);
            if (r !== undefined) row[`${mode}_placed_kept_${name}`] = r ? 1 : 0;
          }
          // One tile per loop, from the last mode (play's own, 'anchor', when it runs).
          if (mode === modes[modes.length - 1]) loopTiles.push(tile(fp[ret]!, `${mode} placed ${place.kind} return`));
        }
      }
      rows.push(row);
      tiles.push(...loopTiles);
      log(
        `seed ${seed}, ${3 * n} frames away: return vs first visit ` +
          modes.map((m) => `${m} ${round2(row[`${m}_psnr_return_vs_first`]!)} dB`).join(', '),
      );
    }
    const col = (k: string) => round2(mean(rows.map((r) => r[k]!).filter((v) => Number.isFinite(v))));
    const report = (mode: Mode) => ({
      psnr_return_vs_first_db: col(`${mode}_psnr_return_vs_first`),
      // Bit-identical frames score the PSNR cap (148 dB): say how many loops that was.
      return_identical_to_first: `${rows.filter((r) => r[`${mode}_psnr_return_vs_first`]! >= 100).length}/${rows.length}`,
      psnr_return_vs_truth_db: col(`${mode}_psnr_return_vs_truth`),
      sharpness_ratio: col(`${mode}_sharpness_ratio`),
      // Over every turning step of every loop: does the picture turn the way truth's does?
      turn_agreement: turnShare(rows, mode),
      // Share of loops where the spawned object is "recognisable": see objectKept().
      spawned_object_kept: hasSpawn
        ? { first_visit: share(rows, `${mode}_object_kept_first`), on_return: share(rows, `${mode}_object_kept_return`) }
        : 'model has no spawn channel',
      // The same for an object of a chosen kind placed by the runtime (src/object_placement.ts).
      placed_object_kept: placeKind
        ? { kind: placeKind, first_visit: share(rows, `${mode}_placed_kept_first`), on_return: share(rows, `${mode}_placed_kept_return`) }
        : wanted
          ? `not measured: the model has no object kind '${wanted}' (manifest objects.kinds: ${placeable.join(', ') || 'none'})`
          : 'not measured (--place none)',
      ...(mode === 'anchor'
        ? { anchored_frames_mean: col('anchor_anchored_frames'), return_frame_anchored: share(rows, 'anchor_return_anchored') }
        : {}),
    });
    const rep = {
      eval: 'revisit',
      backend: model.info.backend,
      seeds: rows.length,
      away_frames: 3 * n,
      eval_budget: o.evalBudget || null,
      // The truth world's own return frame vs its first visit: identical unless the undo left a
      // sub-1e-3 pose error that shows at edges (then its PSNR is the ceiling for that loop).
      truth_return_identical: `${rows.filter((r) => r.truth_self_psnr! >= 100).length}/${rows.length}`,
      truth_self_psnr_min_db: rows.length ? round2(Math.min(...rows.map((r) => r.truth_self_psnr!))) : null,
      // plain: the model alone; memory: its memory slots fed retrieved views; anchor: what play
      // runs (slots when the model has them, plus revisit anchoring, docs/persistence.md).
      ...Object.fromEntries(modes.map((m) => [m, report(m)])),
      ...(d.memorySlots > 0 ? {} : { memory: 'model has no memory slots' }),
      per_seed: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round2(v)]))),
    };
    reports.push(rep);
    onReport(rep);
  }
  return { reports, tiles, columns: 3 + modes.length + (placeKind ? 1 : 0) };
}
