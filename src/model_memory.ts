/**
 * The memory inputs of a memory-enabled world model (manifest denoiser.memory, see
 * docs/memory-model.md): M retrieved views per world, each a latent, a pose relative to the frame
 * being generated, and a present/absent flag. The pose features are defined once for training
 * and runtime; train/modules.py memory_pose_features computes the same numbers (checked against
 * the golden fixture by test/model_memory.test.ts).
 */
import { InvalidArgumentError } from './errors.js';

/** Flat arrays for B worlds of M slots (world-major, slot-minor). */
export interface MemoryInput {
  /** [B, M, C, h, w] scaled latents of the retrieved views. */
  latents: Float32Array;
  /** [B, M, P] relative pose features (memoryPoseFeatures). */
  poses: Float32Array;
  /** [B, M] 1 = present, 0 = absent (that slot's latent and pose are ignored). */
  mask: Float32Array;
}

/** A camera pose in the world's convention: forward is (cos yaw, sin yaw), yaw in radians. */
export interface PoseXYYaw {
  x: number;
  y: number;
  yaw: number;
}

/** Frames per unit of the age feature (train/modules.py AGE_SCALE). */
export const MEMORY_AGE_SCALE = 100;

/**
 * Writes the relative-pose features of `view` seen `ageFrames` ago, from `current`, into
 * out[offset .. offset + poseDim): [dx, dy, sin dyaw, cos dyaw, age / 100] truncated or
 * zero-padded to poseDim, where dx is along the current forward direction and dy along
 * (-sin yaw, cos yaw). Returns out.
 */
export function memoryPoseFeatures(
  current: PoseXYYaw,
  view: PoseXYYaw,
  ageFrames: number,
  poseDim: number,
  out: Float32Array = new Float32Array(poseDim),
  offset = 0,
): Float32Array {
  if (!Number.isInteger(poseDim) || poseDim < 1) {
    throw new InvalidArgumentError(`memory pose_dim must be a positive integer, got ${poseDim}`);
  }
  if (offset < 0 || offset + poseDim > out.length) {
    throw new InvalidArgumentError(`memory pose features: out has ${out.length} floats, need ${offset + poseDim}`);
  }
  const vals = [current.x, current.y, current.yaw, view.x, view.y, view.yaw, ageFrames];
  if (!vals.every(Number.isFinite)) {
    throw new InvalidArgumentError('memory pose features: poses and age must be finite numbers');
  }
  const ddx = view.x - current.x;
  const ddy = view.y - current.y;
  const c = Math.cos(current.yaw);
  const s = Math.sin(current.yaw);
  const dyaw = view.yaw - current.yaw;
  const feats = [ddx * c + ddy * s, -ddx * s + ddy * c, Math.sin(dyaw), Math.cos(dyaw), ageFrames / MEMORY_AGE_SCALE];
  for (let i = 0; i < poseDim; i++) out[offset + i] = i < feats.length ? feats[i]! : 0;
  return out;
}
