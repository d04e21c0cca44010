/**
 * Fixed-rate tick schedule with a clamped catch-up. Ticks are due at start + k·period. When the
 * loop falls behind (a slow frame, GC, the window being dragged), it may run up to `maxCatchUp`
 * overdue ticks back to back; anything further behind is skipped (counted as dropped) and the
 * schedule restarts from now, so one long stall never turns into a burst of stale frames.
 */
export interface TickPlan {
  /** When the next tick should run (ms). ≤ now means "run it immediately". */
  at: number;
  /** Ticks skipped by this decision (the schedule jumped over them). */
  skipped: number;
}

export class Pacer {
  readonly periodMs: number;
  readonly maxCatchUp: number;
  private due = 0;

  constructor(fps: number, maxCatchUp = 2) {
    if (!(fps > 0 && Number.isFinite(fps))) throw new RangeError(`fps must be a positive number, got ${fps}`);
    if (!(Number.isInteger(maxCatchUp) && maxCatchUp >= 0)) throw new RangeError(`maxCatchUp must be a non-negative integer`);
    this.periodMs = 1000 / fps;
    this.maxCatchUp = maxCatchUp;
  }

  /** Starts the schedule: the first tick is due now. */
  start(now: number): void {
    this.due = now;
  }

  /** The time the current tick was scheduled for. */
  get scheduled(): number {
    return this.due;
  }

  /** Called after a tick's work is done; plans the next one. */
  next(now: number): TickPlan {
    this.due += this.periodMs;
    if (now <= this.due) return { at: this.due, skipped: 0 };
    // Behind: how many whole ticks are overdue besides the one due now?
    const overdue = Math.floor((now - this.due) / this.periodMs);
    if (overdue < this.maxCatchUp) return { at: this.due, skipped: 0 };
    const skipped = overdue - this.maxCatchUp + 1;
    this.due += skipped * this.periodMs;
    return { at: this.due, skipped };
  }
}
