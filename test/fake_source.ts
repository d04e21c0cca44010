// A deterministic FrameSource for loop tests: its frame encodes the pose and the step count, and
// each step "takes" stepMs on a FakeClock (resolved when the loop sleeps past it).
import type { ActionSpace, Frame, FrameSource, StageTimes } from '../src/source.js';
import type { FakeClock } from '../src/loop/clock.js';

export const FAKE_SPACE: ActionSpace = {
  channels: [
    { name: 'move', min: -1, max: 1, kind: 'axis' },
    { name: 'strafe', min: -1, max: 1, kind: 'axis' },
    { name: 'turn', min: -1, max: 1, kind: 'axis' },
    { name: 'light', min: 0, max: 1, kind: 'event' },
    { name: 'spawn', min: 0, max: 1, kind: 'event' },
  ],
};

export class FakeSource implements FrameSource {
  readonly kind = 'truth' as const;
  readonly actionSpace = FAKE_SPACE;
  readonly width = 8;
  readonly height = 8;
  readonly label = 'fake';
  readonly actions: Float32Array[] = [];
  resets = 0;
  stepsStarted = 0;
  private x = 0;
  private y = 0;
  private yaw = 0;
  private light = 0;
  private index = 0;
  private readonly rgb = new Uint8Array(8 * 8 * 3);

  constructor(
    private readonly clock?: FakeClock,
    public stepMs = 0,
  ) {}

  private frame(): Frame {
    this.rgb.fill(0);
    const v = [this.x, this.y, this.yaw, this.light, this.index];
    v.forEach((n, i) => {
      const b = Math.round(n * 100) & 0xffff;
      this.rgb[i * 2] = b & 0xff;
      this.rgb[i * 2 + 1] = b >> 8;
    });
    return { width: 8, height: 8, rgb: this.rgb, index: this.index };
  }

  async reset(_seed?: number): Promise<Frame> {
    this.resets++;
    this.x = this.y = this.yaw = this.light = this.index = 0;
    return this.frame();
  }

  async step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    this.stepsStarted++;
    this.actions.push(action.slice());
    if (this.clock && this.stepMs > 0) await this.clock.delay(this.stepMs);
    this.yaw += action[2]! * 0.1;
    this.x += action[0]! * Math.cos(this.yaw) - action[1]! * Math.sin(this.yaw);
    this.y += action[0]! * Math.sin(this.yaw) + action[1]! * Math.cos(this.yaw);
    if (action[3]! > 0.5) this.light = (this.light + 1) % 4;
    this.index++;
    return { frame: this.frame(), stages: { denoise0: this.stepMs / 2, decode: this.stepMs / 2 } };
  }

  pose() {
    return { x: this.x, y: this.y, yaw: this.yaw };
  }

  close(): void {}
}
