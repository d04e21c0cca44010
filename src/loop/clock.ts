/**
 * Time for the game loop, injectable so pacing is testable without wall-clock thresholds:
 * RealClock uses performance.now() and timers; FakeClock advances only when told (or when the
 * loop sleeps), so a test decides exactly how long every stage "takes".
 */
import { performance } from 'node:perf_hooks';

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
  sleepUntil(t: number): Promise<void> {
    // Timers overshoot by ~1 ms: sleep short with a timer, then yield to the event loop with
    // setImmediate until the deadline. One promise per sleep (the spin allocates no promises,
    // which would otherwise grow the heap's young generation over a long session).
    return new Promise<void>((resolve) => {
      const spin = () => (performance.now() >= t ? resolve() : setImmediate(spin));
      const ahead = t - performance.now();
      if (ahead > 2) setTimeout(spin, ahead - 1.5);
      else spin();
    });
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
