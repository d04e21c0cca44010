/**
 * Contact sheets: many same-sized RGB frames laid out in a grid with optional captions, for
 * people to compare seeds, lighting or model outputs at a glance. Captions use a built-in 3x5
 * pixel font (our own glyphs), scaled up, so no font files are needed.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RgbImage } from './png.js';

export interface Tile {
  width: number;
  height: number;
  rgb: Uint8Array;
  label?: string;
}

export interface SheetOptions {
  /** Tiles per row (default: ceil(sqrt(n))). */
  columns?: number;
  /** Gap between tiles and around the sheet, in pixels (default 4). */
  pad?: number;
  background?: [number, number, number];
  /** Caption pixel size (default 1 for tiles under 160 px wide, else 2). */
  labelScale?: number;
}

// 3x5 glyphs: five rows of three cells, top to bottom, '1' = ink.
const GLYPHS: Record<string, string> = {
  '0': '111,101,101,101,111', '1': '010,110,010,010,111', '2': '111,001,111,100,111', '3': '111,001,111,001,111',
  '4': '101,101,111,001,001', '5': '111,100,111,001,111', '6': '111,100,111,101,111', '7': '111,001,001,001,001',
  '8': '111,101,111,101,111', '9': '111,101,111,001,111', a: '010,101,111,101,101', b: '110,101,110,101,110',
  c: '011,100,100,100,011', d: '110,101,101,101,110', e: '111,100,110,100,111', f: '111,100,110,100,100',
  g: '011,100,101,101,011', h: '101,101,111,101,101', i: '111,010,010,010,111', j: '001,001,001,101,010',
  k: '101,101,110,101,101', l: '100,100,100,100,111', m: '101,111,111,101,101', n: '110,101,101,101,101',
  o: '010,101,101,101,010', p: '110,101,110,100,100', q: '010,101,101,110,011', r: '110,101,110,101,101',
  s: '011,100,010,001,110', t: '111,010,010,010,010', u: '101,101,101,101,111', v: '101,101,101,101,010',
  w: '101,101,111,111,101', x: '101,101,010,101,101', y: '101,101,010,010,010', z: '111,001,010,100,111',
  '-': '000,000,111,000,000', '.': '000,000,000,000,010', ':': '000,010,000,010,000', '/': '001,001,010,100,100',
  ' ': '000,000,000,000,000', '=': '000,111,000,111,000',
};
function glyph(ch: string): string {
  return (GLYPHS[ch.toLowerCase()] ?? GLYPHS['.']!).replace(/,/g, '');
}

/** Draws text into an RGB image at (x, y) with a dark backing box. */
export function drawLabel(img: RgbImage, text: string, x: number, y: number, scale = 1): void {
  const cw = 4 * scale; // 3 columns + 1 gap
  const boxW = text.length * cw + scale;
  const boxH = 7 * scale;
  const set = (px: number, py: number, r: number, g: number, b: number) => {
    if (px < 0 || py < 0 || px >= img.width || py >= img.height) return;
    const o = (py * img.width + px) * 3;
    img.rgb[o] = r;
    img.rgb[o + 1] = g;
    img.rgb[o + 2] = b;
  };
  for (let py = y; py < y + boxH; py++)
    for (let px = x; px < x + boxW; px++) {
      if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
      const o = (py * img.width + px) * 3;
      img.rgb[o] = img.rgb[o]! >> 2;
      img.rgb[o + 1] = img.rgb[o + 1]! >> 2;
      img.rgb[o + 2] = img.rgb[o + 2]! >> 2;
    }
  [...text].forEach((ch, i) => {
    const g = glyph(ch);
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 3; c++) {
        if (g[r * 3 + c] !== '1') continue;
        for (let sy = 0; sy < scale; sy++)
          for (let sx = 0; sx < scale; sx++) set(x + scale + i * cw + c * scale + sx, y + scale + r * scale + sy, 255, 255, 235);
      }
  });
}

/** Lays tiles out left to right, top to bottom. All tiles must have the same size. */
export function contactSheet(tiles: Tile[], options: SheetOptions = {}): RgbImage {
  if (tiles.length === 0) throw new InvalidArgumentError('contactSheet: no tiles');
  const { width: tw, height: th } = tiles[0]!;
  tiles.forEach((t, i) => {
    if (t.width !== tw || t.height !== th) {
      throw new InvalidArgumentError(`contactSheet: tile ${i} is ${t.width}x${t.height}, expected ${tw}x${th} like tile 0`);
    }
    if (t.rgb.length !== tw * th * 3) {
      throw new InvalidArgumentError(`contactSheet: tile ${i} has ${t.rgb.length} bytes, expected ${tw * th * 3}`);
    }
  });
  const columns = Math.max(1, Math.min(tiles.length, options.columns ?? Math.ceil(Math.sqrt(tiles.length))));
  const rows = Math.ceil(tiles.length / columns);
  const pad = options.pad ?? 4;
  const bg = options.background ?? [24, 24, 28];
  const scale = options.labelScale ?? (tw < 160 ? 1 : 2);
  const width = columns * tw + (columns + 1) * pad;
  const height = rows * th + (rows + 1) * pad;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = bg[0];
    rgb[i * 3 + 1] = bg[1];
    rgb[i * 3 + 2] = bg[2];
  }
  const sheet: RgbImage = { width, height, rgb };
  tiles.forEach((t, i) => {
    const x0 = pad + (i % columns) * (tw + pad);
    const y0 = pad + Math.floor(i / columns) * (th + pad);
    for (let y = 0; y < th; y++) rgb.set(t.rgb.subarray(y * tw * 3, (y + 1) * tw * 3), ((y0 + y) * width + x0) * 3);
    if (t.label) drawLabel(sheet, t.label, x0 + 1, y0 + 1, scale);
  });
  return sheet;
}
