/**
 * Turns window events and gamepad state into the action vector a FrameSource declares. It reads
 * the action space (channel names, ranges, axis/event kinds) at construction, so a model with
 * other actions works with the same bindings file: channels nobody binds stay 0, bindings for
 * channels the source lacks are ignored (and listed by `worldloop keys`).
 *
 * Axis channels: sum of held keys/buttons × weight + gamepad axes × weight + mouse motion since
 * the last read × weight, clamped to the channel range. Event channels: 1 for exactly one read
 * after any bound input goes down (keys, buttons, or an axis crossing 0.5), else 0.
 */
import type { ActionSpace } from '../source.js';
import type { GamepadState, WindowEvent } from '../addon_types.js';
import type { Bindings, ChannelBinding, CommandName } from './binding_types.js';

interface CompiledChannel {
  index: number;
  name: string;
  kind: 'axis' | 'event';
  min: number;
  max: number;
  binding: ChannelBinding;
}

export class ActionMapper {
  readonly space: ActionSpace;
  readonly bindings: Bindings;
  private readonly channels: CompiledChannel[];
  private readonly held = new Set<string>();
  /** Buttons held per gamepad id, from events (so a press between two ticks is not lost). */
  private readonly padButtons = new Map<number, Set<string>>();
  private pads: GamepadState[] = [];
  private readonly eventLatch: boolean[];
  private mouseDx = 0;
  private mouseDy = 0;
  private mouseCaptured = false;
  private dirty = false;
  private readonly keyCommands = new Map<string, CommandName[]>();
  private readonly padCommands = new Map<string, CommandName[]>();

  constructor(space: ActionSpace, bindings: Bindings) {
    this.space = space;
    this.bindings = bindings;
    this.channels = space.channels.map((c, index) => ({
      index,
      name: c.name,
      kind: c.kind,
      min: c.min,
      max: c.max,
      binding: bindings.actions[c.name] ?? {},
    }));
    this.eventLatch = this.channels.map(() => false);
    for (const [cmd, keys] of Object.entries(bindings.commands)) {
      for (const k of keys ?? []) this.keyCommands.set(k, [...(this.keyCommands.get(k) ?? []), cmd as CommandName]);
    }
    for (const [cmd, btns] of Object.entries(bindings.gamepadCommands)) {
      for (const b of btns ?? []) this.padCommands.set(b, [...(this.padCommands.get(b) ?? []), cmd as CommandName]);
    }
  }

  get size(): number {
    return this.channels.length;
  }

  setMouseCaptured(on: boolean): void {
    this.mouseCaptured = on;
    if (!on) this.mouseDx = this.mouseDy = 0;
  }

  /** Applies one event; returns the runtime commands it triggers (key/button down only). */
  handle(ev: WindowEvent): CommandName[] {
    switch (ev.type) {
      case 'keydown': {
        if (ev.repeat) return [];
        if (!this.held.has(ev.key)) {
          this.held.add(ev.key);
          this.onPress((b) => b.keys?.[ev.key]);
        }
        return this.keyCommands.get(ev.key) ?? [];
      }
      case 'keyup':
        if (this.held.delete(ev.key)) this.markIfBound((b) => b.keys?.[ev.key]);
        return [];
      case 'gamepaddown': {
        let set = this.padButtons.get(ev.gamepad);
        if (!set) this.padButtons.set(ev.gamepad, (set = new Set()));
        set.add(ev.button);
        this.onPress((b) => b.gamepadButtons?.[ev.button]);
        return this.padCommands.get(ev.button) ?? [];
      }
      case 'gamepadup':
        this.padButtons.get(ev.gamepad)?.delete(ev.button);
        this.markIfBound((b) => b.gamepadButtons?.[ev.button]);
        return [];
      case 'gamepadremoved':
        this.padButtons.delete(ev.gamepad);
        this.pads = this.pads.filter((p) => p.id !== ev.gamepad);
        this.dirty = true;
        return [];
      case 'mousemotion':
        if (this.mouseCaptured && (ev.dx !== 0 || ev.dy !== 0)) {
          this.mouseDx += ev.dx;
          this.mouseDy += ev.dy;
          if (this.channels.some((c) => c.binding.mouseX || c.binding.mouseY)) this.dirty = true;
        }
        return [];
      case 'blur':
        // Keys released while unfocused never send keyup: forget them so nothing sticks.
        this.releaseAll();
        return [];
      default:
        return [];
    }
  }

