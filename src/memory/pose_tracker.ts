/**
 * Pose estimate for a world the runtime cannot ask (a model world): integrates the action
 * vector with the speeds the ground-truth world publishes, in the world's own order (turn, then
 * move forward/sideways along the new heading). Without a map it drifts whenever the player
 * pushes into a wall (the truth world stops, the estimate keeps going). Given the wall grid of the
 * seed the world started from, it also slides along walls the way the truth world does (same
 * axis-separated collision, in float32). The error of both is measured on held-out seeds by
 * `worldloop eval pose-tracking` and reported in docs/persistence.md.
 *
 * Also keeps the player's path (one point per `pathSpacing` cells moved, bounded) for the
 * designer's map panel.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ActionSpace } from '../source.js';
import { angleDiff, type ViewPose } from './view_overlap.js';

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
  /** The seed's wall grid (cells[y*size+x] = 1 for walls): collide like the truth world. */
  walls?: { size: number; cells: Uint8Array };
  /** Player radius for collisions (the world's default is 0.2). */
  playerRadius?: number;
}

/**
 * Largest |x| or |y| a pose estimate may hold, in cells. Levels are tens of cells across and a
 * tracker without walls drifts by at most the move speed per tick; far beyond that a coordinate
 * is a corrupt value, and near 2^53 cell stepping (x + 1 === x) would never end.
 */
