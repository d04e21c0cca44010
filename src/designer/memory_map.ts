/**
 * The designer's map panel: a top-down view of where the memory store holds views (dots with a
 * heading tick, brighter = stored more recently), the player's path, and the player now (white,
 * with a heading line). Retrieved entries can be highlighted (green) to see what memory would
 * hand the model from here, and the view the frame on screen was re-grounded on (revisit
 * anchoring, magenta). Walls are drawn when a map is known (truth world / seed).
 *
 * Draws into a Canvas (RGB8 or RGBA8), so the same panel goes into the HUD overlay or a PNG.
 */
import { fillRect, drawText, type Canvas, type Rgba } from '../hud/text.js';
import { InvalidArgumentError } from '../errors.js';
import type { ViewPose } from '../memory/view_overlap.js';

export interface MapEntry {
  pose: ViewPose;
  time: number;
}

export interface MemoryMapInput {
  entries: readonly MapEntry[];
  /** Player path [x0, y0, x1, y1, ...]. */
  path?: Float64Array;
  player?: ViewPose;
  /** Current frame index (for entry age shading). */
  now: number;
  /** Indices into `entries` to highlight (e.g. the last retrieval). */
  highlight?: readonly number[];
  /** Index into `entries` of the view the current frame was anchored on, if it was. */
  anchor?: number;
  /** cells[y*size+x] = 1 for walls. */
  walls?: { size: number; cells: Uint8Array };
  title?: string;
}

/** World-to-panel transform: uniform scale, the content centred with a margin. */
export interface MapView {
  scale: number;
  ox: number;
  oy: number;
}

const COLORS = {
  background: [16, 18, 24, 220] as Rgba,
  wall: [70, 74, 86, 255] as Rgba,
  path: [80, 140, 255, 255] as Rgba,
  entryNew: [255, 220, 80],
  entryOld: [120, 70, 30],
  highlight: [80, 255, 120, 255] as Rgba,
  anchor: [255, 80, 255, 255] as Rgba,
  player: [255, 255, 255, 255] as Rgba,
};

function setPx(c: Canvas, x: number, y: number, col: Rgba | number[]): void {
  x = Math.round(x);
  y = Math.round(y);
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const o = (y * c.width + x) * c.channels;
  c.pixels[o] = col[0]!;
  c.pixels[o + 1] = col[1]!;
  c.pixels[o + 2] = col[2]!;
  if (c.channels === 4) c.pixels[o + 3] = 255;
}

function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, col: Rgba | number[]): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= n; i++) setPx(c, x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, col);
}

function dot(c: Canvas, x: number, y: number, r: number, col: Rgba | number[]): void {
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r + r) setPx(c, x + dx, y + dy, col);
}

/** The transform that fits everything the panel shows into it. */
export function fitView(c: Canvas, input: MemoryMapInput, margin = 6): MapView {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const add = (x: number, y: number) => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  if (input.walls) {
    add(0, 0);
    add(input.walls.size, input.walls.size);
  }
  for (const e of input.entries) add(e.pose.x, e.pose.y);
  const p = input.path;
  if (p) for (let i = 0; i + 1 < p.length; i += 2) add(p[i]!, p[i + 1]!);
  if (input.player) add(input.player.x, input.player.y);
  if (!Number.isFinite(minX)) {
    minX = minY = -1;
    maxX = maxY = 1;
  }
  // At least 4 cells across so a short path is not blown up to the panel's size.
  const span = Math.max(4, maxX - minX, maxY - minY);
  const scale = Math.min(c.width - 2 * margin, c.height - 2 * margin) / span;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  return { scale, ox: c.width / 2 - cx * scale, oy: c.height / 2 - cy * scale };
}

/** Draws the panel over the whole canvas. Returns the transform used (for tests and picking). */
export function drawMemoryMap(c: Canvas, input: MemoryMapInput): MapView {
  if (c.width < 16 || c.height < 16) throw new InvalidArgumentError(`memory map: panel ${c.width}x${c.height} is smaller than 16x16`);
  fillRect(c, 0, 0, c.width, c.height, COLORS.background);
  const v = fitView(c, input);
  const X = (x: number) => v.ox + x * v.scale;
  const Y = (y: number) => v.oy + y * v.scale;
  if (input.walls) {
    const { size, cells } = input.walls;
    const s = Math.max(1, Math.ceil(v.scale));
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) if (cells[y * size + x]) fillRect(c, Math.floor(X(x)), Math.floor(Y(y)), s, s, COLORS.wall);
  }
  const p = input.path;
  if (p) for (let i = 2; i + 1 < p.length; i += 2) line(c, X(p[i - 2]!), Y(p[i - 1]!), X(p[i]!), Y(p[i + 1]!), COLORS.path);
  const times = input.entries.map((e) => e.time);
  const tMin = Math.min(...times);
  const tMax = Math.max(...times);
  const hi = new Set(input.highlight ?? []);
  const tick = Math.max(3, v.scale * 0.6);
  input.entries.forEach((e, i) => {
    const f = tMax > tMin ? (e.time - tMin) / (tMax - tMin) : 1;
    const anchored = input.anchor === i;
    const col = anchored ? COLORS.anchor : hi.has(i) ? COLORS.highlight : COLORS.entryOld.map((o, k) => Math.round(o + (COLORS.entryNew[k]! - o) * f));
    const x = X(e.pose.x);
    const y = Y(e.pose.y);
    line(c, x, y, x + Math.cos(e.pose.yaw) * tick, y + Math.sin(e.pose.yaw) * tick, col);
    dot(c, x, y, anchored ? 3 : hi.has(i) ? 2 : 1, col);
  });
  if (input.player) {
    const x = X(input.player.x);
    const y = Y(input.player.y);
    line(c, x, y, x + Math.cos(input.player.yaw) * tick * 2, y + Math.sin(input.player.yaw) * tick * 2, COLORS.player);
    dot(c, x, y, 2, COLORS.player);
  }
  if (input.title) drawText(c, input.title, 2, 2, [255, 255, 160, 255]);
  return v;
}
