/**
 * Keeps a memory store and pose estimate in step with a running world: a StepObserver for the
 * game loop. Each step integrates the action into the pose estimate; every `storeEvery` frames
 * the newest latent is stored at that pose. A step that fires an event (an `event` channel of
 * the action space: light, spawn) marks a change in the store — older looks are stale — and its
 * frame, the first look at the changed world, is stored whatever the cadence. A reset (script
 * reset or the R key) restarts the pose at the start pose and empties the store, since the world
 * itself starts over.
 */
import { eventChannels, type ActionSpace, type Frame, type StageTimes, type WorldEdits } from '../source.js';
import type { StepObserver } from '../loop/game_loop.js';
import type { MemoryStore } from './memory_store.js';
import type { PoseTracker } from './pose_tracker.js';
import type { ViewPose } from './view_overlap.js';

/** One view is stored every this many frames unless told otherwise. */
export const DEFAULT_STORE_EVERY = 4;

export interface MemoryObserverOptions {
  memory: MemoryStore;
  tracker: PoseTracker;
  /** The latent of the frame just produced (e.g. the newest context latent of a ModelWorld). */
  latestLatent: () => Float32Array | undefined;
  /** Where the pose starts after a reset. */
  startPose: ViewPose;
  /** Store one view every this many frames (default 4). */
  storeEvery?: number;
  /** The world's action space: its `event` channels mark changes (default: none do). */
  actionSpace?: ActionSpace;
  /** Index of the world's newest frame (0 = the opening, stored as a view of its own). */
  frameIndex?: () => number;
}

export class MemoryObserver implements StepObserver {
  private readonly o: MemoryObserverOptions;
  private readonly every: number;
  private readonly events: number[];
  private changed = false;

  constructor(o: MemoryObserverOptions) {
    this.o = o;
    this.every = o.storeEvery ?? DEFAULT_STORE_EVERY;
    this.events = o.actionSpace ? eventChannels(o.actionSpace) : [];
  }

  private restart(): void {
    this.o.tracker.set(this.o.startPose);
    this.o.memory.clear();
  }

  stepStarted(action: Float32Array, reset: boolean, edits: WorldEdits = {}): void {
    if (reset) this.restart();
    // The opening (truth view or picture, encoded) is the best look the world will ever have of
    // the start pose: remember it as frame 0. Checked on the frame index rather than on resets,
    // because a load (F9) also comes through a reset and must not store its frame here.
    if (this.o.frameIndex?.() === 0) {
      const z = this.o.latestLatent();
      if (z) this.o.memory.add(z, this.o.tracker.pose(), 0);
    }
    this.o.tracker.update(action);
    // A light setting or a placed object changes the world like an event does.
    this.changed = edits.light !== undefined || edits.place !== undefined || this.events.some((i) => action[i] !== 0);
  }

  stepFinished(frame: Frame, _stages: StageTimes): void {
    const changed = this.changed;
    this.changed = false;
    if (changed) this.o.memory.markChange(frame.index);
    if (!changed && frame.index % this.every !== 0) return;
    const z = this.o.latestLatent();
    if (!z) return;
    this.o.memory.add(z, this.o.tracker.pose(), frame.index);
  }

  resetOutsideStep(): void {
    this.restart();
  }
}
