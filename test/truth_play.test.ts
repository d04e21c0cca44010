// The playable runtime end to end in a real X server: window + synthetic SDL input + game loop
// over the ground-truth world, plus the CLI's no-display and help behaviour.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasDisplay, Window, windowTesting } from '../src/window.js';
import { TruthWorld, worldLayout } from '../src/world.js';
import { decodeRecording, encodeRecording } from '../src/record/format.js';
import { ActionMapper } from '../src/input/action_mapper.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { WindowInput } from '../src/input/window_input.js';
import { GameLoop, type LoopInput } from '../src/loop/game_loop.js';
import { WindowOutput } from '../src/loop/window_output.js';
import { FrameProfiler } from '../src/profiler/frame_profiler.js';
import { decodePng } from '../src/image/png.js';
import { runSession } from '../src/loop/session.js';
import { runCli as cli } from './helpers/cli.js';

let win: Window | undefined;
let world: TruthWorld | undefined;

afterEach(() => {
  win?.close();
  world?.close();
  win = world = undefined;
});

function needDisplay(): void {
  if (!hasDisplay()) throw new Error('needs an X display: run under xvfb-run (npm test does)');
}

/** Runs the real-time loop for `frames` steps with whatever synthetic input is queued. */
async function play(input: LoopInput, out: WindowOutput | undefined, frames: number, onCommand?: (c: string) => void) {
  const loop = new GameLoop({ source: world!, input, output: out, fps: 120, maxFrames: frames, seed: 4, ...(onCommand ? { onCommand } : {}) });
  await loop.run();
  return loop;
}

describe('truth world in a window', () => {
  it('synthetic W moves the player forward and Left turns; frames change accordingly', async () => {
    needDisplay();
    win = Window.open({ width: 256, height: 256, vsync: false });
    world = new TruthWorld({ seed: 3 });
    const windowInput = new WindowInput(win, new ActionMapper(world.actionSpace, defaultBindings()));
    // Keys go into SDL's queue at chosen ticks; WindowInput reads them back through pollEvents.
    const script: Record<number, [string, boolean][]> = {
      0: [['W', true]],
      10: [['W', false], ['Left', true]],
      16: [['Left', false]],
    };
    let tick = 0;
    const input: LoopInput = {
      poll: () => {
        for (const [k, down] of script[tick++] ?? []) windowTesting.pushKey(k, down);
        return windowInput.poll();
      },
      next: () => windowInput.next(),
    };
    const poses: { x: number; y: number; yaw: number }[] = [];
    const shots: Uint8Array[] = [];
    const out = new WindowOutput(win, new FrameProfiler(), () => ({ label: 'test', paused: false }));
    const loop = new GameLoop({
      source: world,
      input,
      output: { present: (f, fresh) => { out.present(f, fresh); if (fresh) shots[f.index] = win!.screenshot().rgb; } },
      fps: 120,
      maxFrames: 24,
      seed: 3,
      observers: [{ sessionStarted: () => void poses.push(world!.pose()), stepFinished: () => void poses.push(world!.pose()) }],
    });
    await loop.run();
    expect(poses.length).toBe(25);
    // Each step consumes the input polled in its own tick (step i+1 ← tick i). Screenshots are
    // keyed by frame index.
    const p = (i: number) => poses[i]!;
    const dist = (a: number, b: number) => Math.hypot(p(a).x - p(b).x, p(a).y - p(b).y);
    expect(dist(0, 10)).toBeGreaterThan(0.6); // 10 frames × ~0.12 cells forward
    expect(p(10).yaw).toBeCloseTo(p(0).yaw, 6); // walking does not turn
    // The direction of travel is the facing direction (forward, not strafe/back).
    const heading = Math.atan2(p(10).y - p(0).y, p(10).x - p(0).x);
    expect(Math.abs(Math.cos(heading - p(0).yaw) - 1)).toBeLessThan(0.05);
    expect(dist(10, 16)).toBeLessThan(1e-6); // turning in place
    expect(Math.abs(p(16).yaw - p(10).yaw)).toBeGreaterThan(0.4); // 6 frames × ~5°
    expect(dist(17, 24)).toBe(0); // keys released: standing still
    expect(p(24).yaw).toBe(p(17).yaw);
    // What the window shows follows: moving frames differ, standing-still frames are identical.
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
    expect(same(shots[2]!, shots[8]!)).toBe(false);
    expect(same(shots[12]!, shots[15]!)).toBe(false);
    expect(same(shots[19]!, shots[24]!)).toBe(true);
    expect(new Set(shots[24]!).size).toBeGreaterThan(20); // not blank
  });

  it('F1 shows the HUD on screen, F12 takes a screenshot, R resets, Esc quits', async () => {
    needDisplay();
    const shots = mkdtempSync(join(tmpdir(), 'wl-shots-'));
    win = Window.open({ width: 512, height: 512, vsync: false });
    world = new TruthWorld({ seed: 4 });
    const profiler = new FrameProfiler();
    const input = new WindowInput(win, new ActionMapper(world.actionSpace, defaultBindings()));
    const out = new WindowOutput(win, profiler, () => ({ label: 'truth', paused: false }), () => performance.now(), 0);
    windowTesting.pushKey('W', true);
    await play(input, out, 5);
    out.present(world.current(), false);
    const plain = win.screenshot().rgb;
    windowTesting.pushKey('F1', true);
    const cmds: string[] = [];
    await play(input, out, 3, (c) => {
      cmds.push(c);
      if (c === 'hud') out.toggleHud();
    });
    expect(cmds).toContain('hud');
    out.present(world.current(), false);
    const withHud = win.screenshot().rgb;
    // The HUD box (top-left) differs from the plain frame; the bottom of the screen does not
    // (same frame content there only if the world did not move: compare the HUD rows instead).
    let changedTop = 0;
    for (let i = 0; i < 512 * 20 * 3; i++) if (withHud[i] !== plain[i]) changedTop++;
    expect(changedTop).toBeGreaterThan(200);

    // Whole session path: F12 writes a PNG, R resets the pose, Escape ends the session.
    windowTesting.pushKey('W', false);
    win.close();
    win = undefined;
    const session = runSession({
      source: world,
      sourceId: 'truth:4',
      backend: 'truth',
      seed: 4,
      fps: 60,
      headless: false,
      frames: 0,
      hud: true,
      shotsDir: shots,
      window: { width: 256, height: 256, linear: false, vsync: false, fullscreen: false, renderer: 'auto' },
      log: () => {},
    });
    // The session opens its own window; queue keys after it is up.
    await new Promise((r) => setTimeout(r, 300));
    windowTesting.pushKey('D', true);
    await new Promise((r) => setTimeout(r, 300));
    windowTesting.pushKey('F12', true);
    windowTesting.pushKey('R', true);
    await new Promise((r) => setTimeout(r, 200));
    windowTesting.pushKey('Escape', true);
    const res = await session;
    expect(res.loop.reason).toBe('quit');
    expect(res.window?.videoDriver).toBe('x11');
    const pngs = readdirSync(shots).filter((f) => f.endsWith('.png'));
    expect(pngs.length).toBe(1);
    const img = decodePng(readFileSync(join(shots, pngs[0]!)));
    expect(img.width).toBe(world.width);
    expect(new Set(img.rgb).size).toBeGreaterThan(10); // a real frame, not blank
    expect(world.current().index).toBeLessThan(res.loop.steps); // R restarted the frame count
  });
});

