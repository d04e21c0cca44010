/**
 * How much two views of the world show the same things, from their poses alone: a number in
 * [0, 1] that is 1 for the same pose and falls off with the distance between the cameras and the
 * angle between their view directions. It is the ranking signal of memory retrieval; it does not
 * look at walls (the runtime has no map of a model world), so two views on either side of a wall
 * can score high — the recency and count limits keep that cheap.
 */
export interface ViewPose {
  x: number;
  y: number;
  /** Radians, the world's convention (turn adds to yaw; forward is (cos, sin)). */
  yaw: number;
}

export interface OverlapParams {
  /** Horizontal field of view in degrees (the world's default is 66). */
  fovDeg: number;
  /** Distance in cells at which two views share nothing (about the fog distance). */
  range: number;
}

export const DEFAULT_OVERLAP: OverlapParams = { fovDeg: 66, range: 7 };

/** Smallest signed difference a - b of two angles, in (-pi, pi]. */
export function angleDiff(a: number, b: number): number {
  let d = (a - b) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d <= -Math.PI) d += 2 * Math.PI;
  return d;
}

export function viewOverlap(a: ViewPose, b: ViewPose, p: OverlapParams = DEFAULT_OVERLAP): number {
  const fov = (p.fovDeg * Math.PI) / 180;
  // Two cones of width fov around the view directions share a fraction 1 - |dyaw|/fov of it.
  const angular = Math.max(0, 1 - Math.abs(angleDiff(a.yaw, b.yaw)) / fov);
  if (angular === 0) return 0;
  const d = Math.hypot(a.x - b.x, a.y - b.y);
  const spatial = Math.max(0, 1 - d / p.range);
  return angular * spatial;
}
