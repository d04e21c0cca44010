/**
 * The bindings file: which keys, mouse motion and gamepad inputs drive which action channel
 * (by channel name, so one file serves any world or model whose action space uses those names),
 * plus the runtime's own commands (pause, reset, screenshot, HUD, ...). A user file is merged
 * over the defaults, so it only needs what it changes. The file is untrusted: every field is
 * checked and errors name the path inside the file.
 */
import { FormatError } from '../errors.js';
import { readJsonFile } from '../input_file.js';
import { KEY_NAMES } from './key_names.js';
import { GAMEPAD_AXES, GAMEPAD_BUTTONS } from '../window.js';
import { worldLayout } from '../world.js';
import { COMMANDS, type Bindings, type ChannelBinding, type CommandName } from './binding_types.js';

// The types and command list are in binding_types.ts (no Node imports: the browser page maps its
// input with the same ActionMapper and default bindings).
export { COMMANDS, PLACE_COMMAND, type Bindings, type ChannelBinding, type CommandName } from './binding_types.js';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Largest weight a binding may give one input: a key is 0 or 1 and the sum is clamped to the
 * channel's range, so anything beyond this is a typo (mouse weights are per pixel and small). */
export const MAX_BINDING_WEIGHT = 1000;

/** Channel names a bindings file may bind: the ground-truth world's (src/world.ts) plus those of
 * the source it will drive, when known. Anything else (a typo, `__proto__`) is refused. */
export function bindableChannels(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...worldLayout().channels.map((c) => c.name), ...extra]);
}

function weight(where: string, w: unknown): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || Math.abs(w) > MAX_BINDING_WEIGHT) {
    throw new FormatError(`${where} must be a number in [-${MAX_BINDING_WEIGHT}, ${MAX_BINDING_WEIGHT}]; got ${JSON.stringify(w)}`);
  }
  return w;
}

function weights(where: string, v: unknown, allowed: ReadonlySet<string>, kind: string): Record<string, number> {
  if (!isObj(v)) throw new FormatError(`${where} must be an object of ${kind} name → weight`);
  // No prototype: a key named "__proto__" in the file stays a plain (refused) key.
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [k, w] of Object.entries(v)) {
    if (!allowed.has(k)) throw new FormatError(`${where}.${k}: unknown ${kind} name ${JSON.stringify(k)}${kind === 'key' ? ' (SDL scancode names: W, Up, Space, F1, Left Shift, ...)' : ` (expected one of ${[...allowed].join(', ')})`}`);
    out[k] = weight(`${where}.${k}`, w);
  }
  return out;
}

function names(where: string, v: unknown, allowed: ReadonlySet<string>, kind: string): string[] {
  if (!Array.isArray(v) || v.length > 64 || v.some((x) => typeof x !== 'string')) {
    throw new FormatError(`${where} must be an array of at most 64 ${kind} names`);
  }
  for (const x of v as string[]) {
    if (!allowed.has(x)) throw new FormatError(`${where}: unknown ${kind} name ${JSON.stringify(x)}${kind === 'key' ? ' (SDL scancode names: W, Up, Space, F1, Left Shift, ...)' : ` (expected one of ${[...allowed].join(', ')})`}`);
  }
  return v as string[];
}

const PAD_AXES: ReadonlySet<string> = new Set(GAMEPAD_AXES);
const PAD_BUTTONS: ReadonlySet<string> = new Set(GAMEPAD_BUTTONS);

function channelBinding(where: string, v: unknown): ChannelBinding {
  if (!isObj(v)) throw new FormatError(`${where} must be an object`);
  const out: ChannelBinding = {};
  for (const [k, x] of Object.entries(v)) {
    const at = `${where}.${k}`;
    switch (k) {
      case 'keys':
        out.keys = weights(at, x, KEY_NAMES, 'key');
        break;
      case 'gamepadAxes':
        out.gamepadAxes = weights(at, x, PAD_AXES, 'gamepad axis');
        break;
      case 'gamepadButtons':
        out.gamepadButtons = weights(at, x, PAD_BUTTONS, 'gamepad button');
        break;
      case 'mouseX':
      case 'mouseY':
        out[k] = weight(at, x);
        break;
      default:
        throw new FormatError(`${at}: unknown field (expected keys, gamepadAxes, gamepadButtons, mouseX, mouseY)`);
    }
  }
  return out;
}

/**
 * Validates a parsed bindings document and merges it over `base` (channel by channel). Every
 * field is checked: channel names against `channels` (default: the ground-truth world's), key
 * names against SDL's, gamepad names against SDL's, weights bounded; errors start with `source`.
 */
export function parseBindings(doc: unknown, base: Bindings, source = 'bindings', channels: ReadonlySet<string> = bindableChannels()): Bindings {
  if (!isObj(doc)) throw new FormatError(`${source}: top level must be a JSON object`);
  const out: Bindings = {
    version: 1,
    actions: Object.assign(Object.create(null) as Record<string, ChannelBinding>, base.actions),
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
        for (const [ch, b] of Object.entries(v)) {
          if (!channels.has(ch)) {
            throw new FormatError(`${source}: actions.${ch}: unknown action channel ${JSON.stringify(ch)} (expected one of ${[...channels].join(', ')})`);
          }
          out.actions[ch] = channelBinding(`${source}: actions.${ch}`, b);
        }
        break;
      case 'commands':
      case 'gamepadCommands':
        if (!isObj(v)) throw new FormatError(`${source}: ${k} must be an object of command → list`);
        for (const [cmd, list] of Object.entries(v)) {
          if (!(COMMANDS as readonly string[]).includes(cmd)) {
            throw new FormatError(`${source}: ${k}.${cmd}: unknown command (expected one of ${COMMANDS.join(', ')})`);
          }
          out[k][cmd as CommandName] = k === 'gamepadCommands'
            ? names(`${source}: ${k}.${cmd}`, list, PAD_BUTTONS, 'gamepad button')
            : names(`${source}: ${k}.${cmd}`, list, KEY_NAMES, 'key');
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

/** Reads and validates a bindings JSON file, merged over `base`; `channels` as parseBindings. */
export function loadBindingsFile(path: string, base: Bindings, channels?: ReadonlySet<string>): Bindings {
  return parseBindings(readJsonFile(path, 'bindings file'), base, path, channels);
}
