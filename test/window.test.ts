// Real SDL window tests: run inside an X server (npm test wraps vitest in xvfb-run).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasDisplay, Window, windowTesting, type WindowEvent } from '../src/window.js';
import { WindowInput } from '../src/input/window_input.js';
import { ActionMapper } from '../src/input/action_mapper.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { FAKE_SPACE } from './fake_source.js';

let win: Window | undefined;

beforeAll(() => {
  if (!hasDisplay()) {
    throw new Error('window tests need an X display: run them with `npm test` (xvfb-run) or xvfb-run -a npx vitest');
  }
});

afterEach(() => {
  win?.close();
  win = undefined;
});

function gradient(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      rgb[o] = (x * 255) / (w - 1);
      rgb[o + 1] = (y * 255) / (h - 1);
      rgb[o + 2] = 200;
    }
  }
  return rgb;
}

/** Pumps SDL a few times: hot-plug and window events arrive over more than one poll. */
function drain(w: Window, polls = 5): WindowEvent[] {
  const out: WindowEvent[] = [];
  for (let i = 0; i < polls; i++) out.push(...w.pollEvents());
  return out;
}

describe('SDL window', () => {
  it('opens, presents a frame letterboxed, and the screenshot shows it', () => {
    win = Window.open({ title: 'worldloop test', width: 512, height: 512, vsync: false });
    const info = win.info();
    expect(info.windowWidth).toBe(512);
    expect(info.videoDriver).toBe(process.env.WAYLAND_DISPLAY ? 'wayland' : 'x11');
    expect(info.renderer.length).toBeGreaterThan(0);
    win.present(gradient(128, 128), 128, 128);
    const vp = win.info().viewport;
    expect(vp).toEqual({ x: 0, y: 0, width: 512, height: 512 }); // 4× nearest, no bars
    const shot = win.screenshot();
    expect(shot.width).toBe(512);
    expect(shot.height).toBe(512);
    const px = (x: number, y: number) => Array.from(shot.rgb.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3));
    // Not blank, and nearest scaling put source pixel (127, 127) at the bottom-right 4×4 block.
    expect(new Set(shot.rgb).size).toBeGreaterThan(100);
    expect(px(0, 0)).toEqual([0, 0, 200]);
    expect(px(511, 511)).toEqual([255, 255, 200]);
    expect(px(4 * 64 + 1, 2)).toEqual([Math.floor((64 * 255) / 127), 0, 200]);
  });

  it('letterboxes a frame into a window of another aspect (black bars)', () => {
    win = Window.open({ width: 640, height: 400, vsync: false });
    win.present(gradient(128, 128), 128, 128);
    const vp = win.info().viewport;
    expect(vp.height).toBe(384); // 3× integer scale fits 400 px
    expect(vp.x).toBe((640 - 384) / 2);
    const shot = win.screenshot();
    const at = (x: number, y: number) => Array.from(shot.rgb.subarray((y * shot.width + x) * 3, (y * shot.width + x) * 3 + 3));
    expect(at(5, 200)).toEqual([0, 0, 0]); // left bar
    expect(at(320, 200)).not.toEqual([0, 0, 0]);
    win.setLinear(true);
    win.present(gradient(128, 128), 128, 128);
    expect(win.info().viewport.height).toBe(400); // linear fills the height
  });

  it('blends the HUD overlay over the frame', () => {
    win = Window.open({ width: 256, height: 256, vsync: false });
    const overlay = new Uint8Array(256 * 256 * 4);
    for (let i = 0; i < 16 * 256; i++) overlay.set([255, 0, 0, 255], i * 4); // top 16 rows opaque red
    win.setOverlay(overlay, 256, 256);
    win.present(new Uint8Array(64 * 64 * 3).fill(40), 64, 64);
    const shot = win.screenshot();
    expect(Array.from(shot.rgb.subarray(0, 3))).toEqual([255, 0, 0]);
    const mid = (128 * 256 + 128) * 3;
    expect(Array.from(shot.rgb.subarray(mid, mid + 3))).toEqual([40, 40, 40]);
    win.setOverlay(null);
    win.present(new Uint8Array(64 * 64 * 3).fill(40), 64, 64);
    expect(Array.from(win.screenshot().rgb.subarray(0, 3))).toEqual([40, 40, 40]);
  });

  it('rejects bad frames with clear errors instead of crashing', () => {
    win = Window.open({ width: 128, height: 128, vsync: false });
    expect(() => win!.present(new Uint8Array(10), 128, 128)).toThrow(/needs 49152/);
    expect(() => win!.present(new Uint8Array(12), 0, 4)).toThrow();
    expect(() => win!.resize(0, 10)).toThrow(/outside/);
    expect(() => Window.open({ renderer: 'vulkan' as 'auto' })).toThrow(/renderer must be/);
    win.close();
    expect(() => win!.present(new Uint8Array(12), 2, 2)).toThrow(/closed/);
  });

  it('synthetic key events travel through SDL into the action mapper', () => {
    win = Window.open({ width: 128, height: 128, vsync: false });
    const input = new WindowInput(win, new ActionMapper(FAKE_SPACE, defaultBindings()));
    windowTesting.pushKey('W', true);
    windowTesting.pushKey('Left', true);
    windowTesting.pushKey('F1', true);
    const polled = input.poll();
    expect(polled.changed).toBe(true);
    expect(polled.commands).toEqual(['hud']);
    expect(Array.from(input.next().action)).toEqual([1, 0, -1, 0, 0]);
    windowTesting.pushKey('W', false);
    input.poll();
    expect(input.next().action[0]).toBe(0);
    windowTesting.pushQuit();
    expect(input.poll().commands).toContain('quit');
    expect(() => windowTesting.pushKey('NoSuchKey', true)).toThrow(/unknown key name/);
  });

  it('a virtual gamepad drives the SDL_GameController path with hot-plug and deadzones', () => {
    win = Window.open({ width: 128, height: 128, vsync: false });
    const input = new WindowInput(win, new ActionMapper(FAKE_SPACE, defaultBindings()));
    const id = windowTesting.attachVirtualGamepad();
    try {
      const added = drain(win).find((e) => e.type === 'gamepadadded');
      expect(added).toMatchObject({ type: 'gamepadadded', gamepad: id });
      expect(win.gamepads().map((p) => p.id)).toContain(id);

      windowTesting.setVirtualAxis(id, 'lefty', -1); // stick fully up = forward
      windowTesting.setVirtualAxis(id, 'rightx', 0.1); // inside the 0.15 deadzone
      windowTesting.setVirtualAxis(id, 'righttrigger', 1);
      input.poll();
      let a = input.next().action;
      expect(a[0]).toBeCloseTo(1, 3);
      expect(a[2]).toBe(0);
      const pad = win.gamepads().find((p) => p.id === id)!;
      expect(pad.axes.righttrigger).toBeCloseTo(1, 3);
      expect(pad.axes.rightx).toBe(0);

      windowTesting.setVirtualAxis(id, 'rightx', -0.6);
      windowTesting.setVirtualButton(id, 'y', true);
      input.poll();
      a = input.next().action;
      expect(a[2]).toBeCloseTo(-(0.6 - 0.15) / 0.85, 2); // rescaled outside the deadzone
      expect(a[3]).toBe(1); // Y → light event
      windowTesting.setVirtualButton(id, 'start', true);
      expect(input.poll().commands).toContain('pause');
    } finally {
      windowTesting.detachVirtualGamepad(id);
    }
    const removed = drain(win).find((e) => e.type === 'gamepadremoved');
    expect(removed).toMatchObject({ gamepad: id });
    expect(win.gamepads()).toEqual([]);
  });

  it('toggles vsync, fullscreen and title without failing', () => {
    win = Window.open({ width: 200, height: 150, vsync: true });
    expect(typeof win.setVsync(false)).toBe('boolean');
    win.setFullscreen(true);
    win.setFullscreen(false);
    win.setTitle('renamed');
    win.resize(300, 200);
    drain(win);
    win.present(gradient(16, 16), 16, 16);
    expect(win.info().windowWidth).toBe(300);
  });
});
