/**
 * LoopInput from a live window: drains SDL events each tick into the ActionMapper, refreshes the
 * gamepad snapshot, and turns window-level gestures into commands (closing the window quits;
 * clicking captures the mouse for turning; Escape releases a captured mouse before it quits).
 */
import type { Window } from '../window.js';
import type { InputPoll, LoopInput } from '../loop/game_loop.js';
import type { CommandName } from './bindings.js';
import type { ActionMapper } from './action_mapper.js';

export class WindowInput implements LoopInput {
  private captured = false;
  private readonly action: Float32Array;

  constructor(
    private readonly window: Window,
    readonly mapper: ActionMapper,
  ) {
    this.action = new Float32Array(mapper.size);
    window.setDeadzones(mapper.bindings.deadzones.stick, mapper.bindings.deadzones.trigger);
  }

  get mouseCaptured(): boolean {
    return this.captured;
  }

  setMouseCapture(on: boolean): void {
    const ok = this.window.setRelativeMouse(on);
    this.captured = on && ok;
    this.mapper.setMouseCaptured(this.captured);
  }

  poll(): InputPoll {
    const commands: CommandName[] = [];
    for (const ev of this.window.pollEvents()) {
      if (ev.type === 'quit') {
        commands.push('quit');
        continue;
      }
      if (ev.type === 'mousedown' && ev.button === 'left' && !this.captured) this.setMouseCapture(true);
      for (const c of this.mapper.handle(ev)) {
        if (c === 'quit' && this.captured) this.setMouseCapture(false);
        else if (c === 'captureMouse') this.setMouseCapture(!this.captured);
        else commands.push(c);
      }
    }
    this.mapper.setGamepads(this.window.gamepads());
    return { commands, changed: this.mapper.takeDirty() };
  }

  next(): { action: Float32Array; reset: boolean } {
    return { action: this.mapper.read(this.action).slice(), reset: false };
  }
}
