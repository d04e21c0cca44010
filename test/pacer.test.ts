import { describe, expect, it } from 'vitest';
import { Pacer } from '../src/loop/pacer.js';

describe('Pacer (fixed tick, clamped catch-up)', () => {
  it('schedules ticks one period apart when work is fast', () => {
    const p = new Pacer(50); // 20 ms
    p.start(1000);
    expect(p.next(1005)).toEqual({ at: 1020, skipped: 0 });
    expect(p.next(1021)).toEqual({ at: 1040, skipped: 0 });
  });

  it('keeps the schedule (no drift) when a tick is a little late', () => {
    const p = new Pacer(50);
    p.start(0);
    expect(p.next(25).at).toBe(20); // late: run now
    expect(p.next(26).at).toBe(40); // back on the original grid
  });

  it('runs at most maxCatchUp overdue ticks back to back, skipping the rest', () => {
    const p = new Pacer(50, 2);
    p.start(0);
    // Stalled for 105 ms: ticks at 20, 40, 60, 80, 100 are all overdue.
    const first = p.next(105);
    expect(first.skipped).toBe(3);
    expect(first.at).toBeLessThanOrEqual(105);
    const second = p.next(105.5);
    expect(second.at).toBeLessThanOrEqual(105.5);
    expect(second.skipped).toBe(0);
    const third = p.next(106);
    expect(third.at).toBeGreaterThan(106); // caught up: sleep again
  });

  it('maxCatchUp 0 never runs a late tick', () => {
    const p = new Pacer(50, 0);
    p.start(0);
    const plan = p.next(30);
    expect(plan.at).toBeGreaterThan(30);
    expect(plan.skipped).toBe(1);
  });

  it('rejects a bad rate', () => {
    expect(() => new Pacer(0)).toThrow(/fps/);
    expect(() => new Pacer(Number.NaN)).toThrow(/fps/);
  });
});
