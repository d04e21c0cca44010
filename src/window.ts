/**
 * The SDL window (native/platform via the addon), typed. Rendering and event polling happen on
 * the JS main thread: the loop calls pollEvents() once per tick, so no callback ever arrives from
 * an SDL thread. `windowTesting` injects synthetic input through SDL's own queue for tests.
 */
import { addon } from './native.js';
import type {
  Addon, GamepadAxis, GamepadState, NativeWindow, NativeWindowTesting, PresentTimings, Screenshot, WindowEvent,
  WindowInfo, WindowOptions,
} from './addon_types.js';
import { fromNative, UnsupportedError } from './errors.js';

export const GAMEPAD_AXES: readonly GamepadAxis[] = [
  'leftx',
  'lefty',
  'rightx',
  'righty',
  'lefttrigger',
  'righttrigger',
];
/** SDL_GameController button names. */
export const GAMEPAD_BUTTONS: readonly string[] = [
  'a', 'b', 'x', 'y', 'back', 'guide', 'start', 'leftstick', 'rightstick', 'leftshoulder',
  'rightshoulder', 'dpup', 'dpdown', 'dpleft', 'dpright', 'misc1', 'paddle1', 'paddle2',
  'paddle3', 'paddle4', 'touchpad',
];

export type {
  GamepadAxis, GamepadState, PresentTimings, Screenshot, WindowEvent, WindowInfo, WindowOptions,
} from './addon_types.js';

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code === 'WL_NO_DISPLAY') {
      throw new UnsupportedError(`${e.message}; use --headless, or run under xvfb-run`, 'WL_NO_DISPLAY');
    }
    throw fromNative(err);
  }
}

/** True when a window could be opened here (an X11 or Wayland display is set). */
export function hasDisplay(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env.DISPLAY || env.WAYLAND_DISPLAY || env.SDL_VIDEODRIVER);
}

function nativeAddon(): { Window: NonNullable<Addon['Window']>; windowTesting: NativeWindowTesting } {
  const a = addon();
  if (!a.Window || !a.windowTesting) {
    throw new UnsupportedError('this build has no SDL2 window (libsdl2-dev was not found at build time)');
  }
  return { Window: a.Window, windowTesting: a.windowTesting };
}

export class Window {
  private native: NativeWindow | undefined;

  private constructor(native: NativeWindow) {
    this.native = native;
  }

  /** Opens a window. Throws WL_NO_DISPLAY (UnsupportedError) without a display. */
  static open(opts: WindowOptions = {}): Window {
    const a = nativeAddon();
    if (!hasDisplay()) {
      throw new UnsupportedError(
        'no display (DISPLAY/WAYLAND_DISPLAY unset): cannot open a window; use --headless, or run under xvfb-run',
        'WL_NO_DISPLAY',
      );
    }
    const native = call(() => new a.Window(opts));
    return new Window(native);
  }

  private get w(): NativeWindow {
    if (!this.native) throw new UnsupportedError('window is closed');
    return this.native;
  }

  get closed(): boolean {
    return this.native === undefined;
  }

  /** Shows an RGB8 frame (width*height*3 bytes), letterboxed and scaled to the window. */
  present(rgb: Uint8Array, width: number, height: number): void {
    call(() => this.w.present(rgb, width, height));
  }

  /** Where the last present() spent its time: upload, draw (scale + overlay), flip. */
  presentTimings(): PresentTimings {
    return call(() => this.w.presentTimings());
  }

  /** RGBA8 overlay over the top of the frame's rectangle, scaled to the frame's width (the
   * HUD box); null removes it. */
  setOverlay(rgba: Uint8Array | null, width = 0, height = 0): void {
    call(() => this.w.setOverlay(rgba, width, height));
  }

  pollEvents(): WindowEvent[] {
    return call(() => this.w.pollEvents());
  }

  gamepads(): GamepadState[] {
    return call(() => this.w.gamepads());
  }

  setDeadzones(stick: number, trigger: number): void {
    call(() => this.w.setDeadzones(stick, trigger));
  }

  /** Loads extra SDL controller mappings (gamecontrollerdb.txt format); returns how many. */
  addControllerMappings(path: string): number {
    return call(() => this.w.addControllerMappings(path));
  }

  screenshot(): Screenshot {
    return call(() => this.w.screenshot());
  }

  setFullscreen(on: boolean): void {
    call(() => this.w.setFullscreen(on));
  }

  /** Returns false when the renderer refused the change. */
  setVsync(on: boolean): boolean {
    return call(() => this.w.setVsync(on));
  }

  setLinear(on: boolean): void {
    call(() => this.w.setLinear(on));
  }

  resize(width: number, height: number): void {
    call(() => this.w.resize(width, height));
  }

  setTitle(title: string): void {
    call(() => this.w.setTitle(title));
  }

  /** Captures the mouse for turning; returns false when SDL could not. */
  setRelativeMouse(on: boolean): boolean {
    return call(() => this.w.setRelativeMouse(on));
  }

  info(): WindowInfo {
    return call(() => this.w.info());
  }

  close(): void {
    if (this.native) this.native.close();
    this.native = undefined;
  }
}

/** Synthetic input for tests: travels through SDL's event queue / SDL_GameController like real
 * devices. Needs an open window. */
export const windowTesting = {
  pushKey(key: string, down: boolean): void {
    call(() => nativeAddon().windowTesting.pushKey(key, down));
  },
  pushMouseMotion(dx: number, dy: number): void {
    call(() => nativeAddon().windowTesting.pushMouseMotion(dx, dy));
  },
  pushQuit(): void {
    call(() => nativeAddon().windowTesting.pushQuit());
  },
  attachVirtualGamepad(): number {
    return call(() => nativeAddon().windowTesting.attachVirtualGamepad());
  },
  setVirtualAxis(id: number, axis: GamepadAxis, value: number): void {
    call(() => nativeAddon().windowTesting.setVirtualAxis(id, axis, value));
  },
  setVirtualButton(id: number, button: string, down: boolean): void {
    call(() => nativeAddon().windowTesting.setVirtualButton(id, button, down));
  },
  detachVirtualGamepad(id: number): void {
    call(() => nativeAddon().windowTesting.detachVirtualGamepad(id));
  },
};
