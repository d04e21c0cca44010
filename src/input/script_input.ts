/** LoopInput from a list of per-frame actions (action scripts, random soak actions, recordings). */
import type { InputPoll, LoopInput } from '../loop/game_loop.js';
import type { ScriptStep } from '../loop/action_script.js';

export class ScriptInput implements LoopInput {
  private last: Float32Array | undefined;
  private peeked: ScriptStep | undefined;
  private done = false;
  private reported = false;

  constructor(private readonly steps: Iterator<ScriptStep>) {}

  poll(): InputPoll {
    // An action that differs from the previous one counts as an input (for latency).
    if (!this.peeked && !this.done) {
      const r = this.steps.next();
      if (r.done) this.done = true;
      else this.peeked = r.value;
    }
    const p = this.peeked;
    const changed = !!p && !this.reported && (!this.last || p.reset || p.action.some((v, i) => v !== this.last![i]));
    if (changed) this.reported = true;
    return { commands: [], changed };
  }

  next(): ScriptStep | undefined {
    if (!this.peeked && !this.done) this.poll();
    const p = this.peeked;
    this.peeked = undefined;
    this.reported = false;
    if (p) this.last = p.action;
    return p;
  }
}
