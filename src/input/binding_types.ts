/**
 * The shape of a bindings file and the runtime's command names, without the file reader
 * (bindings.ts), so code that runs in the browser page (src/web/page/) can use ActionMapper and
 * the default bindings unchanged.
 */
import type { GamepadAxis } from '../addon_types.js';
import { OBJECT_KINDS, type ObjectKind } from '../object_kind.js';

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

/** Key command → the kind it places (the inverse of PLACE_COMMAND). */
export const KIND_OF_PLACE_COMMAND: ReadonlyMap<CommandName, ObjectKind> = new Map(OBJECT_KINDS.map((k) => [PLACE_COMMAND[k], k]));

export interface Bindings {
  version: 1;
  actions: Record<string, ChannelBinding>;
  /** Keys (SDL scancode names) per runtime command. */
  commands: Partial<Record<CommandName, string[]>>;
  /** Gamepad buttons per runtime command. */
  gamepadCommands: Partial<Record<CommandName, string[]>>;
  deadzones: { stick: number; trigger: number };
}
