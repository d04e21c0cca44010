// Start from an image: cover-scale + centre crop (box filter down, bilinear up), PNG and JPEG
// (via ffmpeg) decoding with clear errors, and a model world whose opening is the picture.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { coverCrop, imageOpening, readImage } from '../src/opening_image.js';
import { encodePng } from '../src/image/png.js';
import { projectRoot } from '../src/native.js';
import { loadModel } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { main } from '../src/cli/main.js';
import { readSave } from '../src/save/world_save.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

function img(width: number, height: number, f: (x: number, y: number) => [number, number, number]) {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(f(x, y), (y * width + x) * 3);
  return { width, height, rgb };
}

describe('cover crop', () => {
  it('keeps the centre of a wide image and averages when shrinking', () => {
    // 8x2: columns 0-1 red, 2-5 green, 6-7 blue. To 2x2: scale 1 (height), centre 2..5 = green.
    const wide = img(8, 2, (x) => (x < 2 ? [255, 0, 0] : x < 6 ? [0, 255, 0] : [0, 0, 255]));
    expect(Array.from(coverCrop(wide, 2, 2))).toEqual(new Array(4).fill([0, 255, 0]).flat());
    // Checkerboard 4x4 to 2x2: every output pixel is the mean of 2x2 black/white = 128 (rounded).
    const checker = img(4, 4, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
    expect(new Set(coverCrop(checker, 2, 2))).toEqual(new Set([128]));
    // Tall image to a square: the middle rows.
    const tall = img(2, 6, (_, y) => (y < 2 ? [9, 9, 9] : y < 4 ? [200, 100, 50] : [1, 1, 1]));
    expect(Array.from(coverCrop(tall, 1, 1))).toEqual([200, 100, 50]);
    // Growing a flat image stays flat; a gradient stays monotone.
    expect(new Set(coverCrop(img(3, 3, () => [40, 50, 60]), 16, 16).filter((_, i) => i % 3 === 0))).toEqual(new Set([40]));
    const grad = coverCrop(img(4, 1, (x) => [x * 80, 0, 0]), 16, 4);
    for (let x = 1; x < 16; x++) expect(grad[x * 3]!).toBeGreaterThanOrEqual(grad[(x - 1) * 3]!);
    expect(() => coverCrop(wide, 0, 2)).toThrow(/target size/);
  });
});

describe('reading images', () => {
  it('reads PNG, JPEG (through ffmpeg) and refuses other files by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-img-'));
    const src = img(40, 30, (x, y) => [x * 6, y * 8, 128]);
    const png = join(dir, 'a.png');
    writeFileSync(png, encodePng(src.width, src.height, src.rgb, 3));
    const back = readImage(png);
    expect(back.width).toBe(40);
    expect(Array.from(back.rgb)).toEqual(Array.from(src.rgb));
    const junk = join(dir, 'b.png');
    writeFileSync(junk, 'hello, not an image');
    expect(() => readImage(junk)).toThrow(/b\.png: not a PNG or JPEG image/);
    expect(() => readImage(join(dir, 'none.png'))).toThrow(/cannot read image .*none\.png/);
    if (hasFfmpeg) {
      const jpg = join(dir, 'a.jpg');
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', png, '-q:v', '2', jpg]);
      expect(r.status).toBe(0);
      const j = readImage(jpg);
      expect([j.width, j.height]).toEqual([40, 30]);
      let err = 0;
      for (let i = 0; i < j.rgb.length; i++) err += Math.abs(j.rgb[i]! - src.rgb[i]!);
      expect(err / j.rgb.length).toBeLessThan(12); // lossy, but the same picture
      const broken = join(dir, 'broken.jpg');
      writeFileSync(broken, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
      expect(() => readImage(broken)).toThrow(/broken\.jpg: ffmpeg could not decode the JPEG/);
      const prev = process.env.WL_FFMPEG;
      process.env.WL_FFMPEG = join(dir, 'no-such-ffmpeg');
      try {
        expect(() => readImage(jpg)).toThrow(/decoding JPEG needs ffmpeg, which is not installed/);
      } finally {
        if (prev === undefined) delete process.env.WL_FFMPEG;
        else process.env.WL_FFMPEG = prev;
      }
    }
  });
});

describe('a model world started from an image', () => {
  it('opens on the picture, plays from it, and saves with the image noted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-img-'));
    const png = join(dir, 'start.png');
    const src = img(64, 48, (x, y) => [(x * 4) & 255, (y * 5) & 255, 90]);
    writeFileSync(png, encodePng(src.width, src.height, src.rgb, 3));
    const model = await loadModel(TINY, { backend: 'cpu', threads: 1 });
    try {
      const { width, height } = { width: model.dims.frameWidth, height: model.dims.frameHeight };
      const { frame, opening } = imageOpening(png, width, height, model.dims.context);
      expect(Array.from(frame)).toEqual(Array.from(coverCrop(src, width, height)));
      const w = new ModelWorld(model, { seed: 1, opening });
      const first = await w.reset();
      expect(Array.from(first.rgb)).toEqual(Array.from(frame));
      // The context holds the encoded picture: K identical latents.
      const st = w.state();
      const L = model.latentSize;
      expect(Array.from(st.contextLatents.subarray(0, L))).toEqual(Array.from(st.contextLatents.subarray((model.dims.context - 1) * L)));
      const { frame: next } = await w.step(new Float32Array(model.dims.actionDim));
      expect(next.index).toBe(1);
    } finally {
      await model.close();
    }
    const out = join(dir, 'pic.wlsave');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['save', out, '--model', TINY, '--backend', 'cpu', '--threads', '1', '--start-image', png, '--frames', '3'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const s = readSave(out);
    expect(s.header.settings.startImage).toBe(png);
    expect(s.header.frameIndex).toBe(3);
    expect(s.header.settings.startPose).toEqual({ x: 0, y: 0, yaw: 0 });
  });
});
