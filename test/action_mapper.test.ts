import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActionMapper, describeBindings } from '../src/input/action_mapper.js';
import { bindableChannels, loadBindingsFile, parseBindings } from '../src/input/bindings.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import type { ActionSpace } from '../src/source.js';
import type { GamepadState } from '../src/window.js';
import { FAKE_SPACE } from './fake_source.js';

const pad = (axes: Partial<GamepadState['axes']>, buttons: string[] = []): GamepadState => ({
  id: 0,
  name: 'pad',
  axes: { leftx: 0, lefty: 0, rightx: 0, righty: 0, lefttrigger: 0, righttrigger: 0, ...axes },
  buttons,
});

describe('ActionMapper', () => {
  it('maps held keys to axis channels and cancels opposing keys', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    m.handle({ type: 'keydown', key: 'W', repeat: false });
    m.handle({ type: 'keydown', key: 'Left', repeat: false });
    expect(Array.from(m.read())).toEqual([1, 0, -1, 0, 0]);
    m.handle({ type: 'keydown', key: 'S', repeat: false });
    expect(m.read()[0]).toBe(0);
    m.handle({ type: 'keyup', key: 'W', repeat: false });
    expect(m.read()[0]).toBe(-1);
    // Up + W together still clamp to the channel range.
    m.handle({ type: 'keyup', key: 'S', repeat: false });
    m.handle({ type: 'keydown', key: 'W', repeat: false });
    m.handle({ type: 'keydown', key: 'Up', repeat: false });
    expect(m.read()[0]).toBe(1);
  });

  it('fires event channels once per press, even if released before the read', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    m.handle({ type: 'keydown', key: 'L', repeat: false });
    m.handle({ type: 'keyup', key: 'L', repeat: false });
    expect(m.read()[3]).toBe(1);
    expect(m.read()[3]).toBe(0);
    m.handle({ type: 'keydown', key: 'Space', repeat: false });
    m.handle({ type: 'keydown', key: 'Space', repeat: true }); // auto-repeat is not a new press
    expect(m.read()[4]).toBe(1);
    expect(m.read()[4]).toBe(0);
  });

  it('maps gamepad sticks and buttons (stick up = forward)', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    m.setGamepads([pad({ lefty: -0.5, leftx: 0.25, rightx: -1 })]);
    expect(Array.from(m.read())).toEqual([0.5, 0.25, -1, 0, 0]);
    m.handle({ type: 'gamepaddown', gamepad: 0, button: 'a' });
    expect(m.read()[4]).toBe(1);
    m.handle({ type: 'gamepadremoved', gamepad: 0 });
    expect(Array.from(m.read())).toEqual([0, 0, 0, 0, 0]);
  });

  it('returns runtime commands and turns with the mouse only while captured', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    expect(m.handle({ type: 'keydown', key: 'F12', repeat: false })).toEqual(['screenshot']);
    expect(m.handle({ type: 'keydown', key: 'R', repeat: false })).toEqual(['reset']);
    expect(m.handle({ type: 'gamepaddown', gamepad: 1, button: 'start' })).toEqual(['pause']);
    m.handle({ type: 'mousemotion', dx: 5, dy: 0 });
    expect(m.read()[2]).toBe(0);
    m.setMouseCaptured(true);
    m.handle({ type: 'mousemotion', dx: 5, dy: 3 });
    expect(m.read()[2]).toBeCloseTo(0.5);
    expect(m.read()[2]).toBe(0); // motion is consumed by the read
  });

  it('follows the action space: other channels, ranges and unbound names', () => {
    const space: ActionSpace = {
      channels: [
        { name: 'turn', min: -0.5, max: 0.5, kind: 'axis' },
        { name: 'jump', min: 0, max: 1, kind: 'event' },
      ],
    };
    // A channel of this source may be bound; one that no source here has is refused.
    const b = parseBindings({ actions: { jump: { keys: { Space: 1 } } } }, defaultBindings(), 'b.json', bindableChannels(['jump']));
    expect(() => parseBindings({ actions: { jump: { keys: { Space: 1 } } } }, defaultBindings(), 'b.json')).toThrow(/b\.json: actions\.jump: unknown action channel "jump"/);
    const m = new ActionMapper(space, b);
    m.handle({ type: 'keydown', key: 'Right', repeat: false });
    m.handle({ type: 'keydown', key: 'Space', repeat: false });
    expect(Array.from(m.read())).toEqual([0.5, 1]);
    const d = describeBindings(space, b);
    expect(d.rows.find((r) => r.channel === 'jump')!.status).toBe('bound');
    expect(d.rows.find((r) => r.channel === 'move')!.status).toBe('unused');
  });

  it('forgets held keys when the window loses focus', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    m.handle({ type: 'keydown', key: 'W', repeat: false });
    m.handle({ type: 'blur' });
    expect(m.read()[0]).toBe(0);
  });

  it('reports input changes once (for latency)', () => {
    const m = new ActionMapper(FAKE_SPACE, defaultBindings());
    expect(m.takeDirty()).toBe(false);
    m.handle({ type: 'keydown', key: 'W', repeat: false });
    expect(m.takeDirty()).toBe(true);
    expect(m.takeDirty()).toBe(false);
    m.handle({ type: 'keydown', key: 'F1', repeat: false }); // a command, not an action input
    expect(m.takeDirty()).toBe(false);
  });
});

