/**
 * The frame budget: how many denoiser evaluations the next frame of a model world may spend so
 * that its step fits the tick, the way a game lowers its render resolution when frames run long.
 *
 * Why: on a slow CPU a model frame does not fit the tick, and every frame that misses it is a
 * dropped frame (a 2-core Zen 3 dropped 36 % of play's ticks: docs/notes/2026-12-07-zen3-avx2.md).
 * What a frame spends is its sampler steps plus the extra steps of a revisit anchor's bridge
 * (ModelWorld.setEvalBudget decides how a budget is split). A second sampler step changes the
 * shipped model's frames by 0.01 dB (docs/status.md), so spending one where the tick leaves
 * room for one costs the picture almost nothing, and a dropped tick costs the player a stutter.
 *
 * The cost model is linear, measured as play runs: a step costs `fixed + evals × perEval` ms
 * (perEval from the engine's own sampling time, fixed the rest: decode, memory, bookkeeping).
 * From the upper quartile of the last `window` steps it picks the most evaluations whose cost fits
 * `headroom` of the tick. It lowers the budget at once and raises it one evaluation at a time
 * after `raiseAfter` steps in a row that would allow more, so that a noisy neighbour does not
 * make the picture switch every frame.
 */
import { InvalidArgumentError } from '../errors.js';
import type { StageTimes } from '../source.js';

export interface FrameBudgetOptions {
  /** The tick the steps must fit (ms). */
  periodMs: number;
  /** Evaluations the world spends at most when nothing limits it (sampler steps + longest
   * bridge − 1): a budget at or above this is no limit. */
  fullEvals: number;
  /** Share of the tick a step may use (the loop, presenting and the OS need the rest). */
  headroom?: number;
  /** Steps the cost model looks back on. */
  window?: number;
  /** Steps measured before the budget first decides (start-up frames are slow everywhere). */
  warmup?: number;
  /** Steps in a row that must allow more before the budget rises by one evaluation. */
  raiseAfter?: number;
}

export const FRAME_BUDGET_DEFAULTS = { headroom: 0.9, window: 24, warmup: 4, raiseAfter: 16 } as const;

/** Upper quartile (nearest rank) of the values. */
function upperQuartile(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.75 * s.length))]!;
}

export class FrameBudget {
  readonly periodMs: number;
  readonly fullEvals: number;
  /** headroom, window, warmup, raiseAfter: the options with their defaults filled in. */
  private readonly o: Required<FrameBudgetOptions>;
  private readonly perEval: number[] = [];
  private readonly fixed: number[] = [];
  private current: number;
  private wantsMore = 0;
  /** Frames generated under a budget below full, and all frames measured (for the report). */
  limitedFrames = 0;
  frames = 0;
  /** Evaluations the measured frames spent, summed. */
  evals = 0;

  constructor(o: FrameBudgetOptions) {
    if (!(o.periodMs > 0 && Number.isFinite(o.periodMs))) throw new InvalidArgumentError(`frame budget: periodMs must be a positive number; got ${o.periodMs}`);
    if (!(Number.isInteger(o.fullEvals) && o.fullEvals >= 1)) throw new InvalidArgumentError(`frame budget: fullEvals must be a positive integer; got ${o.fullEvals}`);
    const d = { ...FRAME_BUDGET_DEFAULTS, ...o };
    if (!(d.headroom > 0 && d.headroom <= 1)) throw new InvalidArgumentError(`frame budget: headroom must be in (0, 1]; got ${d.headroom}`);
    for (const k of ['window', 'warmup', 'raiseAfter'] as const) {
      if (!(Number.isInteger(d[k]) && d[k] >= 1)) throw new InvalidArgumentError(`frame budget: ${k} must be a positive integer; got ${d[k]}`);
    }
    this.o = d;
    this.periodMs = o.periodMs;
    this.fullEvals = this.current = o.fullEvals;
  }

  /** Evaluations the next frame may spend; 0 = no limit (the world's full quality). */
  evalBudget(): number {
    return this.current >= this.fullEvals ? 0 : this.current;
  }

  /**
   * One finished step: the evaluations it spent, the stages the world reported (`sample` and
   * `decode` when the engine times its call; else only the wall time is known) and its wall time.
   */
  record(evals: number, stages: StageTimes, wallMs: number): void {
    if (!(Number.isInteger(evals) && evals >= 1) || !(wallMs >= 0 && Number.isFinite(wallMs))) return;
    this.frames++;
    this.evals += evals;
    if (this.current < this.fullEvals) this.limitedFrames++;
    const sample = stages.sample;
    // Without the engine's split (CUDA does not time inside its call) all of it counts as sampling:
    // that over-charges extra evaluations, so the budget errs towards keeping the tick.
    const sampleMs = sample !== undefined && Number.isFinite(sample) ? Math.min(sample, wallMs) : wallMs;
    this.perEval.push(sampleMs / evals);
    this.fixed.push(wallMs - sampleMs);
    if (this.perEval.length > this.o.window) {
      this.perEval.shift();
      this.fixed.shift();
    }
    if (this.frames < this.o.warmup) return;
    const fits = this.fitting();
    if (fits < this.current) {
      this.current = fits;
      this.wantsMore = 0;
    } else if (fits > this.current) {
      if (++this.wantsMore >= this.o.raiseAfter) {
        this.current++;
        this.wantsMore = 0;
      }
    } else this.wantsMore = 0;
  }

  /** Evaluations the measured frames spent, on average. */
  get meanEvals(): number {
    return this.evals / Math.max(1, this.frames);
  }

  /** The most evaluations (1..fullEvals) whose cost fits the tick by the cost model now. */
  fitting(): number {
    if (this.perEval.length === 0) return this.fullEvals;
    const per = Math.max(upperQuartile(this.perEval), 1e-6);
    const room = this.periodMs * this.o.headroom - upperQuartile(this.fixed);
    return Math.max(1, Math.min(this.fullEvals, Math.floor(room / per)));
  }

  /** One line for the end of a session; undefined when the budget never limited a frame. */
  summary(): string | undefined {
    if (this.limitedFrames === 0) return undefined;
    const pct = ((100 * this.limitedFrames) / Math.max(1, this.frames)).toFixed(0);
    return (
      `frame budget: ${this.limitedFrames} of ${this.frames} frames (${pct} %) spent fewer denoiser evaluations than the ` +
      `world's ${this.fullEvals} to keep the ${this.periodMs.toFixed(1)} ms tick (mean ${this.meanEvals.toFixed(2)} a frame; ` +
      `--no-frame-budget turns it off)`
    );
  }
}

/** A budget for a source that has one (model worlds) at simulation tick `fps`; else undefined. */
export function frameBudgetFor(source: { readonly fullEvals?: number; setEvalBudget?(evals: number): void }, fps: number): FrameBudget | undefined {
  const full = source.fullEvals;
  if (full === undefined || !source.setEvalBudget) return undefined;
  return new FrameBudget({ periodMs: 1000 / fps, fullEvals: full });
}