  /** Latest gamepad snapshot (axes with deadzones applied). */
  setGamepads(pads: GamepadState[]): void {
    for (const c of this.channels) {
      const axes = c.binding.gamepadAxes;
      if (!axes) continue;
      for (const [axis, w] of Object.entries(axes)) {
        const before = this.axisSum(this.pads, axis as keyof GamepadState['axes']);
        const after = this.axisSum(pads, axis as keyof GamepadState['axes']);
        if (before !== after) this.dirty = true;
        if (c.kind === 'event' && w !== undefined && Math.abs(before * w) < 0.5 && Math.abs(after * w) >= 0.5) {
          this.eventLatch[c.index] = true;
        }
      }
    }
    this.pads = pads;
  }

  releaseAll(): void {
    if (this.held.size || this.padButtons.size) this.dirty = true;
    this.held.clear();
    this.padButtons.clear();
  }

  /** True once after any bound input changed (used to measure input-to-frame latency). */
  takeDirty(): boolean {
    const d = this.dirty;
    this.dirty = false;
    return d;
  }

  /** The action vector now. Consumes event triggers and accumulated mouse motion. */
  read(out: Float32Array = new Float32Array(this.channels.length)): Float32Array {
    for (const c of this.channels) {
      let v = 0;
      if (c.kind === 'event') {
        v = this.eventLatch[c.index] ? 1 : 0;
        this.eventLatch[c.index] = false;
      } else {
        const b = c.binding;
        if (b.keys) for (const [k, w] of Object.entries(b.keys)) if (this.held.has(k)) v += w;
        if (b.gamepadButtons) {
          for (const [btn, w] of Object.entries(b.gamepadButtons)) {
            for (const set of this.padButtons.values()) if (set.has(btn)) { v += w; break; }
          }
        }
        if (b.gamepadAxes) for (const [axis, w] of Object.entries(b.gamepadAxes)) v += this.axisSum(this.pads, axis as keyof GamepadState['axes']) * (w ?? 0);
        if (this.mouseCaptured) v += this.mouseDx * (b.mouseX ?? 0) + this.mouseDy * (b.mouseY ?? 0);
      }
      out[c.index] = Math.min(c.max, Math.max(c.min, v));
    }
    this.mouseDx = this.mouseDy = 0;
    return out;
  }

  private axisSum(pads: GamepadState[], axis: keyof GamepadState['axes']): number {
    let s = 0;
    for (const p of pads) s += p.axes[axis] ?? 0;
    return s;
  }

  private onPress(weightOf: (b: ChannelBinding) => number | undefined): void {
    for (const c of this.channels) {
      const w = weightOf(c.binding);
      if (w === undefined) continue;
      this.dirty = true;
      if (c.kind === 'event' && w !== 0) this.eventLatch[c.index] = true;
    }
  }

  private markIfBound(weightOf: (b: ChannelBinding) => number | undefined): void {
    for (const c of this.channels) {
      if (c.kind === 'axis' && weightOf(c.binding) !== undefined) this.dirty = true;
    }
  }
}

export interface BindingRow {
  channel: string;
  kind: string;
  inputs: string[];
  status: 'bound' | 'unbound' | 'unused';
}

/** Human-readable table of the active bindings against an action space (for `worldloop keys`). */
export function describeBindings(space: ActionSpace, b: Bindings): { rows: BindingRow[]; commands: [string, string[]][] } {
  const fmt = (w: number) => (w === 1 ? '' : w === -1 ? ' (-)' : ` (×${w})`);
  const inputsOf = (cb: ChannelBinding): string[] => [
    ...Object.entries(cb.keys ?? {}).map(([k, w]) => `key ${k}${fmt(w)}`),
    ...Object.entries(cb.gamepadAxes ?? {}).map(([k, w]) => `pad ${k}${fmt(w ?? 1)}`),
    ...Object.entries(cb.gamepadButtons ?? {}).map(([k, w]) => `pad ${k}${fmt(w)}`),
    ...(cb.mouseX ? [`mouse x${fmt(cb.mouseX)}`] : []),
    ...(cb.mouseY ? [`mouse y${fmt(cb.mouseY)}`] : []),
  ];
  const rows: BindingRow[] = space.channels.map((c) => {
    const cb = b.actions[c.name];
    const inputs = cb ? inputsOf(cb) : [];
    return { channel: c.name, kind: `${c.kind} [${c.min}, ${c.max}]`, inputs, status: inputs.length ? 'bound' : 'unbound' };
  });
  for (const [name, cb] of Object.entries(b.actions)) {
    if (!space.channels.some((c) => c.name === name)) rows.push({ channel: name, kind: '-', inputs: inputsOf(cb), status: 'unused' });
  }
  const cmds = new Map<string, string[]>();
  for (const [c, keys] of Object.entries(b.commands)) cmds.set(c, (keys ?? []).map((k) => `key ${k}`));
  for (const [c, btns] of Object.entries(b.gamepadCommands)) cmds.set(c, [...(cmds.get(c) ?? []), ...(btns ?? []).map((x) => `pad ${x}`)]);
  return { rows, commands: [...cmds.entries()] };
}