describe('bindings file', () => {
  it('merges a partial file over the defaults', () => {
    const b = parseBindings({ version: 1, actions: { move: { keys: { I: 1, K: -1 } } }, commands: { hud: ['F2'] } }, defaultBindings());
    expect(b.actions.move!.keys).toEqual({ I: 1, K: -1 });
    expect(b.actions.turn).toEqual(defaultBindings().actions.turn);
    expect(b.commands.hud).toEqual(['F2']);
    expect(b.commands.reset).toEqual(['R']);
  });

  it('rejects malformed files with the path of the problem', () => {
    const base = defaultBindings();
    expect(() => parseBindings([], base)).toThrow(/top level/);
    expect(() => parseBindings({ version: 2 }, base)).toThrow(/version must be 1/);
    expect(() => parseBindings({ actions: { move: { keys: { W: 'fast' } } } }, base)).toThrow(/actions\.move\.keys\.W must be a number in \[-1000, 1000\]; got "fast"/);
    expect(() => parseBindings({ actions: { move: { keys: { W: -1e308 } } } }, base)).toThrow(/actions\.move\.keys\.W must be a number in \[-1000, 1000\]/);
    expect(() => parseBindings({ actions: { move: { keys: { Wx: 1 } } } }, base)).toThrow(/actions\.move\.keys\.Wx: unknown key name "Wx"/);
    expect(() => parseBindings(JSON.parse('{"actions": {"__proto__": {"keys": {"W": 1}}}}'), base)).toThrow(/actions\.__proto__: unknown action channel/);
    expect(() => parseBindings({ actions: { move: { gamepadAxes: { leftz: 1 } } } }, base)).toThrow(/leftz: unknown gamepad axis name/);
    expect(() => parseBindings({ commands: { teleport: ['T'] } }, base)).toThrow(/teleport: unknown command/);
    expect(() => parseBindings({ deadzones: { stick: 1.5 } }, base)).toThrow(/deadzones\.stick/);
    expect(() => parseBindings({ extra: 1 }, base)).toThrow(/unknown field 'extra'/);
  });

  it('loads from disk and reports unreadable / non-JSON files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-bind-'));
    const good = join(dir, 'b.json');
    writeFileSync(good, JSON.stringify({ actions: { spawn: { keys: { F: 1 } } } }));
    expect(loadBindingsFile(good, defaultBindings()).actions.spawn!.keys).toEqual({ F: 1 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadBindingsFile(bad, defaultBindings())).toThrow(/bad\.json: bindings file is not valid JSON/);
    expect(() => loadBindingsFile(join(dir, 'missing.json'), defaultBindings())).toThrow(/cannot read bindings file/);
  });
});