describe('CLI', () => {
  it('play and truth without a display say so and point to --headless', async () => {
    for (const cmd of ['play', 'truth']) {
      const r = await cli([cmd], { DISPLAY: undefined, WAYLAND_DISPLAY: undefined, SDL_VIDEODRIVER: undefined });
      expect(r.code).toBe(1);
      expect(r.text).toMatch(/no display/);
      expect(r.text).toMatch(/--headless/);
    }
  });

  it('play without a model file says where it looked', async () => {
    const r = await cli(['play', '--headless', '--model', '/nonexistent/m.safetensors']);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/no model at '\/nonexistent\/m\.safetensors'/);
    expect(r.text).toMatch(/worldloop truth/);
  });

  it('every command has --help', async () => {
    // The list `worldloop --help` prints, so a new command cannot slip through.
    const list = await cli(['--help']);
    const cmds = [...list.text.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
    expect(cmds).toEqual(expect.arrayContaining(['play', 'truth', 'replay', 'bench', 'info', 'keys', 'eval', 'save', 'load']));
    for (const cmd of cmds) {
      const r = await cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.text).toMatch(new RegExp(`usage: worldloop ${cmd}`));
    }
  });

  it('info names a model\'s spatial-memory slots and the object kinds it can place', async () => {
    const fix = join(__dirname, '..', 'native', 'tests', 'fixtures');
    let r = await cli(['info', join(fix, 'tiny_memory_model.safetensors')]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/views\s+\d+ spatial-memory slots \(pose features \d+\)/);
    r = await cli(['info', join(fix, 'tiny_model.safetensors')]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/views\s+no spatial-memory slots/);
    expect(r.text).toMatch(/objects\s+none to place/);
    r = await cli(['info', join(__dirname, '..', 'models', 'default.safetensors')]);
    expect(r.text).toMatch(/objects\s+pillar, barrel, plant, lamp, crate, orb \(the truth world's: the manifest lists none\)/);
  });

  it('keys lists the truth action channels and runtime keys', async () => {
    const r = await cli(['keys']);
    expect(r.code).toBe(0);
    for (const ch of ['move', 'strafe', 'turn', 'light', 'spawn']) expect(r.text).toMatch(new RegExp(`\\n  ${ch} `));
    expect(r.text).toMatch(/placeLamp\s+key 4/);
    expect(r.text).toMatch(/placeNext\s+pad b/);
    expect(r.text).toMatch(/screenshot\s+key F12/);
  });

  it('truth --headless records, replay reproduces it bit-exactly and exports PNGs; an edited file is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-cli-'));
    const rec = join(dir, 'r.wlrec');
    const trace = join(dir, 't.json');
    let r = await cli(['truth', '--headless', '--frames', '40', '--seed', '9', '--record', rec, '--trace', trace]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(trace, 'utf8')).traceEvents.length).toBeGreaterThan(40);
    r = await cli(['replay', rec, '--export', join(dir, 'png')]);
    expect(r.text).toMatch(/40 frames bit-exact/);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'png')).length).toBe(41);
    // Same file, header edited to claim another seed: the CRC catches the edit first.
    const bytes = readFileSync(rec);
    const text = bytes.toString('latin1').replace('"truth:9"', '"truth:8"');
    writeFileSync(join(dir, 'edited.wlrec'), Buffer.from(text, 'latin1'));
    r = await cli(['replay', join(dir, 'edited.wlrec')]);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/checksum mismatch/);
    // The file names the world version that rendered it; a build whose world renders otherwise
    // refuses it by name (re-encoded, so the checksum is valid).
    const decoded = decodeRecording(bytes);
    expect(decoded.header.worldVersion).toBe(worldLayout().worldVersion);
    writeFileSync(join(dir, 'future.wlrec'), encodeRecording({ ...decoded, header: { ...decoded.header, worldVersion: 999 } }));
    r = await cli(['replay', join(dir, 'future.wlrec')]);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/recorded with ground-truth world version 999, but this build's world is version \d+/);
  });
});
