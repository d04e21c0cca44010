// What the lighting and placing tests both drive a loop with: an action script that also
// presses runtime keys at one step, and a recorder for any source.
import type { CommandName } from '../../src/input/bindings.js';
import type { InputPoll, LoopInput } from '../../src/loop/game_loop.js';
import { ScriptInput } from '../../src/input/script_input.js';
import type { ScriptStep } from '../../src/loop/action_script.js';
import { Recorder } from '../../src/record/recorder.js';
import type { FrameSource } from '../../src/source.js';

/** Plays `steps`, and delivers `commands` (as if pressed) with the poll before step `at`. */
export class KeyedScript implements LoopInput {
  private readonly inner: ScriptInput;
  private n = 0;
  constructor(steps: Iterator<ScriptStep>, private readonly at: number, private readonly commands: CommandName[]) {
    this.inner = new ScriptInput(steps);
  }
  poll(): InputPoll {
    const p = this.inner.poll();
    return { ...p, commands: this.n === this.at ? this.commands : [] };
  }
  next() {
    this.n++;
    return this.inner.next();
  }
}

/** A recorder whose header names `source` (truth:<seed>, or a made-up model hash). */
export function recorderFor(source: FrameSource, seed: number, label: string): Recorder {
  const header = {
    format: 'worldloop-recording' as const,
    sourceId: source.kind === 'truth' ? `truth:${seed}` : 'sha256:test',
    sourceKind: source.kind,
    label,
    backend: 'cpu',
    seed,
    settings: { fps: 30, width: source.width, height: source.height },
    actionSpace: source.actionSpace,
  };
  return new Recorder(header, source.actionSpace.channels.length);
}
