// src/web/philox.ts must be bit-identical to the engine's Philox noise: against the golden vectors
// train/philox.py wrote (words and normals), and against the native engine itself: sample() with
// (seed, frame) must equal sampleWithNoise() given philoxNormals(seed, frame, 0) bit for bit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/native.js';
import { mulHi32, philoxBlock, philoxNormals } from '../../src/web/philox.js';
import { SafetensorsFile } from '../../src/web/safetensors.js';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'native', 'tests', 'fixtures');

function bits(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

describe('philox', () => {
  it('mulHi32 is the high word of the exact 64-bit product', () => {
    const edge = [0, 1, 2, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd2511f53, 0xcd9e8d57];
    let s = 12345;
    const values = [...edge];
    for (let i = 0; i < 2000; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      values.push(s);
    }
    for (const a of values) {
      for (const b of [0xd2511f53, 0xcd9e8d57, 0xffffffff, a]) {
        const want = Number((BigInt(a) * BigInt(b)) >> 32n);
        expect(mulHi32(a, b)).toBe(want);
      }
    }
  });

  it('words and normals equal the golden vectors from train/philox.py', () => {
    const f = SafetensorsFile.parse(readFileSync(join(FIX, 'golden_philox.safetensors')), { allowed: 'any', name: 'golden_philox' });
    // Copies (new Uint8Array) so each typed view starts at offset 0 of its own buffer.
    const keys = new BigUint64Array(new Uint8Array(f.rawBytes('input_keys')).buffer); // [3, 3]: seed, frame, step
    const words = new Uint32Array(new Uint8Array(f.rawBytes('expected_words')).buffer); // [3, 4 blocks, 4]
    const normals = new Float32Array(new Uint8Array(f.rawBytes('expected_normals')).buffer); // [3, 37]
    expect(f.get('expected_normals').shape).toEqual([3, 37]);
    for (let k = 0; k < 3; k++) {
      const seed = keys[3 * k] as bigint;
      const frame = keys[3 * k + 1] as bigint;
      const step = Number(keys[3 * k + 2]);
      for (let b = 0; b < 4; b++) {
        expect(Array.from(philoxBlock(seed, frame, step, b))).toEqual(Array.from(words.subarray(16 * k + 4 * b, 16 * k + 4 * b + 4)));
      }
      const got = philoxNormals(seed, frame, step, 37);
      expect(Array.from(bits(got))).toEqual(Array.from(bits(normals.slice(37 * k, 37 * k + 37))));
    }
  });

  it('the engine samples with exactly these normals (default model, 2048 per key, high key bits)', async () => {
    const native = await addon().loadModel(join(ROOT, 'models', 'default.safetensors'), 0, 1, 1);
    try {
      const d = native.dims();
      const latent = d.latentChannels * d.latentHeight * d.latentWidth;
      const context = new Float32Array(d.context * latent).fill(0.25);
      const actions = new Float32Array(d.context * d.actionDim);
      const keys: [bigint, bigint][] = [
        [0n, 0n],
        [1n, 123n],
        [0xdeadbeefcafef00dn, 2n ** 32n + 7n],
        [2n ** 64n - 1n, 2n ** 64n - 1n],
      ];
      const steps = 1;
      for (const [seed, frame] of keys) {
        const want = new Float32Array(latent);
        await native.sample(1, context, actions, BigUint64Array.of(seed), BigUint64Array.of(frame), steps, want, undefined);
        const noise = new Float32Array((steps + 1) * latent);
        philoxNormals(seed, frame, 0, latent, noise);
        const got = new Float32Array(latent);
        await native.sampleWithNoise(1, context, actions, steps, noise, got);
        expect(Array.from(bits(got)), `seed ${seed} frame ${frame}`).toEqual(Array.from(bits(want)));
      }
    } finally {
      native.close();
    }
  });

  it('counts that are not a multiple of four take a prefix of the same stream', () => {
    const full = philoxNormals(9n, 10n, 1, 16);
    expect(Array.from(philoxNormals(9n, 10n, 1, 7))).toEqual(Array.from(full.subarray(0, 7)));
    expect(() => philoxNormals(2n ** 64n, 0n, 0, 4)).toThrow(/seed: .* is outside the u64 range/);
  });
});
