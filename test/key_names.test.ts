// The key names a bindings file may use (src/input/key_names.ts) are SDL's own: each one goes
// through SDL's event queue as a key press and comes back from the window under the same name,
// and the default bindings use only names from the list.
import { afterEach, describe, expect, it } from 'vitest';
import { hasDisplay, Window, windowTesting } from '../src/window.js';
import { KEY_NAMES } from '../src/input/key_names.js';
import { defaultBindings } from '../src/input/default_bindings.js';

describe('key names', () => {
  let win: Window | undefined;
  afterEach(() => {
    win?.close();
    win = undefined;
  });

  it('the default bindings use only listed names', () => {
    const b = defaultBindings();
    const used = [...Object.values(b.actions).flatMap((c) => Object.keys(c.keys ?? {})), ...Object.values(b.commands).flat()];
    expect(used.filter((k) => !KEY_NAMES.has(k!))).toEqual([]);
  });

  it.skipIf(!hasDisplay())('every listed name is an SDL scancode name that the window reports back', () => {
    win = Window.open({ width: 64, height: 64, vsync: false, hidden: true });
    win.pollEvents();
    const back: string[] = [];
    let pushed = 0;
    for (const name of KEY_NAMES) {
      // A few names SDL reports cannot be looked up again by SDL_GetScancodeFromName (it stops
      // at the first of two scancodes sharing a name, or misses some): the test input skips them.
      try {
        windowTesting.pushKey(name, true);
        windowTesting.pushKey(name, false);
        pushed++;
      } catch {
        continue;
      }
      for (const e of win.pollEvents()) if (e.type === 'keydown') back.push(e.key);
    }
    expect(pushed).toBeGreaterThan(200);
    expect(back.filter((k) => !KEY_NAMES.has(k))).toEqual([]);
    expect(back.length).toBe(pushed);
  });
});
