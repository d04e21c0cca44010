/**
 * Time for the game loop, injectable so pacing is testable without wall-clock thresholds:
 * RealClock uses performance.now() and timers; FakeClock advances only when told (or when the
 * loop sleeps), so a test decides exactly how long every stage "takes".
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves at (or just after) time `t` (ms, same clock as now()). */
  sleepUntil(t: number): Promise<void>;
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
  async sleepUntil(t: number): Promise<void> {
    // Timers overshoot by ~1 ms: sleep short, then yield to the event loop until the deadline,
    // which keeps the tick on time without burning a core.
    const ahead = t - performance.now();
    if (ahead > 2) await sleepMs(ahead - 1.5);
    while (performance.now() < t) await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * A clock that only moves when the loop sleeps or a test advances it. `delay(ms)` gives test
 * sources "work that takes ms" without real time: it resolves when a sleep passes that point.
 */
export class FakeClock implements Clock {
  private t: number;
  private timers: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;
  readonly sleeps: number[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Blocking work on the loop's thread: time passes, nothing else runs meanwhile. */
  advance(ms: number): void {
    this.t += ms;
  }

  /** Resolves once the clock has reached now + ms (during a sleepUntil). */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ at: this.t + ms, seq: this.seq++, fire: resolve });
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    });
  }

  async sleepUntil(t: number): Promise<void> {
    this.sleeps.push(Math.max(0, t - this.t));
    // Fire timers due on the way, letting their continuations run at their own time.
    while (this.timers.length && this.timers[0]!.at <= t) {
      const timer = this.timers.shift()!;
      if (timer.at > this.t) this.t = timer.at;
      timer.fire();
      await new Promise<void>((r) => setImmediate(r));
    }
    if (t > this.t) this.t = t;
    await Promise.resolve();
  }
}
