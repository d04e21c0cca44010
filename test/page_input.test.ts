// The browser page's input (src/web/page/key_codes.ts, gamepad_state.ts) against the engine's:
// DOM key codes become the SDL scancode names the bindings use, every default binding is reachable
// from a browser key, and a scripted sequence of browser key and gamepad events gives, through the
// engine's ActionMapper, the same action vectors as the SDL events play's window delivers for the
// same presses. Gamepad deadzones are native/platform/gamepads.cc's.
import { describe, expect, it } from 'vitest';
import type { GamepadState, WindowEvent } from '../src/addon_types.js';
import { ActionMapper } from '../src/input/action_mapper.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { KEY_NAMES } from '../src/input/key_names.js';
import type { ActionSpace } from '../src/source.js';
import { GamepadTracker, stickDeadzone, triggerDeadzone, type PadSnapshot } from '../src/web/page/gamepad_state.js';
import { sdlKeyName } from '../src/web/page/key_codes.js';
import { FAKE_SPACE } from './fake_source.js';

// The five-channel space the loop tests use (move, strafe, turn, light, spawn).
const SPACE: ActionSpace = FAKE_SPACE;

/** Browser codes of the keys on a US keyboard the page may see. */
const CODES = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((c) => `Key${c}`),
  ...'0123456789'.split('').map((d) => `Digit${d}`),
  ...'0123456789'.split('').map((d) => `Numpad${d}`),
  ...Array.from({ length: 24 }, (_, i) => `F${i + 1}`),
  'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Space', 'Enter', 'Escape', 'Backspace', 'Tab', 'ShiftLeft', 'ShiftRight', 'ControlLeft',
  'AltLeft', 'MetaLeft', 'BracketLeft', 'BracketRight', 'Backslash', 'Semicolon', 'Quote', 'Backquote', 'Comma', 'Period', 'Slash', 'Minus',
  'Equal', 'Home', 'End', 'PageUp', 'PageDown', 'Delete', 'Insert', 'NumpadEnter', 'NumpadAdd',
];

function pad(index: number, axes: number[], pressed: number[], triggers: [number, number] = [0, 0]): PadSnapshot {
  const buttons = Array.from({ length: 17 }, (_, i) => ({ pressed: pressed.includes(i), value: i === 6 ? triggers[0] : i === 7 ? triggers[1] : pressed.includes(i) ? 1 : 0 }));
  return { index, id: 'Test pad (STANDARD GAMEPAD)', mapping: 'standard', axes, buttons };
}

