/**
 * Flags shared by the commands that run a session (`play`, `truth`): loop rate, window, input,
 * headless driving, recording, tracing. Parsed into SessionOptions pieces.
 */
import type { FlagSpec, ParsedArgs } from './args.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { hasDisplay } from '../window.js';
import { MAX_TICK_HZ } from '../tick_rate.js';

export const SESSION_FLAGS: Record<string, FlagSpec> = {
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1 },
  fps: { kind: 'number', min: 1, max: MAX_TICK_HZ },
  'display-fps': { kind: 'number', min: 1, max: MAX_TICK_HZ },
  headless: { kind: 'boolean' },
  script: { kind: 'string' },
  frames: { kind: 'int', min: 0, max: 100_000_000 },
  record: { kind: 'string' },
  trace: { kind: 'string' },
  bindings: { kind: 'string' },
  'pad-mappings': { kind: 'string' },
  size: { kind: 'string' },
  filter: { kind: 'string', choices: ['nearest', 'linear'] },
  'no-vsync': { kind: 'boolean' },
  fullscreen: { kind: 'boolean' },
  renderer: { kind: 'string', choices: ['auto', 'software'] },
  hud: { kind: 'boolean' },
  shots: { kind: 'string' },
  realtime: { kind: 'boolean' },
  'no-frame-budget': { kind: 'boolean' },
};

export const SESSION_HELP = `
loop:
  --seed N            world seed (default 1)
  --fps N             simulation tick: world steps per second (default: the world's own, 30
                      for the truth world and the models trained on it). Another value runs
                      the world faster or slower than it was made for; recordings keep it
  --display-fps N     presentation rate: input polls and window presents per second (default:
                      the simulation tick; not below it). --display-fps 60 shows a 30 Hz world
                      at 60 Hz without speeding it up
  --frames N          stop after N frames (default: until quit / end of script)
window:
  --size WxH          window size (default 512x512)
  --filter F          nearest (default) or linear scaling
  --no-vsync          present without waiting for vsync
  --fullscreen        start in desktop fullscreen (F11 toggles)
  --renderer R        auto (default; GPU when present) or software
  --hud               start with the HUD on (F1 toggles)
  --bindings FILE     bindings JSON merged over the defaults (see: worldloop keys)
  --shots DIR         where F12 screenshots go (default: current directory)
  --pad-mappings FILE extra SDL controller mappings (gamecontrollerdb.txt format) on top of
                      SDL's built-in database
headless:
  --headless          no window: drive the world from --script, or random actions
  --script FILE       action script JSON (segments of {frames, action | channel values, events,
                      setLight: {level, tint}, place: KIND})
  --realtime          headless but paced in real time (default: as fast as possible)
  --no-frame-budget   model worlds in real time: always spend the full denoiser steps, even
                      when a frame then misses the tick (default: frames that would miss it
                      spend fewer: one sampler step, shorter anchoring bridges; recorded, so
                      replays match)
output:
  --record FILE       save seed, source hash, settings and the per-frame action log
  --trace FILE        write Chrome trace-event JSON (open in https://ui.perfetto.dev)
keys (defaults): W/S or Up/Down move, A/D strafe, Left/Right or Q/E turn, mouse turns while
  captured (click or M; Esc releases), L next light preset, ] / [ light level up / down,
  T next tint, Space spawn (the world's next kind), 1-6 place a pillar / barrel / plant / lamp /
  crate / orb, R reset, P pause, F1 HUD, F12 screenshot, F11 fullscreen, F5 quick save / F9
  quick load (play, load), Esc quit. Gamepad: left stick move/strafe, right stick turn, Y light
  preset, d-pad up/down light level, X tint, A spawn, B place the next kind, Start pause, Back
  reset.`;

export interface SessionFlags {
  seed: number;
  /** --fps: the simulation tick when given (else the world's own, src/tick_rate.ts). */
  fps?: number;
  /** --display-fps: the presentation rate when given (else the simulation tick). */
  displayFps?: number;
  frames: number;
  headless: boolean;
  script?: string;
  record?: string;
  trace?: string;
  bindings?: string;
  padMappings?: string;
  window: { width: number; height: number; linear: boolean; vsync: boolean; fullscreen: boolean; renderer: 'auto' | 'software' };
  hud: boolean;
  shotsDir: string;
  realtime: boolean;
  /** false: --no-frame-budget. */
  frameBudget: boolean;
}

export function parseSize(command: string, s: string): { width: number; height: number } {
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(s);
  if (!m) throw new InvalidArgumentError(`${command}: --size must look like 512x512; got '${s}'`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 16 || height < 16 || width > 16384 || height > 16384) {
    throw new InvalidArgumentError(`${command}: --size ${s} is outside 16..16384 per side`);
  }
  return { width, height };
}

export function sessionFlags(command: string, a: ParsedArgs): SessionFlags {
  const f = a.flags;
  const headless = f.headless === true;
  if (!headless && f.script !== undefined) {
    throw new InvalidArgumentError(`${command}: --script drives a headless run; add --headless`);
  }
  if (!headless && !hasDisplay()) {
    throw new UnsupportedError(
      `no display (DISPLAY/WAYLAND_DISPLAY unset), so no window can open. Run it headless: ` +
        `worldloop ${command} --headless --frames 300 [--script actions.json] [--record run.wlrec], ` +
        `or inside a virtual X server: xvfb-run -a worldloop ${command}`,
      'WL_NO_DISPLAY',
    );
  }
  const size = parseSize(command, (f.size as string | undefined) ?? '512x512');
  return {
    seed: (f.seed as number | undefined) ?? 1,
    ...(f.fps !== undefined ? { fps: f.fps as number } : {}),
    ...(f['display-fps'] !== undefined ? { displayFps: f['display-fps'] as number } : {}),
    frames: (f.frames as number | undefined) ?? (headless && f.script === undefined ? 300 : 0),
    headless,
    ...(f.script !== undefined ? { script: f.script as string } : {}),
    ...(f.record !== undefined ? { record: f.record as string } : {}),
    ...(f.trace !== undefined ? { trace: f.trace as string } : {}),
    ...(f.bindings !== undefined ? { bindings: f.bindings as string } : {}),
    ...(f['pad-mappings'] !== undefined ? { padMappings: f['pad-mappings'] as string } : {}),
    window: {
      ...size,
      linear: f.filter === 'linear',
      vsync: f['no-vsync'] !== true,
      fullscreen: f.fullscreen === true,
      renderer: (f.renderer as 'auto' | 'software' | undefined) ?? 'auto',
    },
    hud: f.hud === true,
    shotsDir: (f.shots as string | undefined) ?? '.',
    realtime: f.realtime === true,
    frameBudget: f['no-frame-budget'] !== true,
  };
}
