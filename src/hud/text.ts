/** Draws text with the built-in font into RGBA8 or RGB8 pixel buffers (clipped to the buffer). */
import { GLYPH_H, GLYPH_W, glyph } from './font.js';

export interface Canvas {
  width: number;
  height: number;
  /** 3 (RGB8) or 4 (RGBA8). */
  channels: 3 | 4;
  pixels: Uint8Array;
}

export type Rgba = [number, number, number, number];

export const LINE_HEIGHT = GLYPH_H + 2;
export const ADVANCE = GLYPH_W + 1;

export function fillRect(c: Canvas, x0: number, y0: number, w: number, h: number, color: Rgba): void {
  const x1 = Math.min(c.width, x0 + w);
  const y1 = Math.min(c.height, y0 + h);
  for (let y = Math.max(0, y0); y < y1; y++) {
    for (let x = Math.max(0, x0); x < x1; x++) {
      const o = (y * c.width + x) * c.channels;
      c.pixels[o] = color[0];
      c.pixels[o + 1] = color[1];
      c.pixels[o + 2] = color[2];
      if (c.channels === 4) c.pixels[o + 3] = color[3];
    }
  }
}

/** Draws `text` with its top-left at (x, y), `scale` pixels per font pixel. Returns the width. */
export function drawText(c: Canvas, text: string, x: number, y: number, color: Rgba, scale = 1): number {
  let pen = x;
  for (const ch of text) {
    const g = glyph(ch);
    for (let row = 0; row < GLYPH_H; row++) {
      const bits = g[row]!;
      if (!bits) continue;
      for (let col = 0; col < GLYPH_W; col++) {
        if (bits & (1 << (GLYPH_W - 1 - col))) fillRect(c, pen + col * scale, y + row * scale, scale, scale, color);
      }
    }
    pen += ADVANCE * scale;
  }
  return pen - x;
}

export function textWidth(text: string, scale = 1): number {
  return [...text].length * ADVANCE * scale;
}