export const MAX_POSE_COORD = 1e6;

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
  private readonly walls: { size: number; cells: Uint8Array } | undefined;
  private readonly radius: number;

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
    if (o.walls && o.walls.cells.length !== o.walls.size * o.walls.size) {
      throw new InvalidArgumentError(`pose tracker: wall grid has ${o.walls.cells.length} cells, not ${o.walls.size}^2`);
    }
    this.walls = o.walls;
    this.radius = o.playerRadius ?? 0.2;
    const s = o.start ?? { x: 0, y: 0, yaw: 0 };
    if (![s.x, s.y, s.yaw].every(Number.isFinite) || Math.abs(s.x) > MAX_POSE_COORD || Math.abs(s.y) > MAX_POSE_COORD) {
      throw new InvalidArgumentError(`pose tracker: start pose must be finite with |x|, |y| <= ${MAX_POSE_COORD}; got ${JSON.stringify(s)}`);
    }
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
    if (![p.x, p.y, p.yaw].every(Number.isFinite) || Math.abs(p.x) > MAX_POSE_COORD || Math.abs(p.y) > MAX_POSE_COORD) {
      throw new InvalidArgumentError(`pose tracker: pose must be finite with |x|, |y| <= ${MAX_POSE_COORD}; got ${JSON.stringify(p)}`);
    }
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

  private wall(x: number, y: number): boolean {
    const w = this.walls!;
    return x < 0 || y < 0 || x >= w.size || y >= w.size || w.cells[y * w.size + x] !== 0;
  }

  /** Whether any cell from (lead, lo) to (lead, hi) along one axis is a wall (`swap` puts lead on
   * y). A range that leaves the map holds a wall (outside is solid) and is answered without
   * stepping through it, so a far-off pose cannot make this loop long or endless. */
  private wallInRange(lead: number, lo: number, hi: number, swap: boolean): boolean {
    const size = this.walls!.size;
    if (!(lo >= 0 && hi < size && lead >= 0 && lead < size)) return true;
    for (let c = lo; c <= hi; c++) if (swap ? this.wall(c, lead) : this.wall(lead, c)) return true;
    return false;
  }

  /** Advances by one action vector (the world's order: turn, then move along the new heading). */
  update(action: Float32Array): void {
    if (action.length !== this.channels) {
      throw new InvalidArgumentError(`pose tracker: action has ${action.length} channels, expected ${this.channels}`);
    }
    const at = (i: number) => (i >= 0 ? action[i]! : 0);
    if (this.walls) {
      this.collideStep(at(this.turn), at(this.move), at(this.strafe));
    } else {
      this.yaw = wrap(this.yaw + (at(this.turn) * this.speeds.turnSpeedDeg * Math.PI) / 180);
      const fwd = at(this.move) * this.speeds.moveSpeed;
      const side = at(this.strafe) * this.speeds.strafeSpeed;
      const c = Math.cos(this.yaw);
      const s = Math.sin(this.yaw);
      this.x += c * fwd - s * side;
      this.y += s * fwd + c * side;
    }
    const n = this.pathPts.length;
    if (Math.hypot(this.x - this.pathPts[n - 2]!, this.y - this.pathPts[n - 1]!) >= this.pathSpacing) {
      this.pathPts.push(this.x, this.y);
      if (this.pathPts.length > this.maxPath * 2) this.pathPts.splice(0, 2);
    }
  }

  /**
   * The inverse of update() without walls: the action (into `out`, zeros elsewhere) that takes the
   * player from `from` to `to` — turn by the yaw difference, then forward/sideways along the new
   * heading — and its largest axis as a share of full deflection. Undefined when a needed
   * component has no channel in the action space, or its speed is 0.
   */
  actionBetween(from: ViewPose, to: ViewPose, out: Float32Array): number | undefined {
    const c = Math.cos(to.yaw);
    const s = Math.sin(to.yaw);
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    const parts: [number, number, number][] = [
      [this.turn, (angleDiff(to.yaw, from.yaw) * 180) / Math.PI, this.speeds.turnSpeedDeg],
      [this.move, c * dx + s * dy, this.speeds.moveSpeed],
      [this.strafe, -s * dx + c * dy, this.speeds.strafeSpeed],
    ];
    out.fill(0);
    let size = 0;
    for (const [channel, amount, speed] of parts) {
      if (Math.abs(amount) < 1e-9) continue;
      if (channel < 0 || speed === 0) return undefined;
      out[channel] = amount / speed;
      size = Math.max(size, Math.abs(amount / speed));
    }
    return size;
  }

  /** The truth world's step, in float32: turn, then move each axis and stop at a wall. */
  private collideStep(turn: number, move: number, strafe: number): void {
    const f = Math.fround;
    const PI = f(Math.PI);
    let yaw = f(this.yaw + f(f(turn * f(this.speeds.turnSpeedDeg)) * f(PI / f(180))));
    // As the world's wrap_angle; a turn is at most one action's worth, so a few laps at most
    // (inputs are range-checked; the bound keeps a huge value from looping for ever).
    for (let lap = 0; yaw >= PI && lap < 64; lap++) yaw = f(yaw - f(2 * PI));
    for (let lap = 0; yaw < -PI && lap < 64; lap++) yaw = f(yaw + f(2 * PI));
    if (!(yaw >= -PI && yaw < PI)) yaw = f(wrap(yaw));
    this.yaw = yaw;
    const fwd = f(move * f(this.speeds.moveSpeed));
    const side = f(strafe * f(this.speeds.strafeSpeed));
    const c = f(Math.cos(yaw));
    const s = f(Math.sin(yaw));
    const dx = f(f(c * fwd) - f(s * side));
    const dy = f(f(s * fwd) + f(c * side));
    const r = f(this.radius);
    const eps = f(1e-3);
    const px = f(this.x);
    const py = f(this.y);
    let x = f(px + dx);
    if (dx !== 0) {
      const lead = Math.floor(dx > 0 ? f(x + r) : f(x - r));
      if (this.wallInRange(lead, Math.floor(f(py - r)), Math.floor(f(py + r)), false)) x = dx > 0 ? f(f(lead - r) - eps) : f(f(f(lead + 1) + r) + eps);
    }
    let y = f(py + dy);
    if (dy !== 0) {
      const lead = Math.floor(dy > 0 ? f(y + r) : f(y - r));
      if (this.wallInRange(lead, Math.floor(f(x - r)), Math.floor(f(x + r)), true)) y = dy > 0 ? f(f(lead - r) - eps) : f(f(f(lead + 1) + r) + eps);
    }
    this.x = x;
    this.y = y;
  }
}
