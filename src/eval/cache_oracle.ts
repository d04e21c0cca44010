/**
 * The cache oracle (issue 18, item 3): how close can a renderer of remembered points get to the
 * truth world, given *true* frames and *true* depth? This bounds what a cache-conditioned
 * generator can take from its cache: the cache render is exactly right where it is valid, and
 * the generator has to make up the rest.
 *
 * On the revisit eval's loops (src/eval/revisit.ts: settle, a still first visit, n exploration
 * steps away, the same steps undone back to exactly the first pose), a truth world is walked and
 * each frame goes into a point cache (src/cache/point_cache.ts) with its depth and camera. At
 * horizon h the cache holds frames 0..t-h and renders the pose of frame t, which is compared with
 * truth frame t: the share of pixels the cache covers (valid), PSNR and mean absolute error on
 * those pixels, and the share of valid pixels whose cached depth is within 2 % of the truth's
 * (the rest are occlusion errors: a surface the cache keeps that is hidden at t, or the reverse
 * at a hole). Every frame from the first visit to the return is scored; the return frame is
 * reported on its own (has the cache kept the place it left 3n frames ago?).
 */
import { World, type CameraData } from '../world.js';
import { PointCache, type CacheView, type PointCacheConfig } from '../cache/point_cache.js';
import type { Tile } from '../image/contact_sheet.js';
import { DEFAULT_SETTLE, revisitLoop } from './revisit.js';
import { mean, round2 } from './frames.js';

export const DEFAULT_HORIZONS = [1, 8, 32];

export interface CacheOracleOptions {
  /** Loops per away length: seeds 2^40 + 0 .. seeds-1, as the revisit eval. */
  seeds: number;
  /** Frames away (rounded up to a multiple of 3). */
  aways: number[];
  horizons: number[];
  width: number;
  height: number;
  cache: PointCacheConfig;
  /** Score every stride-th frame (the return frame always). */
  stride?: number;
  settle?: number;
}

export interface CacheOracleResult {
  reports: Record<string, unknown>[];
  tiles: Tile[];
  columns: number;
}

/** One comparison of a cache render with the truth frame at the same pose. */
export interface ViewScore {
  /** Share of all pixels the cache covers. */
  valid: number;
  /** Share of the pixels that show a surface in truth (not sky) the cache covers. */
  validSurface: number;
  /** PSNR (dB) and mean |difference| (0..255) over the valid pixels; null when none is valid. */
  psnrValid: number | null;
  maeValid: number | null;
  /** Share of valid pixels whose cache depth is within 2 % of truth's. */
  depthAgree: number | null;
  /** The sums behind them, for pooling over frames: squared and absolute error over the valid
   * pixels' channels, valid pixels, valid pixels whose depth agrees. */
  sums: { se: number; ae: number; valid: number; agree: number };
}

export function scoreView(view: CacheView, truthRgb: Uint8Array, truthDepth: Float32Array): ViewScore {
  const n = truthDepth.length;
  let valid = 0;
  let surface = 0;
  let validSurface = 0;
  let se = 0;
  let ae = 0;
  let agree = 0;
  for (let p = 0; p < n; p++) {
    const hasSurface = Number.isFinite(truthDepth[p]!);
    if (hasSurface) surface++;
    if (!view.mask[p]) continue;
    valid++;
    if (hasSurface) validSurface++;
    for (let c = 0; c < 3; c++) {
      const d = view.rgb[p * 3 + c]! - truthRgb[p * 3 + c]!;
      se += d * d;
      ae += Math.abs(d);
    }
    if (Math.abs(view.depth[p]! - truthDepth[p]!) <= 0.02 * truthDepth[p]!) agree++;
  }
  return {
    valid: valid / n,
    validSurface: surface ? validSurface / surface : 0,
    psnrValid: valid ? 10 * Math.log10((255 * 255) / Math.max(se / (3 * valid), 1e-10)) : null,
    maeValid: valid ? ae / (3 * valid) : null,
    depthAgree: valid ? agree / valid : null,
    sums: { se, ae, valid, agree },
  };
}

