import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { decodePng, encodePng } from '../src/image/png.js';
import { contactSheet } from '../src/image/contact_sheet.js';
import { parseActionScript, scriptSteps } from '../src/loop/action_script.js';
import { frameFileName } from '../src/record/frame_export.js';
import { worldLayout } from '../src/world.js';
import { main } from '../src/cli/main.js';

function pattern(w: number, h: number, ch = 3): Uint8Array {
  const px = new Uint8Array(w * h * ch);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919 + (i >> 5)) & 255;
  return px;
}

// Builds a PNG by hand (any filter, colour type) to test the decoder on files we did not write.
function handPng(w: number, h: number, colorType: number, rows: Uint8Array[], filter: number, extra: Uint8Array[] = []): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(data).copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([filter]), Buffer.from(r)])));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    ...extra.map((e) => chunk('PLTE', e)),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

describe('PNG codec', () => {
  it('round-trips RGB and RGBA images', () => {
    for (const [w, h] of [[1, 1], [37, 21], [128, 128]] as const) {
      const px = pattern(w, h);
      const d = decodePng(encodePng(w, h, px));
      expect([d.width, d.height]).toEqual([w, h]);
      expect(Buffer.from(d.rgb).equals(Buffer.from(px))).toBe(true);
    }
    const rgba = pattern(5, 4, 4);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    const d = decodePng(encodePng(5, 4, rgba, 4));
    expect(d.rgb[0]).toBe(rgba[0]);
    expect(d.rgb[3]).toBe(rgba[4]);
  });

  it('decodes grey, palette and every filter type', () => {
    const grey = handPng(3, 1, 0, [Uint8Array.from([0, 128, 255])], 0);
    expect(Array.from(decodePng(grey).rgb)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    const pal = handPng(2, 1, 3, [Uint8Array.from([1, 0])], 0, [Uint8Array.from([10, 20, 30, 40, 50, 60])]);
    expect(Array.from(decodePng(pal).rgb)).toEqual([40, 50, 60, 10, 20, 30]);
    // Filter 1 (sub) on a row of equal pixels stored as deltas: [5, +0, +0] per channel.
    const sub = handPng(3, 1, 2, [Uint8Array.from([5, 6, 7, 0, 0, 0, 1, 1, 1])], 1);
    expect(Array.from(decodePng(sub).rgb)).toEqual([5, 6, 7, 5, 6, 7, 6, 7, 8]);
    const paeth = handPng(2, 2, 0, [Uint8Array.from([10, 20]), Uint8Array.from([1, 1])], 4);
    // Row 0 (no row above): paeth predictor = left; row 1: predictor from above/left.
    expect(Array.from(decodePng(paeth).rgb).filter((_, i) => i % 3 === 0)).toEqual([10, 30, 11, 31]);
  });

  it('rejects malformed files with errors naming the problem', () => {
    const good = encodePng(4, 4, pattern(4, 4));
    expect(() => decodePng(new Uint8Array(10))).toThrow(/signature/);
    expect(() => decodePng(good.subarray(0, 40))).toThrow(/past the end|truncated|IEND/);
    const badCrc = Uint8Array.from(good);
    badCrc[20] ^= 1;
    expect(() => decodePng(badCrc)).toThrow(/IHDR.*CRC/);
    const huge = handPng(1, 1, 2, [Uint8Array.from([1, 2, 3])], 0);
    const hv = Buffer.from(huge);
    hv.writeUInt32BE(100000, 16);
    hv.writeUInt32BE(100000, 20);
    // Fix the CRC so the size check (not the CRC check) rejects it.
    const fixed = handPng(1, 1, 2, [Uint8Array.from([1, 2, 3])], 0);
    expect(() => decodePng(hv)).toThrow(/CRC|exceeds/);
    expect(decodePng(fixed).width).toBe(1);
    const badFilter = handPng(1, 1, 2, [Uint8Array.from([1, 2, 3])], 9);
    expect(() => decodePng(badFilter)).toThrow(/filter type 9/);
    const shortData = handPng(4, 4, 2, [Uint8Array.from([1, 2, 3])], 0);
    expect(() => decodePng(shortData)).toThrow(/inflates to/);
    expect(() => encodePng(0, 4, new Uint8Array(0))).toThrow(/positive/);
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(/expected 12 bytes/);
  });
});

describe('contact sheet', () => {
  it('lays tiles out in a grid with captions', () => {
    const tile = (v: number) => ({ width: 8, height: 6, rgb: new Uint8Array(8 * 6 * 3).fill(v) });
    const s = contactSheet([tile(50), tile(100), { ...tile(150), label: '12' }], { columns: 2, pad: 2 });
    expect([s.width, s.height]).toEqual([2 * 8 + 3 * 2, 2 * 6 + 3 * 2]);
    const at = (x: number, y: number) => s.rgb[(y * s.width + x) * 3]!;
    expect(at(2, 2)).toBe(50);
    expect(at(2 + 8 + 2, 2)).toBe(100);
    expect(at(0, 0)).toBe(24); // background
    // The caption darkens its box and draws light glyph pixels inside the third tile.
    const third = Array.from({ length: 6 * 8 }, (_, i) => at(2 + (i % 8), 2 + 6 + 2 + Math.floor(i / 8)));
    expect(third.some((v) => v === 255)).toBe(true);
    expect(third.some((v) => v < 150)).toBe(true);
    expect(() => contactSheet([tile(1), { width: 4, height: 4, rgb: new Uint8Array(48) }])).toThrow(/tile 1 is 4x4/);
  });
});

describe('action scripts (one grammar for play, truth and render)', () => {
  it('reads render\'s older forms as the same steps as the current ones', () => {
    const older = parseActionScript({
      segments: [
        { frames: 3, move: 1, comment: 'walk' },
        { frames: 2, turn: -0.5, light: true, spawn: true },
        { frames: 1, spawn: 'lamp', setLight: { level: 0.3, tint: [1, 0.5, 0.5] }, light: false },
      ],
    });
    const current = parseActionScript({
      segments: [
        { frames: 3, action: { move: 1 } },
        { frames: 2, action: { turn: -0.5 }, events: ['light', 'spawn'] },
        { frames: 1, place: 'lamp', setLight: { level: 0.3, tint: [1, 0.5, 0.5] } },
      ],
    });
    const a = [...scriptSteps(older, worldLayout())];
    const b = [...scriptSteps(current, worldLayout())];
    expect(a).toHaveLength(6);
    expect(a.map((s) => Array.from(s.action))).toEqual(b.map((s) => Array.from(s.action)));
    expect(Array.from(a[3]!.action)).toEqual([0, 0, -0.5, 1, 1]);
    expect(Array.from(a[4]!.action)).toEqual([0, 0, -0.5, 0, 0]); // events fire on a segment's first tick only
    expect(a[5]!.place).toBe('lamp');
    expect(a[5]!.light).toEqual({ level: 0.3, tint: [1, 0.5, 0.5] });
    expect(b[5]!.place).toBe('lamp');
    expect(a[4]!.place).toBeUndefined();
  });

  it('refuses the older forms where they are ambiguous or wrong', () => {
    expect(() => parseActionScript([{ frames: 1, spawn: 'dragon' }])).toThrow(/segments\[0\]\.spawn must be an object kind/);
    expect(() => parseActionScript([{ frames: 1, spawn: 'lamp', place: 'orb' }])).toThrow(/give the kind once/);
    expect(() => parseActionScript([{ frames: 1, action: { move: 'x' } }])).toThrow(/action\.move must be a finite number/);
    expect(() => [...scriptSteps(parseActionScript([{ frames: 2 }, { frames: 1, move: 2 }]), worldLayout())]).toThrow(/segments\[1\]: move=2 is outside/);
  });

  it('names frame files one way for render and replay --export', () => {
    expect(frameFileName(0)).toBe('frame_000000.png');
    expect(frameFileName(123456)).toBe('frame_123456.png');
  });
});

describe('worldloop render / sheet', () => {
  const quiet = async (argv: string[]) => {
    const log = console.log;
    const err = console.error;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    console.error = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      return { code: await main(argv), out: lines.join('\n') };
    } finally {
      console.log = log;
      console.error = err;
    }
  };

  it('renders a script to PNG frames and an action log, deterministically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-render-'));
    const script = join(dir, 'walk.json');
    writeFileSync(script, JSON.stringify({ segments: [{ frames: 6, action: { move: 1 } }, { frames: 4, turn: 1, events: ['light'] }] }));
    for (const out of ['a', 'b']) {
      const r = await quiet(['render', '--seed', '5', '--script', script, '--size', '64x48', '--out', join(dir, out)]);
      expect(r.code).toBe(0);
    }
    const files = readdirSync(join(dir, 'a')).sort();
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(10);
    const f9 = decodePng(readFileSync(join(dir, 'a', 'frame_000009.png')));
    expect([f9.width, f9.height]).toEqual([64, 48]);
    expect(readFileSync(join(dir, 'a', 'frame_000009.png')).equals(readFileSync(join(dir, 'b', 'frame_000009.png')))).toBe(true);
    expect(readFileSync(join(dir, 'a', 'frame_000000.png')).equals(readFileSync(join(dir, 'a', 'frame_000005.png')))).toBe(false);
    const log = readFileSync(join(dir, 'a', 'actions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log).toHaveLength(10);
    expect(log[6].action).toEqual([0, 0, 1, 1, 0]);
    expect(Math.hypot(log[5].pose[0] - log[0].pose[0], log[5].pose[1] - log[0].pose[1])).toBeGreaterThan(0.1);
  });

  it('takes reset, place and setLight from the shared grammar, and holds the last axes past the script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-render-'));
    const script = join(dir, 'edits.json');
    writeFileSync(script, JSON.stringify([
      { frames: 3, action: { move: 1 } },
      { frames: 1, reset: true },
      { frames: 1, place: 'lamp' },
      { frames: 2, setLight: { level: 0.2 }, turn: 0.5, events: ['spawn'] },
    ]));
    const r = await quiet(['render', '--seed', '4', '--script', script, '--size', '48x32', '--frames', '9', '--out', join(dir, 'o')]);
    expect(r.code, r.out).toBe(0);
    const frame = (i: number) => readFileSync(join(dir, 'o', frameFileName(i)));
    expect(frame(3).equals(frame(0))).toBe(true); // reset: the seed's first frame again
    expect(frame(4).equals(frame(3))).toBe(false); // the lamp placed before frame 4
    const mean = (b: Buffer) => { const p = decodePng(b).rgb; return p.reduce((s, v) => s + v, 0) / p.length; };
    expect(mean(frame(5))).toBeLessThan(mean(frame(4))); // light 0.2 before frame 5
    const log = readFileSync(join(dir, 'o', 'actions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.map((l) => l.action)).toEqual([
      [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0],
      [0, 0, 0.5, 0, 1], [0, 0, 0.5, 0, 0], [0, 0, 0.5, 0, 0], [0, 0, 0.5, 0, 0],
    ]);
  });

  it('writes an MP4 through ffmpeg, or says clearly that ffmpeg is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-render-'));
    const out = join(dir, 'e.mp4');
    const r = await quiet(['render', '--seed', '2', '--explore', '--frames', '20', '--out', out]);
    if (r.code === 0) {
      expect(readFileSync(out).subarray(4, 8).toString('latin1')).toBe('ftyp');
    } else {
      expect(r.out).toMatch(/ffmpeg was not found/);
    }
    const path = process.env.PATH;
    process.env.PATH = dir; // no ffmpeg here
    try {
      const missing = await quiet(['render', '--seed', '2', '--explore', '--frames', '3', '--out', join(dir, 'x.mp4')]);
      expect(missing.code).not.toBe(0);
      expect(missing.out).toMatch(/ffmpeg was not found on PATH/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('writes a contact sheet across seeds and light presets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-sheet-'));
    const out = join(dir, 'sheet.png');
    const r = await quiet(['sheet', '--seeds', '1,2', '--lights', 'day,night', '--size', '32x32', '--walk', '10', '--out', out]);
    expect(r.code).toBe(0);
    const img = decodePng(readFileSync(out));
    expect([img.width, img.height]).toEqual([2 * 32 + 3 * 4, 2 * 32 + 3 * 4]);
  });

  it('rejects bad flags with usage errors', async () => {
    expect((await quiet(['render', '--seed', '1', '--out', '/tmp/x'])).out).toMatch(/--script FILE or --explore/);
    expect((await quiet(['render', '--explore', '--size', '0x5', '--out', '/tmp/x'])).out).toMatch(/--size/);
    expect((await quiet(['render', '--explore', '--size', 'big', '--out', '/tmp/x'])).code).toBe(2);
    expect((await quiet(['sheet', '--seeds', '1', '--lights', 'noon', '--out', '/tmp/x.png'])).out).toMatch(/unknown light preset 'noon'/);
    expect((await quiet(['sheet', '--seeds', 'x', '--out', '/tmp/x.png'])).out).toMatch(/--seeds/);
    const dir = mkdtempSync(join(tmpdir(), 'wl-render-'));
    writeFileSync(join(dir, 'bad.json'), '{"segments": [{"frames": 1, "move": 9}]}');
    expect((await quiet(['render', '--script', join(dir, 'bad.json'), '--out', join(dir, 'o')])).out).toMatch(/segments\[0\]: move=9 is outside \[-1, 1\]/);
  });
});
