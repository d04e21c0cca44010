/**
 * Pose estimate for a world the runtime cannot ask (a model world): integrates the action
 * vector with the speeds the ground-truth world publishes, in the world's own order (turn, then
 * move forward/sideways along the new heading). It does not know walls, so it drifts whenever
 * the player pushes into one (the truth world stops, the estimate keeps going); the error is
 * measured on held-out seeds by bench/pose_tracking.ts and reported in docs/persistence.md.
 *
 * Also keeps the player's path (one point per `pathSpacing` cells moved, bounded) for the
 * designer's map panel.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ActionSpace } from '../source.js';
import type { ViewPose } from './view_overlap.js';

export interface MotionSpeeds {
  /** Cells per tick at move = 1. */
  moveSpeed: number;
  strafeSpeed: number;
  /** Degrees per tick at turn = 1. */
  turnSpeedDeg: number;
}

export interface PoseTrackerOptions {
  speeds: MotionSpeeds;
  start?: ViewPose;
  /** Path points are recorded every this many cells of travel (default 0.25). */
  pathSpacing?: number;
  /** At most this many path points are kept (oldest dropped; default 4096). */
  maxPath?: number;
}

function wrap(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}

export class PoseTracker {
  readonly speeds: MotionSpeeds;
  private readonly move: number;
  private readonly strafe: number;
  private readonly turn: number;
  private readonly channels: number;
  private readonly pathSpacing: number;
  private readonly maxPath: number;
  private x: number;
  private y: number;
  private yaw: number;
  private readonly pathPts: number[] = [];

  constructor(space: ActionSpace, o: PoseTrackerOptions) {
    const idx = (n: string) => space.channels.findIndex((c) => c.name === n);
    this.move = idx('move');
    this.strafe = idx('strafe');
    this.turn = idx('turn');
    if (this.move < 0 && this.strafe < 0 && this.turn < 0) {
      throw new InvalidArgumentError('pose tracker: the action space has none of move, strafe, turn');
    }
    this.channels = space.channels.length;
    this.speeds = { ...o.speeds };
    for (const [k, v] of Object.entries(this.speeds)) {
      if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`pose tracker: ${k} must be a non-negative number; got ${v}`);
    }
    this.pathSpacing = o.pathSpacing ?? 0.25;
    this.maxPath = o.maxPath ?? 4096;
    const s = o.start ?? { x: 0, y: 0, yaw: 0 };
    this.x = s.x;
    this.y = s.y;
    this.yaw = s.yaw;
    this.pathPts.push(s.x, s.y);
  }

  pose(): ViewPose {
    return { x: this.x, y: this.y, yaw: this.yaw };
  }

  /** Player path as [x0, y0, x1, y1, ...], oldest first (ends at the current position). */
  path(): Float64Array {
    const out = new Float64Array(this.pathPts.length + 2);
    out.set(this.pathPts);
    out[out.length - 2] = this.x;
    out[out.length - 1] = this.y;
    return out;
  }

  /** Resets to a pose (and optionally a saved path). */
  set(p: ViewPose, path?: Float64Array): void {
    if (![p.x, p.y, p.yaw].every(Number.isFinite)) throw new InvalidArgumentError('pose tracker: pose must be finite');
    this.x = p.x;
    this.y = p.y;
    this.yaw = wrap(p.yaw);
    this.pathPts.length = 0;
    if (path && path.length >= 4 && path.length % 2 === 0) {
      // The saved path ends with the position it was saved at; keep the recorded points only.
      for (let i = 0; i < path.length - 2; i++) this.pathPts.push(path[i]!);
    } else {
      this.pathPts.push(p.x, p.y);
    }
  }

  /** Advances by one action vector (the world's order: turn, then move along the new heading). */
  update(action: Float32Array): void {
    if (action.length !== this.channels) {
      throw new InvalidArgumentError(`pose tracker: action has ${action.length} channels, expected ${this.channels}`);
    }
    const at = (i: number) => (i >= 0 ? action[i]! : 0);
    this.yaw = wrap(this.yaw + (at(this.turn) * this.speeds.turnSpeedDeg * Math.PI) / 180);
    const fwd = at(this.move) * this.speeds.moveSpeed;
    const side = at(this.strafe) * this.speeds.strafeSpeed;
    const c = Math.cos(this.yaw);
    const s = Math.sin(this.yaw);
    this.x += c * fwd - s * side;
    this.y += s * fwd + c * side;
    const n = this.pathPts.length;
    if (Math.hypot(this.x - this.pathPts[n - 2]!, this.y - this.pathPts[n - 1]!) >= this.pathSpacing) {
      this.pathPts.push(this.x, this.y);
      if (this.pathPts.length > this.maxPath * 2) this.pathPts.splice(0, 2);
    }
  }
}
