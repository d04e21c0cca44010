// Depth and camera of the truth world through the TypeScript API, the point cache (src/cache/),
// and `worldloop eval cache-oracle` (issue 18): same-pose identity through the cache, the memory cap,
// named errors, and the CLI's JSON and sheet.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { World, worldActionSpace } from '../src/world.js';
import { PointCache } from '../src/cache/point_cache.js';
import { FormatError, InvalidArgumentError } from '../src/errors.js';
import { scoreView } from '../src/eval/cache_oracle.js';
import { decodePng } from '../src/image/png.js';
import { runCli as cli } from './helpers/cli.js';

describe('World depth and camera', () => {
  it('publishes a depth view that follows the frame and the pinhole camera', () => {
    const w = new World(3, { width: 64, height: 48 });
    try {
      const cam = w.camera();
      expect([cam.width, cam.height, cam.cx, cam.cy, cam.eyeHeight]).toEqual([64, 48, 32, 24, 0.5]);
      expect(cam.fx).toBeCloseTo(32 / Math.tan((33 * Math.PI) / 180), 3);
      expect(cam.worldToCamera).toBeInstanceOf(Float32Array);
      const p = w.pose();
      expect([cam.x, cam.y, cam.yaw]).toEqual([p.x, p.y, p.yaw]);
      const d = w.depth;
      expect(d).toBeInstanceOf(Float32Array);
      expect(d.length).toBe(64 * 48);
      expect(w.depth).toBe(d); // the same view every call
      const before = d.slice();
      const a = new Float32Array(worldActionSpace().channels.length);
      a[0] = 1;
      a[2] = 0.5;
      w.step(a);
      expect(d).not.toEqual(before);
      expect(d.every((z) => z > 0)).toBe(true);
    } finally {
      w.close();
    }
  });
});

describe('PointCache', () => {
  it('renders an inserted frame back at its pose and stays under its cap', () => {
    const w = new World(5, { width: 48, height: 32 });
    const fine = new PointCache({ voxel: 1e-4 });
    const capped = new PointCache({ maxPoints: 3000, policy: 'closest' });
    try {
      fine.insert(w.camera(), w.rgb, w.depth);
      const v = fine.render(w.camera());
      for (let p = 0; p < 48 * 32; p++) {
        if (!Number.isFinite(w.depth[p]!) || w.depth[p]! > 16) continue;
        expect(v.mask[p]).toBe(255);
        expect([...v.rgb.subarray(p * 3, p * 3 + 3)]).toEqual([...w.rgb.subarray(p * 3, p * 3 + 3)]);
      }
      const s = scoreView(v, w.rgb, w.depth);
      expect(s.validSurface).toBe(1);
      expect(s.depthAgree).toBe(1);
      const a = new Float32Array(worldActionSpace().channels.length);
      a[2] = 1;
      for (let t = 0; t < 30; t++) {
        capped.insert(w.camera(), w.rgb, w.depth);
        expect(capped.size).toBeLessThanOrEqual(3000);
        w.step(a);
      }
      expect(capped.evicted).toBeGreaterThan(0);
    } finally {
      w.close();
      fine.close();
      capped.close();
    }
  });

  it("policy 'first' keeps the first observation; 'newest' takes the second", () => {
    const w = new World(5, { width: 48, height: 32 });
    const first = new PointCache({ voxel: 1e-4, policy: 'first' });
    const newest = new PointCache({ voxel: 1e-4, policy: 'newest' });
    try {
      const inverted = w.rgb.map((v) => 255 - v);
      for (const c of [first, newest]) {
        c.insert(w.camera(), w.rgb, w.depth);
        c.insert(w.camera(), inverted, w.depth);
      }
      const f = first.render(w.camera());
      const n = newest.render(w.camera());
      let checked = 0;
      for (let p = 0; p < 48 * 32; p++) {
        if (f.mask[p] !== 255) continue;
        expect([...f.rgb.subarray(p * 3, p * 3 + 3)]).toEqual([...w.rgb.subarray(p * 3, p * 3 + 3)]);
        expect([...n.rgb.subarray(p * 3, p * 3 + 3)]).toEqual([...inverted.subarray(p * 3, p * 3 + 3)]);
        checked++;
      }
      expect(checked).toBeGreaterThan(100);
      expect(() => new PointCache({ policy: 'oldest' as 'first' })).toThrow(InvalidArgumentError);
    } finally {
      w.close();
      first.close();
      newest.close();
    }
  });

  it('snapshots and restores bit-identically; refuses corrupted bytes', () => {
    const w = new World(7, { width: 48, height: 32 });
    const a = new PointCache({ policy: 'closest' });
    const b = new PointCache();
    try {
      const act = new Float32Array(worldActionSpace().channels.length);
      act[0] = 1;
      act[2] = 0.3;
      const cams = [];
      for (let t = 0; t < 20; t++) {
        a.insert(w.camera(), w.rgb, w.depth);
        cams.push(w.camera());
        w.step(act);
      }
      const bytes = a.snapshot();
      b.restore(bytes);
      expect(b.size).toBe(a.size);
      for (const cam of [cams[0]!, cams[12]!, w.camera()]) {
        const va = a.render(cam);
        const vb = b.render(cam);
        expect(Buffer.from(vb.rgb).equals(Buffer.from(va.rgb))).toBe(true);
        expect(Buffer.from(vb.depth.buffer).equals(Buffer.from(va.depth.buffer))).toBe(true);
      }
      expect(Buffer.from(b.snapshot()).equals(Buffer.from(bytes))).toBe(true);
      const bad = bytes.slice();
      bad[bad.length >> 1]! ^= 1;
      expect(() => b.restore(bad)).toThrow(FormatError);
      expect(() => b.restore(bad)).toThrow(/checksum/);
      expect(b.size).toBe(a.size);
    } finally {
      w.close();
      a.close();
      b.close();
    }
  });

  it('names bad settings and arguments', () => {
    expect(() => new PointCache({ voxel: 0 })).toThrow(/voxel/);
    expect(() => new PointCache({ policy: 'oldest' as 'newest' })).toThrow(InvalidArgumentError);
    expect(() => new PointCache({ maxPoints: 0.5 })).toThrow(/maxPoints/);
    const c = new PointCache();
    const w = new World(1, { width: 32, height: 32 });
    try {
      expect(() => c.insert(w.camera(), w.rgb.subarray(1), w.depth)).toThrow(/rgb holds/);
      expect(() => c.insert({ ...w.camera(), fx: Number.NaN }, w.rgb, w.depth)).toThrow(/fx and fy/);
      expect(() => c.insert({ ...w.camera(), worldToCamera: new Float32Array(3) }, w.rgb, w.depth)).toThrow(/worldToCamera/);
      c.close();
      expect(() => c.size).toThrow(/closed/);
    } finally {
      w.close();
    }
  });
});

