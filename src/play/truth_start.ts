/**
 * How a world starts from a seed, as the ground-truth world defines it: where it places the
 * player, the seed's wall grid, and its first K frames standing still — a model world opened from
 * that seed starts from those frames, at that pose.
 */
import { TruthWorld, World } from '../world.js';
import type { ViewPose } from '../memory/view_overlap.js';

export interface WallGrid {
  size: number;
  cells: Uint8Array;
}

/** Where the truth world places the player for a seed, and the seed's wall grid. */
export function truthStart(seed: number): { pose: ViewPose; walls: WallGrid } {
  const w = new World(seed);
  try {
    return { pose: w.pose(), walls: w.map() };
  } finally {
    w.close();
  }
}

/** The first K frames of the ground-truth world for `seed`, standing still: where a model world
 * starts. */
export async function truthOpening(seed: number, k: number, width: number, height: number): Promise<Uint8Array[]> {
  const w = new TruthWorld({ seed, config: { width, height } });
  try {
    const frames: Uint8Array[] = [];
    const still = new Float32Array(w.actionSpace.channels.length);
    frames.push((await w.reset(seed)).rgb.slice());
    while (frames.length < k) frames.push((await w.step(still)).frame.rgb.slice());
    return frames;
  } finally {
    w.close();
  }
}
