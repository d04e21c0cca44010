/**
 * The FrameSource the loop drives for a persistent world. It passes steps through to the world,
 * and adds what saving and loading during play need:
 *
 * - `idle()`: resolves when no step is running and the observers that keep the frame, pose and
 *   memory (listed before `settleObserver`) have seen its result, so a save never captures a
 *   model context half-way through an update, or a world ahead of its bookkeeping (in real-time
 *   play the loop polls keys while a step runs).
 * - `resumeWith(restore)`: the next reset() restores a save instead of starting the world over.
 *   The loop begins every session with reset(), and the in-game load key requests one; either
 *   way the loaded frame comes back through the loop's normal reset path (observers see a reset
 *   first, then the restore puts memory and pose back). Resets after that start from the seed.
 */
import type { ActionSpace, Frame, FrameSource, StageTimes } from '../source.js';
import type { ObjectKind } from '../world.js';
import type { StepObserver } from '../loop/game_loop.js';
import type { LightSetting, LightState } from '../lighting.js';
import { WorldloopError } from '../errors.js';
import { tickHzOf } from '../tick_rate.js';

export class PersistentSource implements FrameSource {
  readonly inner: FrameSource;
  private resume: (() => Frame) | undefined;
  private resetting: Promise<unknown> = Promise.resolve();
  private settled: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;
  private loaded = false;
  /** setLight or placeObject opened the unsettled period that the step after it closes. */
  private editPending = false;

  /** Add after the observers whose bookkeeping a save needs: it marks a step as fully done. */
  readonly settleObserver: StepObserver = { stepFinished: () => this.settle() };

  constructor(inner: FrameSource) {
    this.inner = inner;
  }

  get kind(): 'truth' | 'model' {
    return this.inner.kind;
  }
  get tickHz(): number {
    return tickHzOf(this.inner);
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
    return this.loaded ? `${this.inner.label} (loaded)` : this.inner.label;
  }

  /** The next reset() calls `restore` (which puts the saved state back) and shows its frame. */
  resumeWith(restore: () => Frame): void {
    this.resume = restore;
  }

  /** Resolves once the step (with its observers) or reset in progress, if any, is done. */
  async idle(): Promise<void> {
    await this.resetting.catch(() => undefined);
    await this.settled;
  }

  private settle(): void {
    this.release?.();
    this.release = undefined;
  }

  reset(seed?: number): Promise<Frame> {
    const r = this.resume;
    this.resume = undefined;
    const p = this.resetting
      .catch(() => undefined)
      .then(() => {
        if (!r) return this.inner.reset(seed);
        this.loaded = true;
        return r();
      });
    this.resetting = p;
    return p;
  }

  private unsettle(): void {
    this.settle();
    this.settled = new Promise<void>((r) => (this.release = r));
  }

  step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    // The loop sets the light or places an object just before the step it belongs to: one
    // unsettled period for both, so a save waits until the step after an edit has finished too.
    if (!this.editPending) this.unsettle();
    this.editPending = false;
    const p = this.inner.step(action);
    // A failed step has no observers to settle it; nothing must wait on it forever.
    p.catch(() => this.settle());
    return p;
  }

  pose(): { x: number; y: number; yaw: number } | undefined {
    return this.inner.pose();
  }

  setEvalBudget(evals: number): void {
    if (!this.inner.setEvalBudget) throw new WorldloopError('WL_UNSUPPORTED', `this ${this.inner.kind} world has no frame budget (no denoiser evaluations to spend)`);
    this.inner.setEvalBudget(evals);
  }

  lastStepEvals(): number {
    return this.inner.lastStepEvals?.() ?? 1;
  }

  get fullEvals(): number | undefined {
    return this.inner.fullEvals;
  }

  light(): LightState {
    if (!this.inner.light) throw new WorldloopError('WL_UNSUPPORTED', `this ${this.inner.kind} world does not track its light`);
    return this.inner.light();
  }

  setLight(setting: LightSetting): Promise<Frame> {
    if (!this.inner.setLight) return Promise.reject(new WorldloopError('WL_UNSUPPORTED', `this ${this.inner.kind} world cannot set its light`));
    return this.edit(() => this.inner.setLight!(setting));
  }

  objectKinds(): readonly ObjectKind[] {
    return this.inner.objectKinds?.() ?? [];
  }

  placeObject(kind: ObjectKind): Promise<{ frame: Frame; placed: boolean }> {
    if (!this.inner.placeObject) return Promise.reject(new WorldloopError('WL_UNSUPPORTED', `this ${this.inner.kind} world cannot place objects`));
    return this.edit(() => this.inner.placeObject!(kind));
  }

  /** Runs an edit of the world; it stays unsettled until the step after it finishes (or the edit
   * fails). An edit after another edit keeps the period the first one opened. */
  private edit<T>(run: () => Promise<T>): Promise<T> {
    if (!this.editPending) this.unsettle();
    this.editPending = true;
    const p = run();
    p.catch(() => {
      this.editPending = false;
      this.settle();
    });
    return p;
  }

  close(): void {
    this.inner.close();
  }
}
