import { describe, expect, it } from 'vitest';
import { ADVICE_MIN_TICKS, paceAdvice } from '../src/profiler/pace_advice.js';
import type { ProfileReport } from '../src/profiler/frame_profiler.js';
import { summarize } from '../src/profiler/stats.js';

function report(ticks: number, dropped: number, stepMs?: number): ProfileReport {
  const none = summarize([]);
  return {
    frames: ticks - dropped,
    ticks,
    droppedFrames: dropped,
    frame: summarize([33.3]),
    stages: stepMs === undefined ? {} : { step: summarize([stepMs, stepMs, stepMs + 8]) },
    latencyFrames: none,
    latencyMs: none,
    fps: 30,
  };
}

describe('paceAdvice', () => {
  it('says nothing when the loop kept its tick, or dropped only a few ticks', () => {
    expect(paceAdvice(report(1800, 0, 20), 30, 2)).toBeUndefined();
    expect(paceAdvice(report(1800, 30, 20), 30, 2)).toBeUndefined(); // 1.7 %
  });

  it('says nothing for sessions too short to judge', () => {
    expect(paceAdvice(report(ADVICE_MIN_TICKS - 1, 30, 40), 30, 2)).toBeUndefined();
  });

  it('names the drops, the step against the tick, and --steps 1 for a multi-step model world', () => {
    const line = paceAdvice(report(1936, 197, 30.9), 30, 2);
    expect(line).toBeDefined();
    expect(line).toContain('dropped 197 of 1936 ticks (10 %)');
    expect(line).toContain('30.9 ms (median; p95 38.9) of the 33.3 ms tick');
    expect(line).toContain('--steps 1 (this world ran 2 denoiser steps a frame)');
  });

  it("adds the caller's own suggestions before the last one", () => {
    const line = paceAdvice(report(1800, 100, 40), 30, 2, ['--no-anchor (why)']);
    expect(line).toMatch(/try --steps 1 .*, or --no-anchor \(why\), or fewer busy programs beside it$/);
  });

  it('does not suggest --steps 1 where there is nothing to cut: one step, or the truth world', () => {
    expect(paceAdvice(report(1800, 100, 30), 30, 1)).not.toContain('--steps');
    // At the frame budget's floor (one evaluation a frame) no flag of the world's is left to try.
    const floor = paceAdvice(report(1800, 100, 40), 30, 2, ['--no-anchor (why)'], true)!;
    expect(floor).toMatch(/frame budget already at one denoiser evaluation a frame .*; try fewer busy programs beside it$/);
    expect(floor).not.toMatch(/--steps|--no-anchor/);
    const truth = paceAdvice(report(1800, 100), 20);
    expect(truth).toContain('the loop did not keep the 50.0 ms tick');
    expect(truth).not.toContain('--steps');
  });
});
