import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, InvalidArgumentError, loadModel, ModelWorld, WorldloopError } from '../src/index.js';
import type { MemoryInput } from '../src/index.js';
import { runCli } from './helpers/cli.js';

const FIX = join(__dirname, '..', 'native', 'tests', 'fixtures');
const TINY = join(FIX, 'tiny_model.safetensors');

/** Test-only safetensors reader for the golden fixtures (F32 / I64 tensors). */
function readFixture(path: string): Record<string, { shape: number[]; data: Float32Array | BigInt64Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const out: Record<string, { shape: number[]; data: Float32Array | BigInt64Array }> = {};
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const bytes = buf.subarray(base + v.data_offsets[0], base + v.data_offsets[1]);
    const copy = new Uint8Array(bytes).buffer;
    out[k] = { shape: v.shape, data: v.dtype === 'I64' ? new BigInt64Array(copy) : new Float32Array(copy) };
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('Model (TypeScript API over the C++ engine)', () => {
  it('reports manifest, dims, params, memory and load time', async () => {
    const m = await loadModel(TINY, { threads: 1 });
    expect(m.dims.context).toBe(2);
    expect(m.dims.frameWidth).toBe(32);
    expect(m.info.manifest.format).toBe('worldloop-model');
    expect(m.info.params.denoiser).toBeGreaterThan(1000);
    expect(m.info.memoryBytes).toBeGreaterThan(0);
    expect(m.info.loadMs).toBeGreaterThanOrEqual(0);
    expect(m.actionSpace.channels.map((c) => c.name)).toEqual(m.info.manifest.actions.names);
    await m.close();
  });

  it('runs a copy-then-correct model (denoiser.predicts "residual") as PyTorch does, and info says so', async () => {
    const path = join(FIX, 'tiny_residual_model.safetensors');
    const m = await loadModel(path, { threads: 2, maxBatch: 2 });
    try {
      expect(m.info.manifest.denoiser?.predicts).toBe('residual');
      const g = readFixture(join(FIX, 'golden_residual.safetensors'));
      const noise0 = g.input_noise!.data as Float32Array;
      for (const steps of [1, 2]) {
        // The API takes the documented [steps+1, B, C, h, w] block; Euler reads only block 0.
        const noise = new Float32Array((steps + 1) * noise0.length);
        noise.set(noise0);
        const z = await m.sampleWithNoise({
          batch: 2,
          steps,
          contextLatents: g.input_context!.data as Float32Array,
          contextActions: g.input_actions!.data as Float32Array,
          noise,
        });
        expect(maxAbsDiff(z, g[`expected_sample_${steps}`]!.data as Float32Array)).toBeLessThanOrEqual(1e-3);
      }
    } finally {
      await m.close();
    }
    const r = await runCli(['info', path]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/predicts the change from the newest context latent/);
    const plain = await runCli(['info', TINY]);
    expect(plain.text).not.toMatch(/copy-then-correct/);
  });

  it('matches the PyTorch golden for a 2-step sampled frame and a decode (max abs err <= 1e-3)', async () => {
    const m = await loadModel(TINY, { threads: 2, maxBatch: 2 });
    const g = readFixture(join(FIX, 'golden_sample.safetensors'));
    const steps = Number((g.input_steps!.data as BigInt64Array)[0]);
    const z = await m.sampleWithNoise({
      batch: 2,
      steps,
      contextLatents: g.input_context!.data as Float32Array,
      contextActions: g.input_actions!.data as Float32Array,
      noise: g.input_noise!.data as Float32Array,
    });
    expect(maxAbsDiff(z, g.expected!.data as Float32Array)).toBeLessThanOrEqual(1e-3);

    const d = readFixture(join(FIX, 'golden_decode.safetensors'));
    const rgb = await m.decode(d.input_latent!.data as Float32Array, 2);
    const exp = d.expected!.data as Float32Array;
    const [H, W] = [m.dims.frameHeight, m.dims.frameWidth];
    // RGB8 is the expected float image converted the documented way: clamp(round((x+1)*127.5)).
    let worst = 0;
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < H * W; p++) {
          const want = Math.min(255, Math.max(0, Math.round((exp[(b * 3 + c) * H * W + p]! + 1) * 127.5)));
          worst = Math.max(worst, Math.abs(rgb[(b * H * W + p) * 3 + c]! - want));
        }
    expect(worst).toBeLessThanOrEqual(1); // 1e-3 in float can flip a rounding boundary
    await m.close();
  });

  it('is deterministic per (seed, frame) and different across seeds', async () => {
    const m = await loadModel(TINY, { threads: 1 });
    const K = m.dims.context;
    const ctx = new Float32Array(K * m.latentSize).map((_, i) => Math.sin(i));
    const act = new Float32Array(K * m.dims.actionDim).fill(0.5);
    const run = async (seed: bigint, frame: bigint) =>
      (await m.sample({ contextLatents: ctx, contextActions: act, seeds: BigUint64Array.of(seed), frames: BigUint64Array.of(frame) })).slice();
    const a = await run(7n, 3n);
    const b = await run(7n, 3n);
    const c = await run(8n, 3n);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    await m.close();
  });

  it('serialises concurrent calls and returns preallocated views', async () => {
    const m = await loadModel(TINY, { threads: 1 });
    const z = new Float32Array(m.latentSize);
    const [r1, r2] = await Promise.all([m.decode(z), m.decode(z)]);
    expect(r1.buffer).toBe(r2.buffer); // same preallocated buffer, no per-call allocation
    await m.close();
  });

  it('gives typed, specific errors for bad files and bad arguments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-model-'));
    await expect(loadModel(join(dir, 'missing.safetensors'))).rejects.toMatchObject({ code: 'WL_IO' });
    const bad = join(dir, 'bad.safetensors');
    const good = readFileSync(TINY);
    writeFileSync(bad, good.subarray(0, good.length - 100)); // truncated
    const err = await loadModel(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as Error).message).toMatch(/bad\.safetensors/);
    await expect(loadModel(TINY, { backend: 'gpu' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(loadModel(TINY, { maxBatch: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);

    const m = await loadModel(TINY, { threads: 1 });
    expect(() => m.decode(new Float32Array(m.latentSize), 2)).toThrow(InvalidArgumentError);
    await expect(m.decode(new Float32Array(3))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(m.decode(new Float32Array(3))).rejects.toBeInstanceOf(WorldloopError);
    await m.close();
    await expect(m.decode(new Float32Array(m.latentSize))).rejects.toThrow(/closed/);
  });
});

describe('Model.step (one native call per frame)', () => {
  it('equals sample() then decode() of its output, bit for bit, with and without memory', async () => {
    for (const [file, withMemory] of [['tiny_model.safetensors', false], ['tiny_memory_model.safetensors', true]] as const) {
      const m = await loadModel(join(FIX, file), { threads: 2, maxBatch: 2 });
      const B = 2;
      const K = m.dims.context;
      const M = m.dims.memorySlots;
      const ctx = new Float32Array(B * K * m.latentSize).map((_, i) => 0.5 * Math.sin(i * 0.37));
      const act = new Float32Array(B * K * m.dims.actionDim).map((_, i) => Math.cos(i));
      const memory: MemoryInput | undefined = withMemory
        ? {
            latents: new Float32Array(B * M * m.latentSize).map((_, i) => Math.sin(i * 0.7)),
            poses: new Float32Array(B * M * m.dims.memoryPoseDim).map((_, i) => 0.1 * (i + 1)),
            mask: new Float32Array(B * M).map((_, i) => (i % 2 ? 1 : 0)),
          }
        : undefined;
      const input = {
        contextLatents: ctx, contextActions: act, batch: B, steps: 3,
        seeds: BigUint64Array.of(5n, 9n), frames: BigUint64Array.of(1n, 2n),
        ...(memory ? { memory } : {}),
      };
      const zRef = (await m.sample(input)).slice();
      const rgbRef = (await m.decode(zRef, B)).slice();
      for (const timings of [true, false]) {
        const { latent, rgb } = await m.step({ ...input, timings });
        expect(latent.length).toBe(zRef.length);
        expect(Buffer.from(latent.buffer, latent.byteOffset, latent.byteLength).equals(
          Buffer.from(zRef.buffer, zRef.byteOffset, zRef.byteLength))).toBe(true);
        expect(Buffer.from(rgb).equals(Buffer.from(rgbRef))).toBe(true);
        const ms = m.lastStepMs(3);
        if (timings) {
          expect(ms.every((v) => v >= 0)).toBe(true);
          expect(m.lastDecodeMs(3)).toBeGreaterThanOrEqual(0);
        } else {
          expect(ms.every((v) => Number.isNaN(v))).toBe(true);
        }
      }
      // Views on the same preallocated buffers sample() and decode() use.
      const a = await m.step(input);
      const z = await m.sample(input);
      expect(a.latent.buffer).toBe(z.buffer);
      expect(() => m.step({ ...input, steps: 9 })).toThrow(InvalidArgumentError);
      await m.close();
    }
  });

  it('drives ModelWorld: the same frames as sampling and decoding separately, with stage times', async () => {
    const model = await loadModel(TINY, { threads: 1 });
    const { context: K, frameWidth: W, frameHeight: H, actionDim: A } = model.dims;
    const L = model.latentSize;
    const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 37 + j * 3) & 255));
    const actions = Array.from({ length: 6 }, (_, f) => new Float32Array(A).map((_, c) => Math.sin(f + c)));

    // The world as two calls per frame (what ModelWorld did before Model.step).
    const ctxL = new Float32Array(K * L);
    const ctxA = new Float32Array(K * A);
    for (const [i, f] of (await opening()).entries()) ctxL.set(await model.encode(f), i * L);
    const want: Uint8Array[] = [];
    for (const [f, a] of actions.entries()) {
      ctxA.copyWithin(0, A);
      ctxA.set(a, (K - 1) * A);
      const z = await model.sample({
        contextLatents: ctxL, contextActions: ctxA, steps: 2,
        seeds: BigUint64Array.of(4n), frames: BigUint64Array.of(BigInt(f + 1)),
      });
      ctxL.copyWithin(0, L);
      ctxL.set(z, (K - 1) * L);
      want.push((await model.decode(ctxL.subarray((K - 1) * L))).slice());
    }

    for (const stepTimings of [true, false]) {
      const w = new ModelWorld(model, { seed: 4, steps: 2, opening, stepTimings });
      await w.reset();
      for (const [f, a] of actions.entries()) {
        const { frame, stages } = await w.step(a);
        expect(frame.index).toBe(f + 1);
        expect(Buffer.from(frame.rgb).equals(Buffer.from(want[f]!))).toBe(true);
        if (stepTimings) {
          expect(Object.keys(stages).sort()).toEqual(['decode', 'denoise0', 'denoise1', 'sample']);
          for (const v of Object.values(stages)) expect(v).toBeGreaterThanOrEqual(0);
        } else {
          expect(Object.keys(stages)).toEqual(['model_step']);
        }
      }
    }
    await model.close();
  });
});
