/**
 * Browser gamepads as the engine sees controllers: a Gamepad API pad with the "standard" mapping
 * (the W3C layout: buttons 0-3 = A B X Y, 4/5 shoulders, 6/7 triggers, 8 back, 9 start, 10/11
 * stick clicks, 12-15 d-pad, 16 guide; axes 0-3 = left x/y, right x/y, y down) becomes an SDL
 * GameController state with SDL's names and native/platform/gamepads.cc's deadzones (radial on
 * sticks, rescaled), and button changes become gamepaddown / gamepadup events. The page feeds
 * both to the engine's ActionMapper, so the default bindings drive the page as they drive play.
 * Pads without the standard mapping are skipped (their buttons mean nothing known).
 */
import type { GamepadState, WindowEvent } from '../../addon_types.js';

/** What the page reads of a browser Gamepad (a structural subset, so Node tests can build one). */
export interface PadSnapshot {
  index: number;
  id: string;
  mapping: string;
  axes: readonly number[];
  buttons: readonly { pressed: boolean; value: number }[];
}

/** SDL_GameController button names of the standard mapping's buttons 0..16 (6 and 7 are the
 * triggers: axes in SDL). */
const STANDARD_BUTTONS: readonly (string | undefined)[] = [
  'a', 'b', 'x', 'y', 'leftshoulder', 'rightshoulder', undefined, undefined, 'back', 'start', 'leftstick', 'rightstick',
  'dpup', 'dpdown', 'dpleft', 'dpright', 'guide',
];

/** As native/platform/gamepads.cc: radial deadzone, the rest rescaled to [0, 1]. */
export function stickDeadzone(x: number, y: number, dz: number): [number, number] {
  const fx = Math.fround(x);
  const fy = Math.fround(y);
  const mag = Math.sqrt(fx * fx + fy * fy);
  if (mag <= dz || mag === 0) return [0, 0];
  const scaled = Math.min(1, (mag - dz) / (1 - dz));
  return [Math.fround((fx / mag) * scaled), Math.fround((fy / mag) * scaled)];
}

export function triggerDeadzone(v: number, dz: number): number {
  if (v <= dz) return 0;
  return Math.fround(Math.min(1, (v - dz) / (1 - dz)));
}

const clampAxis = (v: number | undefined): number => Math.max(-1, Math.min(1, Number.isFinite(v) ? v! : 0));

/** Turns successive Gamepad API snapshots into engine gamepad states and button events. */
export class GamepadTracker {
  private held = new Map<number, Set<string>>();

  constructor(private readonly deadzones: { stick: number; trigger: number }) {}

  /** The states now, and the events since the last call (pads gone are 'gamepadremoved'). */
  update(pads: readonly (PadSnapshot | null)[]): { states: GamepadState[]; events: WindowEvent[] } {
    const states: GamepadState[] = [];
    const events: WindowEvent[] = [];
    const seen = new Set<number>();
    for (const p of pads) {
      if (!p || p.mapping !== 'standard') continue;
      seen.add(p.index);
      const [lx, ly] = stickDeadzone(clampAxis(p.axes[0]), clampAxis(p.axes[1]), this.deadzones.stick);
      const [rx, ry] = stickDeadzone(clampAxis(p.axes[2]), clampAxis(p.axes[3]), this.deadzones.stick);
      const trig = (i: number) => triggerDeadzone(Math.max(0, Math.min(1, p.buttons[i]?.value ?? 0)), this.deadzones.trigger);
      const down = new Set<string>();
      STANDARD_BUTTONS.forEach((name, i) => {
        if (name && p.buttons[i]?.pressed) down.add(name);
      });
      const before = this.held.get(p.index) ?? new Set<string>();
      if (!this.held.has(p.index)) events.push({ type: 'gamepadadded', gamepad: p.index, name: p.id });
      for (const b of down) if (!before.has(b)) events.push({ type: 'gamepaddown', gamepad: p.index, button: b });
      for (const b of before) if (!down.has(b)) events.push({ type: 'gamepadup', gamepad: p.index, button: b });
      this.held.set(p.index, down);
      states.push({
        id: p.index,
        name: p.id,
        axes: { leftx: lx, lefty: ly, rightx: rx, righty: ry, lefttrigger: trig(6), righttrigger: trig(7) },
        buttons: [...down],
      });
    }
    for (const id of [...this.held.keys()]) {
      if (!seen.has(id)) {
        this.held.delete(id);
        events.push({ type: 'gamepadremoved', gamepad: id });
      }
    }
    return { states, events };
  }
}
