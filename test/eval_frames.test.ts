// The frame measures the evals share (src/eval/frames.ts): the image shift a turn makes, and turn
// direction agreement along a loop, checked on the truth world itself.
import { describe, expect, it } from 'vitest';
import { horizontalShift, truthFrames, turnAgreement, turnSteps } from '../src/eval/frames.js';
import { World, worldLayout } from '../src/world.js';

describe('turn measures', () => {
  it('a turn shifts the picture against it, by about the turn speed in pixels', () => {
    const w = new World(3);
    try {
      const shifts = [1, -1, 0.5, 0].map((t) => {
        const before = w.rgb.slice();
        w.step(Float32Array.from([0, 0, t, 0, 0]));
        return horizontalShift(before, w.rgb, w.width, w.height);
      });
      // 5 degrees of a 66-degree view across 128 pixels is ~9.7 pixels; turning right moves the
      // content left.
      expect(shifts[0]).toBeLessThanOrEqual(-8);
      expect(shifts[1]).toBeGreaterThanOrEqual(8);
      expect(shifts[2]).toBeLessThan(0);
      expect(shifts[3]).toBe(0);
      const flat = new Uint8Array(w.width * w.height * 3).fill(90);
      expect(horizontalShift(flat, flat, w.width, w.height)).toBe(0);
    } finally {
      w.close();
    }
  });

  it('turn agreement is 1 for truth against itself, 0 for a world turning the other way, and skips still steps', () => {
    const A = worldLayout().channels.length;
    const act = (turn: number) => Float32Array.from({ length: A }, (_, c) => (c === 2 ? turn : 0));
    const acts = [act(1), act(1), act(0), act(-1), act(0.2)];
    const truth = truthFrames(5, 4, acts, 128, 128);
    const steps = turnSteps(truth, acts, 128, 128);
    expect(steps.map((s) => s.i)).toEqual([1, 2, 4]);
    expect(turnAgreement(truth, steps, 128, 128)).toEqual({ agree: 3, total: 3 });
    const mirrored = truthFrames(5, 4, acts.map((a) => act(-a[2]!)), 128, 128);
    expect(turnAgreement(mirrored, steps, 128, 128)).toEqual({ agree: 0, total: 3 });
    // A model that stands still agrees with nothing.
    const frozen = truth.map(() => truth[0]!);
    expect(turnAgreement(frozen, steps, 128, 128).agree).toBe(0);
  });
});
