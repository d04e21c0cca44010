import { describe, expect, it } from 'vitest';
import { GLYPH_H, GLYPH_W, glyph, hasGlyph } from '../src/hud/font.js';
import { drawText, textWidth } from '../src/hud/text.js';
import { HudOverlay, hudLines, placeKeysLines } from '../src/hud/hud.js';
import { OBJECT_KINDS } from '../src/world.js';
import { defaultBindings } from '../src/input/default_bindings.js';
import { FrameProfiler } from '../src/profiler/frame_profiler.js';

describe('HUD font and text', () => {
  it('has distinct glyphs for digits and letters', () => {
    const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const seen = new Set<string>();
    for (const c of chars) {
      expect(hasGlyph(c)).toBe(true);
      const g = glyph(c);
      expect(g.length).toBe(GLYPH_H);
      seen.add(Array.from(g).join(','));
    }
    expect(seen.size).toBe(chars.length);
    expect(Array.from(glyph('a'))).toEqual(Array.from(glyph('A')));
    expect(Array.from(glyph('\u00e9'))).toEqual(Array.from(glyph('?')));
  });

  it('draws ink only inside the text box, clipped to the canvas', () => {
    const c = { width: 40, height: 10, channels: 3 as const, pixels: new Uint8Array(40 * 10 * 3) };
    const w = drawText(c, 'FPS 30', 1, 1, [255, 0, 0, 255]);
    expect(w).toBe(textWidth('FPS 30'));
    let ink = 0;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 40; x++) {
        if (c.pixels[(y * 40 + x) * 3] === 255) {
          ink++;
          expect(y).toBeGreaterThanOrEqual(1);
          expect(y).toBeLessThan(1 + GLYPH_H);
        }
      }
    }
    expect(ink).toBeGreaterThan(20);
    // Far off-canvas text must not throw or write out of bounds.
    drawText(c, 'X', 38, 8, [1, 2, 3, 4], 3);
    drawText(c, 'X', -100, -100, [1, 2, 3, 4]);
    expect(c.pixels.length).toBe(40 * 10 * 3);
    expect(GLYPH_W).toBe(5);
  });

  it('builds HUD lines from the profiler and renders an overlay', () => {
    const p = new FrameProfiler();
    p.presented(0);
    p.presented(33.3);
    p.stageTimes({ denoise0: 4, decode: 2 });
    p.stage('present', 0.7);
    const lines = hudLines(p, { label: 'truth seed 1', paused: true });
    expect(lines[0]).toMatch(/^FPS 30\.0/);
    expect(lines.join('\n')).toMatch(/DENOISE0 4\.0/);
    expect(lines.join('\n')).toMatch(/PAUSED/);
    expect(lines.join('\n')).not.toMatch(/LIGHT/);
    const lit = hudLines(p, { label: 'x', paused: false, light: { level: 0.35, tint: [0.55, 0.65, 1], preset: 3 } });
    expect(lit).toContain('LIGHT 0.35 TINT 0.55 0.65 1.00 (NIGHT)');
    expect(hudLines(p, { label: 'x', paused: false, light: { level: 0.5, tint: [1, 1, 1], preset: -1 } })).toContain('LIGHT 0.50 TINT 1.00 1.00 1.00');
    // A model world under the frame budget says what a frame may spend now.
    expect(hudLines(p, { label: 'x', paused: false, evalBudget: { evals: 0, full: 4 } })).toContain('FRAME BUDGET FULL OF 4 EVALS');
    expect(hudLines(p, { label: 'x', paused: false, evalBudget: { evals: 1, full: 4 } })).toContain('FRAME BUDGET 1 OF 4 EVALS');
    expect(hudLines(p, { label: 'x', paused: false }).some((l) => l.startsWith('FRAME BUDGET'))).toBe(false);
    // The place keys, from the bindings: only kinds the world has and a key is bound to, wrapped
    // to lines that fit the overlay.
    expect(placeKeysLines(['pillar', 'lamp', 'orb'], { placePillar: ['1'], placeLamp: ['4', 'L'] })).toEqual(['PLACE 1 PILLAR 4 LAMP']);
    const all = placeKeysLines([...OBJECT_KINDS], defaultBindings().commands);
    expect(all).toEqual(['PLACE 1 PILLAR 2 BARREL 3 PLANT 4 LAMP', '  5 CRATE 6 ORB']);
    for (const l of all) expect(textWidth(l, 2)).toBeLessThanOrEqual(512 - 4);
    expect(hudLines(p, { label: 'x', paused: false, placeKeys: all })).toEqual(expect.arrayContaining(all));
    expect(placeKeysLines([], { placePillar: ['1'] })).toEqual([]);
    expect(placeKeysLines(['crate'], {})).toEqual([]);
    const size = HudOverlay.sizeFor(128, 128);
    expect(size).toEqual({ width: 512, height: 512 });
    const o = new HudOverlay(size.width, size.height);
    const box = o.draw(lines);
    expect(box.width).toBe(512);
    expect(box.height).toBeLessThan(128); // only the text box is blended, not the whole frame
    expect(box.rgba.length).toBe(box.width * box.height * 4);
    let opaque = 0;
    for (let i = 3; i < box.rgba.length; i += 4) if (box.rgba[i] === 255) opaque++;
    expect(opaque).toBeGreaterThan(100);
    // Right of the text box stays transparent (the world shows through).
    expect(box.rgba[(2 * 512 + 510) * 4 + 3]).toBe(0);
    // Fewer lines next time: the rows the old box covered are cleared.
    const small = o.draw(['X']);
    expect(small.height).toBeLessThan(box.height);
    expect(o.canvas.pixels[((box.height - 1) * 512 + 1) * 4 + 3]).toBe(0);
  });
});
