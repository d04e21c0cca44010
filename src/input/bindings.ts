/**
 * The bindings file: which keys, mouse motion and gamepad inputs drive which action channel
 * (by channel name, so one file serves any world or model whose action space uses those names),
 * plus the runtime's own commands (pause, reset, screenshot, HUD, ...). A user file is merged
 * over the defaults, so it only needs what it changes. The file is untrusted: every field is
 * checked and errors name the path inside the file.
 */
import { readFileSync } from 'node:fs';
import { FormatError, WorldloopError } from '../errors.js';
import { GAMEPAD_AXES, GAMEPAD_BUTTONS, type GamepadAxis } from '../window.js';
import type { ObjectKind } from '../world.js';

/** Inputs that drive one action channel. Weights multiply the input (key/button = 1 when held). */
export interface ChannelBinding {
  /** SDL scancode name → weight, e.g. {"W": 1, "S": -1}. */
  keys?: Record<string, number>;
  /** Gamepad axis → weight, e.g. {"lefty": -1} (stick up = forward). */
  gamepadAxes?: Partial<Record<GamepadAxis, number>>;
  /** Gamepad button → weight. */
  gamepadButtons?: Record<string, number>;
  /** Relative mouse motion (only while the mouse is captured): weight per pixel. */
  mouseX?: number;
  mouseY?: number;
}

export const COMMANDS = ['quit', 'pause', 'reset', 'screenshot', 'hud', 'captureMouse', 'fullscreen', 'quicksave', 'quickload', 'lightUp', 'lightDown', 'tintNext', 'placeNext', 'placePillar', 'placeBarrel', 'placePlant', 'placeLamp', 'placeCrate', 'placeOrb'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** The command that places each object kind (keys 1–6 by default; placeNext places the next). */
export const PLACE_COMMAND: Readonly<Record<ObjectKind, CommandName>> = {
  pillar: 'placePillar',
  barrel: 'placeBarrel',
  plant: 'placePlant',
  lamp: 'placeLamp',
  crate: 'placeCrate',
  orb: 'placeOrb',
};

export interface Bindings {
  version: 1;
  actions: Record<string, ChannelBinding>;
  /** Keys (SDL scancode names) per runtime command. */
  commands: Partial<Record<CommandName, string[]>>;
  /** Gamepad buttons per runtime command. */
  gamepadCommands: Partial<Record<CommandName, string[]>>;
  deadzones: { stick: number; trigger: number };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function weights(where: string, v: unknown, allowed?: readonly string[]): Record<string, number> {
  if (!isObj(v)) throw new FormatError(`${where} must be an object of name → number`);
  const out: Record<string, number> = {};
  for (const [k, w] of Object.entries(v)) {
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new FormatError(`${where}.${k} must be a finite number`);
    if (allowed && !allowed.includes(k)) throw new FormatError(`${where}.${k}: unknown name (expected one of ${allowed.join(', ')})`);
    if (k.length === 0 || k.length > 64) throw new FormatError(`${where}: input names must be 1..64 characters`);
    out[k] = w;
  }
  return out;
}

function names(where: string, v: unknown, allowed?: readonly string[]): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 64)) {
    throw new FormatError(`${where} must be an array of input names`);
  }
  if (allowed) for (const x of v) if (!allowed.includes(x)) throw new FormatError(`${where}: unknown name '${x}' (expected one of ${allowed.join(', ')})`);
  return v as string[];
}

function channelBinding(where: string, v: unknown): ChannelBinding {
  if (!isObj(v)) throw new FormatError(`${where} must be an object`);
  const out: ChannelBinding = {};
  for (const [k, x] of Object.entries(v)) {
    const at = `${where}.${k}`;
    switch (k) {
      case 'keys':
        out.keys = weights(at, x);
        break;
      case 'gamepadAxes':
        out.gamepadAxes = weights(at, x, GAMEPAD_AXES);
        break;
      case 'gamepadButtons':
        out.gamepadButtons = weights(at, x, GAMEPAD_BUTTONS);
        break;
      case 'mouseX':
      case 'mouseY':
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new FormatError(`${at} must be a finite number`);
        out[k] = x;
        break;
      default:
        throw new FormatError(`${at}: unknown field (expected keys, gamepadAxes, gamepadButtons, mouseX, mouseY)`);
    }
  }
  return out;
}

/** Validates a parsed bindings document and merges it over `base` (channel by channel). */
export function parseBindings(doc: unknown, base: Bindings, source = 'bindings'): Bindings {
  if (!isObj(doc)) throw new FormatError(`${source}: top level must be a JSON object`);
  const out: Bindings = {
    version: 1,
    actions: { ...base.actions },
    commands: { ...base.commands },
    gamepadCommands: { ...base.gamepadCommands },
    deadzones: { ...base.deadzones },
  };
  for (const [k, v] of Object.entries(doc)) {
    switch (k) {
      case 'version':
        if (v !== 1) throw new FormatError(`${source}: version must be 1, got ${JSON.stringify(v)}`);
        break;
      case 'actions':
        if (!isObj(v)) throw new FormatError(`${source}: actions must be an object of channel name → binding`);
        for (const [ch, b] of Object.entries(v)) out.actions[ch] = channelBinding(`${source}: actions.${ch}`, b);
        break;
      case 'commands':
      case 'gamepadCommands':
        if (!isObj(v)) throw new FormatError(`${source}: ${k} must be an object of command → list`);
        for (const [cmd, list] of Object.entries(v)) {
          if (!(COMMANDS as readonly string[]).includes(cmd)) {
            throw new FormatError(`${source}: ${k}.${cmd}: unknown command (expected one of ${COMMANDS.join(', ')})`);
          }
          out[k][cmd as CommandName] = names(`${source}: ${k}.${cmd}`, list, k === 'gamepadCommands' ? GAMEPAD_BUTTONS : undefined);
        }
        break;
      case 'deadzones': {
        if (!isObj(v)) throw new FormatError(`${source}: deadzones must be an object`);
        for (const [dk, dv] of Object.entries(v)) {
          if (dk !== 'stick' && dk !== 'trigger') throw new FormatError(`${source}: deadzones.${dk}: unknown field (stick, trigger)`);
          if (typeof dv !== 'number' || !(dv >= 0 && dv < 1)) throw new FormatError(`${source}: deadzones.${dk} must be a number in [0, 1)`);
          out.deadzones[dk] = dv;
        }
        break;
      }
      default:
        throw new FormatError(`${source}: unknown field '${k}' (expected version, actions, commands, gamepadCommands, deadzones)`);
    }
  }
  return out;
}

/** Reads and validates a bindings JSON file, merged over `base`. */
export function loadBindingsFile(path: string, base: Bindings): Bindings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WorldloopError('WL_IO', `cannot read bindings file '${path}': ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseBindings(doc, base, path);
}
