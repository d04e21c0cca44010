/**
 * Soak checks for long headless runs: resident memory over time (growth after warm-up), blank
 * frames (every byte the same), non-finite stage timings, and frames that stop changing (a
 * frozen world). A StepObserver, so it rides along any loop.
 */
import type { Frame, StageTimes } from '../source.js';
import type { StepObserver } from './game_loop.js';

export interface SoakReport {
  frames: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** (end - start) / start over the measured part (after warm-up), percent. */
  rssGrowthPct: number;
  blankFrames: number;
  nonFiniteTimings: number;
  /** Longest run of consecutive identical frames. */
  longestFrozenRun: number;
  /** Live JS heap at the baseline and at the end (after a GC when --expose-gc is on): flat
   * here with RSS growing means allocator/heap reservation growth, not leaked objects. */
  heapUsedStartMb: number;
  heapUsedEndMb: number;
  /** What V8 has reserved for its heap (live or not) and what buffers outside it hold, at the
   * baseline and at the end: RSS growth that these do not explain is native memory. */
  heapTotalStartMb: number;
  heapTotalEndMb: number;
  externalStartMb: number;
  externalEndMb: number;
}

/** The JS side of memory, after a GC when --expose-gc is on. */
function jsMemory(): { heapUsed: number; heapTotal: number; external: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

export class SoakMonitor implements StepObserver {
  private frames = 0;
  private rssStart: number | undefined;
  private jsStart: { heapUsed: number; heapTotal: number; external: number } | undefined;
  private rssEnd = 0;
  private rssMax = 0;
  private blank = 0;
  private nonFinite = 0;
  private lastCrc = -1;
  private frozen = 0;
  private longestFrozen = 0;

  /** warmupFrames: frames before the baseline RSS sample (allocators and JIT settle first). */
  constructor(
    private readonly warmupFrames: number,
    private readonly sampleEvery = 250,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {}

  stepFinished(frame: Frame, stages: StageTimes): void {
    this.frames++;
    const px = frame.rgb;
    let same = true;
    const first = px[0];
    for (let i = 1; i < px.length; i++) if (px[i] !== first) { same = false; break; }
    if (same) this.blank++;
    for (const v of Object.values(stages)) if (!Number.isFinite(v)) this.nonFinite++;
    // Cheap content hash to spot a frozen world (identical consecutive frames).
    let h = 2166136261;
    for (let i = 0; i < px.length; i += 7) h = Math.imul(h ^ px[i]!, 16777619);
    h >>>= 0;
    this.frozen = h === this.lastCrc ? this.frozen + 1 : 0;
    this.longestFrozen = Math.max(this.longestFrozen, this.frozen);
    this.lastCrc = h;
    if (this.frames === this.warmupFrames) {
      this.rssStart = this.rss();
      this.jsStart = jsMemory();
    }
    if (this.frames % this.sampleEvery === 0 || this.frames === this.warmupFrames) {
      const r = this.rss();
      this.rssEnd = r;
      this.rssMax = Math.max(this.rssMax, r);
    }
  }

  report(): SoakReport {
    const end = this.rss();
    const start = this.rssStart ?? end;
    const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    const js = jsMemory();
    const js0 = this.jsStart ?? js;
    return {
      frames: this.frames,
      rssStartMb: mb(start),
      rssEndMb: mb(end),
      rssMaxMb: mb(Math.max(this.rssMax, end)),
      rssGrowthPct: Math.round(((end - start) / start) * 1000) / 10,
      blankFrames: this.blank,
      nonFiniteTimings: this.nonFinite,
      longestFrozenRun: this.longestFrozen,
      heapUsedStartMb: mb(js0.heapUsed),
      heapUsedEndMb: mb(js.heapUsed),
      heapTotalStartMb: mb(js0.heapTotal),
      heapTotalEndMb: mb(js.heapTotal),
      externalStartMb: mb(js0.external),
      externalEndMb: mb(js.external),
    };
  }
}
