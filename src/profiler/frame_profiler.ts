/**
 * Per-frame stage times for the game loop: input, the source's own stages (each denoiser step,
 * decode — whatever the FrameSource reports), present, idle, and the frame interval; dropped
 * frames; input-to-frame latency. Summaries give median / p95 / p99 per stage.
 */
import { summarize, type Summary } from './stats.js';

/** Keeps the last `capacity` samples of one stage (a ring, so a long session stays bounded). */
class SampleRing {
  private readonly buf: Float64Array;
  private n = 0;
  private head = 0;
  constructor(capacity: number) {
    this.buf = new Float64Array(capacity);
    // Touch every page now, so resident memory does not creep up while the ring fills (that
    // would look like a leak in a soak run).
    this.buf.fill(-1);
  }
  push(v: number): void {
    this.buf[this.head] = v;
    this.head = (this.head + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }
  values(): Float64Array {
    if (this.n < this.buf.length) return this.buf.slice(0, this.n);
    return Float64Array.from([...this.buf.subarray(this.head), ...this.buf.subarray(0, this.head)]);
  }
  last(): number {
    return this.n ? this.buf[(this.head - 1 + this.buf.length) % this.buf.length]! : NaN;
  }
  get size(): number {
    return this.n;
  }
}

export interface ProfileReport {
  frames: number;
  ticks: number;
  droppedFrames: number;
  /** Frame interval (time between presented frames), ms. */
  frame: Summary;
  stages: Record<string, Summary>;
  /** Frames between an input and the first presented frame conditioned on it. */
  latencyFrames: Summary;
  latencyMs: Summary;
  fps: number;
}

export class FrameProfiler {
  private readonly stages = new Map<string, SampleRing>();
  private readonly frameIntervals: SampleRing;
  private readonly latFrames: SampleRing;
  private readonly latMs: SampleRing;
  private lastPresentAt: number | undefined;
  private firstPresentAt: number | undefined;
  frames = 0;
  ticks = 0;
  droppedFrames = 0;

  constructor(private readonly capacity = 100_000) {
    this.frameIntervals = new SampleRing(capacity);
    this.latFrames = new SampleRing(capacity);
    this.latMs = new SampleRing(capacity);
  }

  stage(name: string, ms: number): void {
    let r = this.stages.get(name);
    if (!r) {
      r = new SampleRing(this.capacity);
      this.stages.set(name, r);
    }
    r.push(ms);
  }

  stageTimes(times: Record<string, number>): void {
    for (const [k, v] of Object.entries(times)) if (Number.isFinite(v)) this.stage(k, v);
  }

  tick(): void {
    this.ticks++;
  }

  dropped(n = 1): void {
    this.droppedFrames += n;
  }

  /** A new frame reached the screen (or the output) at time `at` (ms). */
  presented(at: number): void {
    this.frames++;
    if (this.lastPresentAt !== undefined) this.frameIntervals.push(at - this.lastPresentAt);
    else this.firstPresentAt = at;
    this.lastPresentAt = at;
  }

  latency(frames: number, ms: number): void {
    this.latFrames.push(frames);
    this.latMs.push(ms);
  }

  /** Last sample of a stage (for the HUD). */
  last(name: string): number {
    return name === 'frame' ? this.frameIntervals.last() : (this.stages.get(name)?.last() ?? NaN);
  }

  stageNames(): string[] {
    return [...this.stages.keys()];
  }

  report(): ProfileReport {
    const stages: Record<string, Summary> = {};
    for (const [k, r] of this.stages) stages[k] = summarize(r.values());
    const span = this.lastPresentAt !== undefined && this.firstPresentAt !== undefined ? this.lastPresentAt - this.firstPresentAt : 0;
    return {
      frames: this.frames,
      ticks: this.ticks,
      droppedFrames: this.droppedFrames,
      frame: summarize(this.frameIntervals.values()),
      stages,
      latencyFrames: summarize(this.latFrames.values()),
      latencyMs: summarize(this.latMs.values()),
      fps: span > 0 ? ((this.frames - 1) * 1000) / span : NaN,
    };
  }
}

function f(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** The table printed when a session ends. */
export function formatReport(r: ProfileReport): string {
  const rows: string[] = [];
  rows.push(`frames ${r.frames}  ticks ${r.ticks}  dropped ${r.droppedFrames}  fps ${f(r.fps, 1)}`);
  rows.push(`${'stage'.padEnd(12)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}  (ms)`);
  const line = (name: string, s: Summary) =>
    rows.push(`${name.padEnd(12)} ${f(s.median).padStart(8)} ${f(s.p95).padStart(8)} ${f(s.p99).padStart(8)} ${f(s.max).padStart(8)}`);
  for (const [k, s] of Object.entries(r.stages)) line(k, s);
  line('frame', r.frame);
  rows.push(
    `input-to-frame latency: median ${f(r.latencyFrames.median, 0)} frames (${f(r.latencyMs.median, 1)} ms), ` +
      `p95 ${f(r.latencyFrames.p95, 0)}, max ${f(r.latencyFrames.max, 0)} frames over ${r.latencyFrames.count} inputs`,
  );
  return rows.join('\n');
}
