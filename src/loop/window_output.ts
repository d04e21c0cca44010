/**
 * LoopOutput for a window: presents each frame letterboxed, with the HUD overlay when it is on.
 * The HUD text is redrawn a few times per second, not every frame, so it costs almost nothing.
 */
import type { Frame } from '../source.js';
import type { Window } from '../window.js';
import type { FrameProfiler } from '../profiler/frame_profiler.js';
import { HudOverlay, hudLines, type HudState } from '../hud/hud.js';
import type { LoopOutput } from './game_loop.js';
import type { Canvas } from '../hud/text.js';

export class WindowOutput implements LoopOutput {
  hudVisible = false;
  /** Draws a panel into the HUD under the text (e.g. the memory map); shown while the HUD is. */
  hudPanel: ((c: Canvas) => void) | undefined;
  private overlay: HudOverlay | undefined;
  private lastHudAt = -Infinity;
  private hudShown = false;

  constructor(
    readonly window: Window,
    private readonly profiler: FrameProfiler,
    private readonly hudState: () => HudState,
    private readonly now: () => number = () => performance.now(),
    private readonly hudPeriodMs = 250,
  ) {}

  toggleHud(): void {
    this.hudVisible = !this.hudVisible;
    this.lastHudAt = -Infinity;
  }

  present(frame: Frame, _fresh: boolean): void {
    if (this.hudVisible) {
      const t = this.now();
      if (t - this.lastHudAt >= this.hudPeriodMs) {
        const { width, height } = HudOverlay.sizeFor(frame.width, frame.height);
        if (!this.overlay || this.overlay.canvas.width !== width || this.overlay.canvas.height !== height) {
          this.overlay = new HudOverlay(width, height);
        }
        const box = this.overlay.draw(hudLines(this.profiler, this.hudState()), this.hudPanel);
        this.window.setOverlay(box.rgba, box.width, box.height);
        this.lastHudAt = t;
        this.hudShown = true;
      }
    } else if (this.hudShown) {
      this.window.setOverlay(null);
      this.hudShown = false;
    }
    this.window.present(frame.rgb, frame.width, frame.height);
  }
}