describe('worldloop eval cache-oracle', () => {
  it('scores the loops at each horizon and writes the JSON and the sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wl-cache-oracle-'));
    const r = await cli(['eval', 'cache-oracle', '--seeds', '3', '--away', '12', '--horizons', '1,4', '--size', '48x32', '--out', out]);
    expect(r.code).toBe(0);
    const line = r.text.split('\n').find((l) => l.startsWith('{"eval":"cache-oracle"'));
    expect(line).toBeDefined();
    const rep = JSON.parse(line!);
    expect(rep.seeds).toBeGreaterThan(0);
    expect(rep.away_frames).toBe(12);
    for (const h of ['h1', 'h4']) {
      for (const part of [rep.frames, rep.return_frame]) {
        expect(part[h].valid).toBeGreaterThan(0.3);
        expect(part[h].valid).toBeLessThanOrEqual(1);
        expect(part[h].psnr_valid_db).toBeGreaterThan(15);
      }
    }
    expect(rep.per_seed).toHaveLength(rep.seeds);
    expect(readFileSync(join(out, 'cache_oracle.json'), 'utf8').trim()).toBe(line);
    const sheet = decodePng(readFileSync(join(out, 'cache_oracle_sheet.png')));
    expect(sheet.width).toBeGreaterThan(48 * 5);
  });

  it('explains itself and names bad flags', async () => {
    const help = await cli(['eval', 'cache-oracle', '--help']);
    expect(help.code).toBe(0);
    expect(help.text).toMatch(/--horizons LIST/);
    const bad = await cli(['eval', 'cache-oracle', '--horizons', '1,x']);
    expect(bad.code).not.toBe(0);
    expect(bad.text).toMatch(/--horizons must be a comma-separated list of integers/);
    const pol = await cli(['eval', 'cache-oracle', '--policy', 'oldest']);
    expect(pol.code).not.toBe(0);
    expect(pol.text).toMatch(/policy/);
  });
});
