/**
 * The on-screen HUD (F1): FPS, dropped frames, stage times, source label (backend, model, seed),
 * the global light, the keys that place objects, pause state. Drawn with the built-in font into an RGBA overlay that the window blends over the
 * frame, at a resolution that is an integer multiple of the frame so glyphs stay crisp.
 */
import type { FrameProfiler } from '../profiler/frame_profiler.js';
import { drawText, fillRect, LINE_HEIGHT, textWidth, type Canvas } from './text.js';
import type { LightState } from '../lighting.js';
import { worldLayout, type ObjectKind } from '../world.js';
import { PLACE_COMMAND, type CommandName } from '../input/bindings.js';

export interface HudState {
  label: string;
  paused: boolean;
  recording?: boolean;
  mouseCaptured?: boolean;
  /** The world's global light (shown when the source tracks it). */
  light?: LightState;
  /** The keys that place objects, with their kinds (placeKeysLines), when the world can place. */
  placeKeys?: string[];
  /** Model worlds under a frame budget: evaluations a frame may spend now (0 = all) of the full. */
  evalBudget?: { evals: number; full: number };
}

/** Characters per HUD line that fit the 512-pixel overlay at its text scale. */
const HUD_LINE_CHARS = 40;

/** "PLACE 1 PILLAR 2 BARREL …", wrapped to HUD lines: each kind the world can place that a key is
 * bound to, in the runtime's order, with the first key bound to it; empty when there is none. */
export function placeKeysLines(kinds: readonly ObjectKind[], commands: Partial<Record<CommandName, string[]>>): string[] {
  const parts = kinds.flatMap((k) => {
    const key = commands[PLACE_COMMAND[k]]?.[0];
    return key ? [`${key} ${k}`.toUpperCase()] : [];
  });
  const lines: string[] = [];
  let line = parts.length ? 'PLACE' : '';
  for (const p of parts) {
    if (line.length + 1 + p.length > HUD_LINE_CHARS) {
      lines.push(line);
      line = `  ${p}`;
    } else line += ` ${p}`;
  }
  if (line) lines.push(line);
  return lines;
}

function ms(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '-';
}

/** The HUD's text lines, from the profiler's latest samples. */
export function hudLines(p: FrameProfiler, s: HudState): string[] {
  const frame = p.last('frame');
  const lines = [
    `FPS ${Number.isFinite(frame) && frame > 0 ? (1000 / frame).toFixed(1) : '-'}  FRAME ${ms(frame)} MS  DROPPED ${p.droppedFrames}`,
  ];
  const skip = new Set(['frame']);
  const stageParts = p.stageNames().filter((n) => !skip.has(n)).map((n) => `${n.toUpperCase()} ${ms(p.last(n))}`);
  for (let i = 0; i < stageParts.length; i += 3) lines.push(stageParts.slice(i, i + 3).join('  '));
  lines.push(s.label.toUpperCase());
  if (s.light) {
    const l = s.light;
    const preset = l.preset >= 0 ? ` (${worldLayout().lightPresets[l.preset]?.name ?? l.preset})` : '';
    lines.push(`LIGHT ${l.level.toFixed(2)} TINT ${l.tint.map((v) => v.toFixed(2)).join(' ')}${preset.toUpperCase()}`);
  }
  if (s.evalBudget) {
    const b = s.evalBudget;
    lines.push(`FRAME BUDGET ${b.evals === 0 ? 'FULL' : b.evals} OF ${b.full} EVALS`);
  }
  if (s.placeKeys) lines.push(...s.placeKeys);
  const flags = [s.paused ? 'PAUSED' : '', s.recording ? 'REC' : '', s.mouseCaptured ? 'MOUSE CAPTURED (ESC)' : ''].filter(Boolean);
  if (flags.length) lines.push(flags.join('  '));
  return lines;
}

export class HudOverlay {
  readonly canvas: Canvas;
  private dirtyRows = 0;
  private panelCanvas: Canvas | undefined;

  constructor(width: number, height: number) {
    this.canvas = { width, height, channels: 4, pixels: new Uint8Array(width * height * 4) };
  }

  /** Overlay size for a frame: the smallest integer multiple at least ~512 px wide. */
  static sizeFor(frameW: number, frameH: number): { width: number; height: number } {
    const k = Math.max(1, Math.round(512 / Math.max(1, frameW)));
    return { width: frameW * k, height: frameH * k };
  }

  /** Redraws the text box (and a square panel under it at the right, when `panel` draws one,
   * e.g. the designer's memory map) and returns just the rows in use (what the window blends). */
  draw(lines: string[], panel?: (c: Canvas) => void): { rgba: Uint8Array; width: number; height: number } {
    const c = this.canvas;
    const scale = c.width >= 512 ? 2 : 1;
    const boxH = Math.min(c.height, lines.length * LINE_HEIGHT * scale + 4);
    fillRect(c, 0, 0, c.width, Math.max(boxH, this.dirtyRows), [0, 0, 0, 0]);
    const boxW = Math.min(c.width, Math.max(...lines.map((l) => textWidth(l, scale))) + 4);
    fillRect(c, 0, 0, boxW, boxH, [0, 0, 0, 150]);
    lines.forEach((l, i) => drawText(c, l, 2, 2 + i * LINE_HEIGHT * scale, [255, 255, 120, 255], scale));
    let rows = boxH;
    const side = Math.floor(Math.min(c.width, c.height) / 3);
    if (panel && side >= 16 && boxH + 4 + side <= c.height) {
      if (!this.panelCanvas || this.panelCanvas.width !== side) {
        this.panelCanvas = { width: side, height: side, channels: 4, pixels: new Uint8Array(side * side * 4) };
      }
      panel(this.panelCanvas);
      const x0 = c.width - side - 4;
      const y0 = boxH + 4;
      for (let y = 0; y < side; y++) {
        c.pixels.set(this.panelCanvas.pixels.subarray(y * side * 4, (y + 1) * side * 4), ((y0 + y) * c.width + x0) * 4);
      }
      rows = y0 + side;
    }
    this.dirtyRows = rows;
    return { rgba: c.pixels.subarray(0, rows * c.width * 4), width: c.width, height: rows };
  }
}
