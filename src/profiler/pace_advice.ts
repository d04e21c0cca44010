/**
 * One line for the end-of-session report when the loop did not keep its tick: how many ticks
 * were dropped, how long the world's step took against the tick, and what to try. A player on
 * a slow CPU otherwise sees only a low FPS and a dropped count (on a 2-core Zen 3, play dropped
 * 36 % of its ticks as shipped, 20 % with --steps 1, 7 % with --steps 1 --no-anchor;
 * docs/notes/2026-12-07-zen3-avx2.md).
 */
import type { ProfileReport } from './frame_profiler.js';

/** Sessions shorter than this many ticks say nothing (start-up frames are slow everywhere). */
export const ADVICE_MIN_TICKS = 60;
/** Share of ticks dropped above which the report says so. */
export const ADVICE_DROPPED_SHARE = 0.02;

/**
 * @param fps the simulation tick the loop ran at
 * @param steps denoiser steps per frame of a model world; undefined for the truth world
 * @param more further things to try that only the caller knows of (e.g. play's `--no-anchor`)
 * @param atBudgetFloor the frame budget (src/loop/frame_budget.ts) ended at one denoiser
 *   evaluation a frame: fewer steps or bridges are nothing left to try
 */
export function paceAdvice(r: ProfileReport, fps: number, steps?: number, more: readonly string[] = [], atBudgetFloor = false): string | undefined {
  if (r.ticks < ADVICE_MIN_TICKS || r.droppedFrames <= r.ticks * ADVICE_DROPPED_SHARE) return undefined;
  const tickMs = 1000 / fps;
  const pct = ((100 * r.droppedFrames) / r.ticks).toFixed(0);
  const step = r.stages['step'];
  const cause =
    step && step.count > 0
      ? `the world's step took ${step.median.toFixed(1)} ms (median; p95 ${step.p95.toFixed(1)}) of the ${tickMs.toFixed(1)} ms tick`
      : `the loop did not keep the ${tickMs.toFixed(1)} ms tick`;
  if (atBudgetFloor) {
    return (
      `dropped ${r.droppedFrames} of ${r.ticks} ticks (${pct} %): ${cause}, with the frame budget already at one denoiser ` +
      `evaluation a frame (what is left is this CPU's time for one evaluation and the decode); try fewer busy programs beside it`
    );
  }
  const tries: string[] = [];
  if (steps !== undefined && steps > 1) tries.push(`--steps 1 (this world ran ${steps} denoiser steps a frame)`);
  tries.push(...more, 'fewer busy programs beside it');
  return `dropped ${r.droppedFrames} of ${r.ticks} ticks (${pct} %): ${cause}; try ${tries.join(', or ')}`;
}
