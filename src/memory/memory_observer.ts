/**
 * Keeps a memory store and pose estimate in step with a running world: a StepObserver for the
 * game loop. Each step integrates the action into the pose estimate; every `storeEvery` frames
 * the newest latent is stored at that pose. A reset (script reset or the R key) restarts the
 * pose at the start pose and empties the store, since the world itself starts over.
 */
import type { Frame, StageTimes } from '../source.js';
import type { StepObserver } from '../loop/game_loop.js';
import type { MemoryStore } from './memory_store.js';
import type { PoseTracker } from './pose_tracker.js';
import type { ViewPose } from './view_overlap.js';

export interface MemoryObserverOptions {
  memory: MemoryStore;
  tracker: PoseTracker;
  /** The latent of the frame just produced (e.g. the newest context latent of a ModelWorld). */
  latestLatent: () => Float32Array | undefined;
  /** Where the pose starts after a reset. */
  startPose: ViewPose;
  /** Store one view every this many frames (default 4). */
  storeEvery?: number;
}

export class MemoryObserver implements StepObserver {
  private readonly o: MemoryObserverOptions;
  private readonly every: number;
  stored = 0;

  constructor(o: MemoryObserverOptions) {
    this.o = o;
    this.every = o.storeEvery ?? 4;
  }

  private restart(): void {
    this.o.tracker.set(this.o.startPose);
    this.o.memory.clear();
  }

  stepStarted(action: Float32Array, reset: boolean): void {
    if (reset) this.restart();
    this.o.tracker.update(action);
  }

  stepFinished(frame: Frame, _stages: StageTimes): void {
    if (frame.index % this.every !== 0) return;
    const z = this.o.latestLatent();
    if (!z) return;
    this.o.memory.add(z, this.o.tracker.pose(), frame.index);
    this.stored++;
  }

  resetOutsideStep(): void {
    this.restart();
  }
}