describe('page input', () => {
  it('maps browser key codes to SDL scancode names, and reaches every default binding', () => {
    for (const code of CODES) {
      const name = sdlKeyName(code);
      expect(name, code).toBeDefined();
      expect(KEY_NAMES.has(name!), `${code} -> ${name}`).toBe(true);
    }
    expect([sdlKeyName('KeyW'), sdlKeyName('ArrowUp'), sdlKeyName('BracketRight'), sdlKeyName('Digit1'), sdlKeyName('F1')]).toEqual(['W', 'Up', ']', '1', 'F1']);
    expect(sdlKeyName('MediaPlayPause')).toBeUndefined();
    expect(sdlKeyName('F25')).toBeUndefined();
    const reachable = new Set(CODES.map(sdlKeyName));
    const b = defaultBindings();
    const keys = [...Object.values(b.actions).flatMap((c) => Object.keys(c.keys ?? {})), ...Object.values(b.commands).flat()];
    for (const k of keys) expect(reachable.has(k), `default binding key ${k}`).toBe(true);
  });

  it('deadzones are the engine\'s: radial on sticks and rescaled, triggers rescaled', () => {
    expect(stickDeadzone(0.1, 0.1, 0.15)).toEqual([0, 0]);
    const [x, y] = stickDeadzone(0.6, 0.8, 0.15); // magnitude 1
    expect(x).toBeCloseTo(0.6, 6);
    expect(y).toBeCloseTo(0.8, 6);
    const [hx] = stickDeadzone(0.5, 0, 0.15);
    expect(hx).toBeCloseTo((0.5 - 0.15) / 0.85, 6);
    expect(triggerDeadzone(0.04, 0.05)).toBe(0);
    expect(triggerDeadzone(0.5, 0.05)).toBeCloseTo(0.45 / 0.95, 6);
    expect(triggerDeadzone(1, 0.05)).toBe(1);
  });

  it('a scripted session gives the engine mapper\'s action vectors', () => {
    const b = defaultBindings();
    // The page: browser events through sdlKeyName and the GamepadTracker into an ActionMapper.
    const page = new ActionMapper(SPACE, b);
    const tracker = new GamepadTracker(b.deadzones);
    // The engine: the SDL events and gamepad states play's window would deliver for the same input.
    const engine = new ActionMapper(SPACE, b);
    const key = (code: string, type: 'keydown' | 'keyup') => {
      page.handle({ type, key: sdlKeyName(code)!, repeat: false });
    };
    const sdlKey = (key: string, type: 'keydown' | 'keyup') => engine.handle({ type, key, repeat: false });
    const pads = (snaps: PadSnapshot[]) => {
      const u = tracker.update(snaps);
      const cmds = u.events.flatMap((e) => page.handle(e));
      page.setGamepads(u.states);
      return cmds;
    };
    const sdlPads = (events: WindowEvent[], states: GamepadState[]) => {
      const cmds = events.flatMap((e) => engine.handle(e));
      engine.setGamepads(states);
      return cmds;
    };
    const axes = (lx: number, ly: number, rx: number, ry: number, lt = 0, rt = 0) => ({ leftx: lx, lefty: ly, rightx: rx, righty: ry, lefttrigger: lt, righttrigger: rt });
    const steps: { page: () => void; engine: () => void }[] = [
      { page: () => key('KeyW', 'keydown'), engine: () => sdlKey('W', 'keydown') },
      { page: () => key('KeyD', 'keydown'), engine: () => sdlKey('D', 'keydown') },
      { page: () => (key('KeyW', 'keyup'), key('ArrowLeft', 'keydown')), engine: () => (sdlKey('W', 'keyup'), sdlKey('Left', 'keydown')) },
      { page: () => key('KeyL', 'keydown'), engine: () => sdlKey('L', 'keydown') },
      { page: () => (key('KeyL', 'keyup'), key('Space', 'keydown')), engine: () => (sdlKey('L', 'keyup'), sdlKey('Space', 'keydown')) },
      {
        page: () => pads([pad(0, [0.1, -0.9, 0.5, 0], [3])]),
        engine: () => {
          const [lx, ly] = stickDeadzone(0.1, -0.9, 0.15);
          const [rx, ry] = stickDeadzone(0.5, 0, 0.15);
          sdlPads([{ type: 'gamepadadded', gamepad: 0, name: 'x' }, { type: 'gamepaddown', gamepad: 0, button: 'y' }], [{ id: 0, name: 'x', axes: axes(lx, ly, rx, ry), buttons: ['y'] }]);
        },
      },
      {
        page: () => pads([pad(0, [0, 0, 0.05, 0], [0])]),
        engine: () => sdlPads([{ type: 'gamepaddown', gamepad: 0, button: 'a' }, { type: 'gamepadup', gamepad: 0, button: 'y' }], [{ id: 0, name: 'x', axes: axes(0, 0, 0, 0), buttons: ['a'] }]),
      },
      { page: () => pads([]), engine: () => sdlPads([{ type: 'gamepadremoved', gamepad: 0 }], []) },
      { page: () => (key('ArrowLeft', 'keyup'), key('KeyD', 'keyup'), key('Space', 'keyup')), engine: () => (sdlKey('Left', 'keyup'), sdlKey('D', 'keyup'), sdlKey('Space', 'keyup')) },
    ];
    const seen: number[][] = [];
    for (const s of steps) {
      s.page();
      s.engine();
      const want = Array.from(engine.read());
      expect(Array.from(page.read())).toEqual(want);
      seen.push(want);
    }
    // The script exercised movement, turning, both events and the sticks.
    expect(seen[0]).toEqual([1, 0, 0, 0, 0]);
    expect(seen[3]![3]).toBe(1);
    expect(seen[5]![0]).toBeGreaterThan(0.5);
    expect(seen[5]![3]).toBe(1);
    expect(seen.at(-1)).toEqual([0, 0, 0, 0, 0]);
  });

  it('gamepad buttons trigger the same runtime commands as play (start pauses, back resets)', () => {
    const b = defaultBindings();
    const page = new ActionMapper(SPACE, b);
    const tracker = new GamepadTracker(b.deadzones);
    const u = tracker.update([pad(1, [0, 0, 0, 0], [9, 8, 12])]);
    const cmds = u.events.flatMap((e) => page.handle(e));
    expect(cmds.sort()).toEqual(['lightUp', 'pause', 'reset']);
    expect(tracker.update([{ ...pad(2, [0, 0, 0, 0], [0]), mapping: '' }]).states).toEqual([]);
  });
});