/** Squared error summed over every byte of two frames. */
function sumSquaredError(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return se;
}

const psnrOf = (se: number, n: number): number | null => (n ? 10 * Math.log10((255 * 255) / Math.max(se / n, 1e-10)) : null);

/** The mask as a grey RGB tile (white = valid). */
function maskTile(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length * 3);
  for (let i = 0; i < mask.length; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = mask[i]!;
  return out;
}

interface Frame {
  rgb: Uint8Array;
  depth: Float32Array;
  camera: CameraData;
}

type Agg = Record<string, number[]>;
const push = (agg: Agg, key: string, v: number | null) => {
  if (v === null) return;
  (agg[key] ??= []).push(v);
};
const summary3 = (agg: Agg, key: string) => (agg[key]?.length ? Math.round(mean(agg[key]!) * 1000) / 1000 : null);
const total = (agg: Agg, key: string) => (agg[key] ?? []).reduce((a, v) => a + v, 0);
// PSNR over all the pixels of a set of frames (their pooled squared error), so a frame that
// happens to be exact (a still step) does not enter the mean as the 148 dB cap.
const pooledPsnr = (agg: Agg, se: string, n: string) => {
  const v = psnrOf(total(agg, se), total(agg, n));
  return v === null ? null : round2(v);
};

export async function runCacheOracle(
  o: CacheOracleOptions,
  log: (line: string) => void,
  onReport: (report: Record<string, unknown>) => void = () => {},
): Promise<CacheOracleResult> {
  const settle = o.settle ?? DEFAULT_SETTLE;
  const stride = o.stride ?? 1;
  const maxH = Math.max(...o.horizons);
  const reports: Record<string, unknown>[] = [];
  const tiles: Tile[] = [];
  const tile = (rgb: Uint8Array, label: string): Tile => ({ width: o.width, height: o.height, rgb, label });
  for (const away of o.aways) {
    const n = Math.ceil(away / 3);
    const all: Agg = {};
    const ret: Agg = {};
    const perSeed: Record<string, unknown>[] = [];
    let points = 0;
    let evicted = 0;
    let insertMs = 0;
    let renderMs = 0;
    let renders = 0;
    let inserts = 0;
    for (let s = 0; s < o.seeds; s++) {
      const loop = revisitLoop(s, settle, n, log); // the revisit eval's loops
      if (!loop) continue;
      const { seed, acts, first } = loop;
      const last = loop.ret; // the return: back at the first visit's pose
      const caches = o.horizons.map(() => new PointCache(o.cache));
      const world = new World(seed, { width: o.width, height: o.height });
      const seedAgg: Agg = {};
      // Frames t-maxH..t, so each horizon's cache can be fed the frame it is due.
      const ring: Frame[] = [];
      const views = o.horizons.map(() => undefined as CacheView | undefined);
      try {
        for (let t = 0; t <= last; t++) {
          if (t > 0) world.step(acts[t - 1]!);
          const cur: Frame = { rgb: world.rgb.slice(), depth: world.depth.slice(), camera: world.camera() };
          ring.push(cur);
          if (ring.length > maxH + 1) ring.shift();
          const scored = t >= first && ((t - first) % stride === 0 || t === last);
          for (const [k, h] of o.horizons.entries()) {
            const due = t - h; // the newest frame this cache may hold when rendering frame t
            if (due >= 0) {
              const f = ring[ring.length - 1 - h]!;
              const t0 = performance.now();
              caches[k]!.insert(f.camera, f.rgb, f.depth);
              insertMs += performance.now() - t0;
              inserts++;
            }
            if (!scored) continue;
            const t0 = performance.now();
            const v = caches[k]!.render(cur.camera, views[k]);
            renderMs += performance.now() - t0;
            renders++;
            views[k] = v;
            const sc = scoreView(v, cur.rgb, cur.depth);
            // The baseline a generator has without any cache: its last true frame, h frames old.
            const old = t >= h ? ring[ring.length - 1 - h] : undefined;
            for (const agg of t === last ? [all, seedAgg, ret] : [all, seedAgg]) {
              if (old) {
                push(agg, `h${h}_copy_se`, sumSquaredError(old.rgb, cur.rgb));
                push(agg, `h${h}_copy_n`, cur.rgb.length);
              }
              push(agg, `h${h}_valid`, sc.valid);
              push(agg, `h${h}_valid_surface`, sc.validSurface);
              push(agg, `h${h}_se`, sc.sums.se);
              push(agg, `h${h}_ae`, sc.sums.ae);
              push(agg, `h${h}_n`, 3 * sc.sums.valid);
              push(agg, `h${h}_valid_px`, sc.sums.valid);
              push(agg, `h${h}_agree`, sc.sums.agree);
            }
            // Sheet: the middle of the walk away and the return, each horizon's render and mask.
            if (t === last || t === first + n) {
              if (k === 0) tiles.push(tile(cur.rgb, `s${s} t${t - first} truth`));
              tiles.push(tile(v.rgb.slice(), `h${h} cache`), tile(maskTile(v.mask), `h${h} mask ${Math.round(sc.valid * 100)}%`));
            }
          }
        }
        points = Math.max(points, ...caches.map((c) => c.size));
        evicted += caches.reduce((a, c) => a + c.evicted, 0);
      } finally {
        world.close();
        for (const c of caches) c.close();
      }
      const row: Record<string, unknown> = { seed_offset: s };
      for (const h of o.horizons) {
        row[`h${h}`] = {
          valid: summary3(seedAgg, `h${h}_valid`),
          psnr_valid_db: pooledPsnr(seedAgg, `h${h}_se`, `h${h}_n`),
        };
      }
      perSeed.push(row);
      log(
        `seed ${seed}, ${3 * n} frames away: ` +
          o.horizons
            .map((h) => `h${h} valid ${summary3(seedAgg, `h${h}_valid`)} psnr ${pooledPsnr(seedAgg, `h${h}_se`, `h${h}_n`)} dB`)
            .join(', '),
      );
    }
    const horizonReport = (agg: Agg) =>
      Object.fromEntries(
        o.horizons.map((h) => [
          `h${h}`,
          {
            valid: summary3(agg, `h${h}_valid`),
            valid_surface: summary3(agg, `h${h}_valid_surface`),
            psnr_valid_db: pooledPsnr(agg, `h${h}_se`, `h${h}_n`),
            mae_valid: total(agg, `h${h}_n`) ? round2(total(agg, `h${h}_ae`) / total(agg, `h${h}_n`)) : null,
            depth_agree: total(agg, `h${h}_valid_px`) ? Math.round((total(agg, `h${h}_agree`) / total(agg, `h${h}_valid_px`)) * 1000) / 1000 : null,
            // PSNR of the true frame h frames earlier against this one (every pixel): copying the
            // last true frame, what the cache render is to beat where it is valid.
            copy_last_psnr_db: pooledPsnr(agg, `h${h}_copy_se`, `h${h}_copy_n`),
          },
        ]),
      );
    const rep = {
      eval: 'cache-oracle',
      seeds: perSeed.length,
      away_frames: 3 * n,
      size: `${o.width}x${o.height}`,
      horizons: o.horizons,
      stride,
      cache: o.cache,
      // Means over every scored frame (first visit to return) of every loop.
      frames: horizonReport(all),
      // The return frame only: back at the first visit's pose after 3n frames away.
      return_frame: horizonReport(ret),
      max_points_held: points,
      points_evicted: evicted,
      insert_ms_mean: round2(insertMs / Math.max(1, inserts)),
      render_ms_mean: round2(renderMs / Math.max(1, renders)),
      per_seed: perSeed,
    };
    reports.push(rep);
    onReport(rep);
  }
  return { reports, tiles, columns: 1 + 2 * o.horizons.length };
}
