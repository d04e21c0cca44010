/**
 * From the memory store to a memory-enabled model's input (docs/memory-model.md): the M stored
 * views that best overlap the pose of the frame about to be generated, with their relative-pose
 * features (src/model_memory.ts, shared with training) and a present mask; empty slots are
 * marked absent. The pose is the runtime's estimate after the step's action (PoseTracker).
 */
import { memoryPoseFeatures, type MemoryInput } from '../model_memory.js';
import { InvalidArgumentError } from '../errors.js';
import type { MemoryStore, Retrieved } from './memory_store.js';
import type { ViewPose } from './view_overlap.js';

export interface MemorySlots {
  /** M views the model takes (dims.memorySlots). */
  slots: number;
  /** P pose features per view (dims.memoryPoseDim). */
  poseDim: number;
}

/** Buffers for one world's memory input, allocated once and refilled each frame. */
export class MemoryInputBuilder {
  readonly input: MemoryInput;
  readonly slots: number;
  readonly poseDim: number;
  private readonly latentSize: number;
  /** What the last build() picked (for the designer view and tests). */
  last: Retrieved[] = [];

  constructor(latentSize: number, s: MemorySlots) {
    if (!Number.isInteger(s.slots) || s.slots < 1 || !Number.isInteger(s.poseDim) || s.poseDim < 1) {
      throw new InvalidArgumentError(`memory input: slots and poseDim must be positive integers; got ${s.slots}, ${s.poseDim}`);
    }
    this.slots = s.slots;
    this.poseDim = s.poseDim;
    this.latentSize = latentSize;
    this.input = {
      latents: new Float32Array(s.slots * latentSize),
      poses: new Float32Array(s.slots * s.poseDim),
      mask: new Float32Array(s.slots),
    };
  }

  /** Fills the input for the frame with index `target`, generated at `pose`. */
  build(store: MemoryStore, pose: ViewPose, target: number): MemoryInput {
    if (store.config.latentSize !== this.latentSize) {
      throw new InvalidArgumentError(`memory input: store latents have ${store.config.latentSize} values; the model's have ${this.latentSize}`);
    }
    this.last = store.retrieve(pose, target, this.slots);
    const { latents, poses, mask } = this.input;
    mask.fill(0);
    poses.fill(0);
    this.last.forEach((r, i) => {
      latents.set(r.entry.latent, i * this.latentSize);
      memoryPoseFeatures(pose, r.entry.pose, target - r.entry.time, this.poseDim, poses, i * this.poseDim);
      mask[i] = 1;
    });
    return this.input;
  }
}
