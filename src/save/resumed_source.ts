/**
 * A FrameSource that continues a loaded save: the game loop starts every session with reset(),
 * which would throw the loaded state away, so the first reset restores the save instead and
 * returns the frame that was on screen. Later resets (the R key, a script) start the world over
 * from its seed as usual.
 */
import type { ActionSpace, Frame, FrameSource, StageTimes } from '../source.js';

export class ResumedSource implements FrameSource {
  readonly inner: FrameSource;
  private resume: (() => Frame) | undefined;

  constructor(inner: FrameSource, resume: () => Frame) {
    this.inner = inner;
    this.resume = resume;
  }

  get kind(): 'truth' | 'model' {
    return this.inner.kind;
  }
  get actionSpace(): ActionSpace {
    return this.inner.actionSpace;
  }
  get width(): number {
    return this.inner.width;
  }
  get height(): number {
    return this.inner.height;
  }
  get label(): string {
    return `${this.inner.label} (loaded)`;
  }

  async reset(seed?: number): Promise<Frame> {
    const r = this.resume;
    if (r) {
      this.resume = undefined;
      return r();
    }
    return this.inner.reset(seed);
  }

  step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    return this.inner.step(action);
  }

  pose(): { x: number; y: number; yaw: number } | undefined {
    return this.inner.pose();
  }

  close(): void {
    this.inner.close();
  }
}
