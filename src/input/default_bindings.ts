/**
 * Default bindings. Movement: W/S or Up/Down move, A/D strafe, Left/Right or Q/E turn, mouse turns
 * while captured (click the window or press M; Escape releases). Gamepad: left stick
 * moves/strafes, right stick turns, Y cycles the light, A spawns an object. Light level: ] up,
 * [ down (gamepad d-pad up/down); T (gamepad X) steps the tint (src/lighting.ts). Keys 1-6 place
 * a pillar, barrel, plant, lamp, crate or orb in front of the player; gamepad B places the next
 * kind (src/object_placement.ts).
 */
import type { Bindings } from './binding_types.js';

export function defaultBindings(): Bindings {
  return {
    version: 1,
    actions: {
      move: { keys: { W: 1, Up: 1, S: -1, Down: -1 }, gamepadAxes: { lefty: -1 } },
      strafe: { keys: { D: 1, A: -1 }, gamepadAxes: { leftx: 1 } },
      turn: { keys: { Right: 1, E: 1, Left: -1, Q: -1 }, gamepadAxes: { rightx: 1 }, mouseX: 0.1 },
      light: { keys: { L: 1 }, gamepadButtons: { y: 1 } },
      spawn: { keys: { Space: 1 }, gamepadButtons: { a: 1 } },
    },
    commands: {
      quit: ['Escape'],
      pause: ['P'],
      reset: ['R'],
      screenshot: ['F12'],
      hud: ['F1'],
      captureMouse: ['M'],
      fullscreen: ['F11'],
      quicksave: ['F5'],
      quickload: ['F9'],
      lightUp: [']'],
      lightDown: ['['],
      tintNext: ['T'],
      placePillar: ['1'],
      placeBarrel: ['2'],
      placePlant: ['3'],
      placeLamp: ['4'],
      placeCrate: ['5'],
      placeOrb: ['6'],
    },
    gamepadCommands: { pause: ['start'], reset: ['back'], lightUp: ['dpup'], lightDown: ['dpdown'], tintNext: ['x'], placeNext: ['b'] },
    deadzones: { stick: 0.15, trigger: 0.05 },
  };
}
