// Designer view: the memory map panel (entries, path, player, highlights, walls land where the
// transform says) and the contact sheet of decoded memory views.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { drawMemoryMap, fitView } from '../src/designer/memory_map.js';
import { memoryContactSheet } from '../src/designer/memory_sheet.js';
import { MemoryStore } from '../src/memory/memory_store.js';
import { projectRoot } from '../src/native.js';
import { loadModel } from '../src/model.js';
import type { Canvas } from '../src/hud/text.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

function canvas(w: number, h: number, channels: 3 | 4 = 3): Canvas {
  return { width: w, height: h, channels, pixels: new Uint8Array(w * h * channels) };
}
function px(c: Canvas, x: number, y: number): number[] {
  const o = (Math.round(y) * c.width + Math.round(x)) * c.channels;
  return Array.from(c.pixels.subarray(o, o + 3));
}

describe('memory map panel', () => {
  it('draws entries, highlights, path and player at their mapped positions', () => {
    const c = canvas(128, 128);
    const entries = [
      { pose: { x: 2, y: 2, yaw: 0 }, time: 10 },
      { pose: { x: 12, y: 3, yaw: Math.PI / 2 }, time: 50 },
      { pose: { x: 7, y: 10, yaw: Math.PI }, time: 90 },
    ];
    const path = Float64Array.from([2, 2, 7, 2, 7, 10]);
    const input = { entries, path, player: { x: 7, y: 10, yaw: 0 }, now: 100, highlight: [1] };
    const v = drawMemoryMap(c, input);
    expect(v).toEqual(fitView(c, input));
    const X = (x: number) => v.ox + x * v.scale;
    const Y = (y: number) => v.oy + y * v.scale;
    expect(px(c, X(12), Y(3))).toEqual([80, 255, 120]); // highlighted (retrieved) entry: green
    expect(px(c, X(2), Y(2))).toEqual([120, 70, 30]); // oldest entry: dim
    expect(px(c, X(7), Y(10))).toEqual([255, 255, 255]); // player on top of the newest entry
    expect(px(c, X(7), Y(6))).toEqual([80, 140, 255]); // the path between (7,2) and (7,10)
    expect(px(c, 1, 127)).toEqual([16, 18, 24]); // background
    // The view the frame on screen was anchored on: magenta, over the retrieval highlight.
    const c2 = canvas(128, 128);
    drawMemoryMap(c2, { ...input, anchor: 1 });
    expect(px(c2, X(12), Y(3))).toEqual([255, 80, 255]);
    expect(px(c2, X(2), Y(2))).toEqual([120, 70, 30]);
    // Everything fits inside the panel.
    for (const e of entries) {
      expect(X(e.pose.x)).toBeGreaterThanOrEqual(0);
      expect(X(e.pose.x)).toBeLessThan(128);
      expect(Y(e.pose.y)).toBeLessThan(128);
    }
  });

  it('draws walls from a map, works on RGBA canvases, and refuses tiny panels', () => {
    const c = canvas(64, 64, 4);
    const size = 4;
    const cells = new Uint8Array(16);
    cells[0] = 1; // wall at cell (0, 0)
    const v = drawMemoryMap(c, { entries: [], now: 0, walls: { size, cells } });
    expect(px(c, v.ox + 0.5 * v.scale, v.oy + 0.5 * v.scale)).toEqual([70, 74, 86]);
    expect(px(c, v.ox + 2.5 * v.scale, v.oy + 2.5 * v.scale)).toEqual([16, 18, 24]);
    expect(c.pixels[3]).toBeGreaterThan(0);
    expect(() => drawMemoryMap(canvas(8, 8), { entries: [], now: 0 })).toThrow(/smaller than 16x16/);
  });
});

describe('memory contact sheet', () => {
  it('decodes each stored view into a tile, oldest first', async () => {
    const model = await loadModel(TINY, { backend: 'cpu', threads: 1 });
    try {
      const L = model.latentSize;
      const mem = new MemoryStore({ latentSize: L, capacity: 8 });
      const latents = [0.5, -0.5, 1.5].map((v, i) => Float32Array.from({ length: L }, (_, j) => v * Math.sin(j + i)));
      mem.add(latents[0]!, { x: 0, y: 0, yaw: 0 }, 30);
      mem.add(latents[1]!, { x: 5, y: 0, yaw: 0 }, 10);
      mem.add(latents[2]!, { x: 9, y: 0, yaw: 0 }, 20);
      const sheet = await memoryContactSheet(model, mem, { columns: 3 });
      const w = model.dims.frameWidth;
      const h = model.dims.frameHeight;
      expect(sheet.width).toBe(3 * w + 4 * 4);
      expect(sheet.height).toBe(h + 2 * 4);
      // Tile 0 is the oldest entry (time 10 = latents[1]); compare a row below the caption.
      const want = (await model.decode(latents[1]!)).slice();
      const row = h - 2;
      const got = sheet.rgb.subarray(((4 + row) * sheet.width + 4) * 3, ((4 + row) * sheet.width + 4 + w) * 3);
      expect(Array.from(got)).toEqual(Array.from(want.subarray(row * w * 3, (row + 1) * w * 3)));
      await expect(memoryContactSheet(model, new MemoryStore({ latentSize: L }))).rejects.toThrow(/memory store is empty/);
    } finally {
      await model.close();
    }
  });
});

describe('map panel in the HUD', () => {
  it('the HUD overlay carries the panel under its text, at the right, and only while asked', async () => {
    const { HudOverlay } = await import('../src/hud/hud.js');
    const o = new HudOverlay(512, 512);
    const plain = o.draw(['FPS 30']);
    const side = Math.floor(512 / 3);
    const withPanel = o.draw(['FPS 30'], (c) => drawMemoryMap(c, { entries: [{ pose: { x: 1, y: 1, yaw: 0 }, time: 1 }], now: 2, player: { x: 3, y: 2, yaw: 0 } }));
    expect(withPanel.height).toBe(plain.height + 4 + side);
    const at = (x: number, y: number) => Array.from(withPanel.rgba.subarray((y * 512 + x) * 4, (y * 512 + x) * 4 + 4));
    expect(at(512 - 4 - side + 1, plain.height + 4 + side - 2)).toEqual([16, 18, 24, 220]); // panel background
    expect(at(2, plain.height + 10)).toEqual([0, 0, 0, 0]); // left of the panel stays clear
    // Without the panel again, its rows are cleared and no longer sent.
    const again = o.draw(['FPS 30']);
    expect(again.height).toBe(plain.height);
    expect(o.canvas.pixels[((plain.height + 10) * 512 + 500) * 4 + 3]).toBe(0);
  });
});
