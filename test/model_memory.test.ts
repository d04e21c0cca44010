import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, loadModel, memoryPoseFeatures, WorldloopError } from '../src/index.js';

const FIX = join(__dirname, '..', 'native', 'tests', 'fixtures');
const GOLDEN = join(FIX, 'golden_memory.safetensors');

type Tensor = { shape: number[]; data: Float32Array | Float64Array | BigInt64Array | BigUint64Array };

/** Test-only reader for the golden fixture (F32 / F64 / I64 / U64 tensors) and its metadata. */
function readFixture(path: string): { tensors: Record<string, Tensor>; meta: Record<string, string> } {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const copy = new Uint8Array(buf.subarray(base + t.data_offsets[0], base + t.data_offsets[1])).buffer;
    const data =
      t.dtype === 'F64' ? new Float64Array(copy)
        : t.dtype === 'I64' ? new BigInt64Array(copy)
          : t.dtype === 'U64' ? new BigUint64Array(copy)
            : new Float32Array(copy);
    tensors[k] = { shape: t.shape, data };
  }
  return { tensors, meta: (header.__metadata__ ?? {}) as Record<string, string> };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('memory-enabled model (TypeScript API)', () => {
  const { tensors: g, meta } = readFixture(GOLDEN);
  const f32 = (k: string) => g[k]!.data as Float32Array;
  const memory = { latents: f32('input_memory'), poses: f32('input_memory_poses'), mask: f32('input_memory_mask') };

  it('reports its memory slots and matches the PyTorch goldens with memory', async () => {
    const m = await loadModel(join(FIX, meta.model!), { threads: 1, maxBatch: 2 });
    expect(m.dims.memorySlots).toBe(3);
    expect(m.dims.memoryPoseDim).toBe(5);
    const steps = Number((g.input_steps!.data as BigInt64Array)[0]);
    const common = { batch: 2, steps, contextLatents: f32('input_context'), contextActions: f32('input_actions') };
    const z = await m.sampleWithNoise({ ...common, noise: f32('input_noise'), memory });
    expect(maxAbsDiff(z, f32('expected_sample'))).toBeLessThanOrEqual(1e-3);
    const seeds = g.input_seeds!.data as BigUint64Array;
    const frames = g.input_frames!.data as BigUint64Array;
    const zp = await m.sample({ ...common, seeds, frames, memory });
    expect(maxAbsDiff(zp, f32('expected_sample_philox'))).toBeLessThanOrEqual(1e-3);
    // Without memory the same model gives something else (the memory is used).
    const z0 = await m.sample({ ...common, seeds, frames });
    expect(maxAbsDiff(z0, f32('expected_sample_philox'))).toBeGreaterThan(1e-2);
    // A bad mask is a typed error naming the slot.
    const bad = { ...memory, mask: memory.mask.slice() };
    bad.mask[1] = 0.5;
    await expect(m.sample({ ...common, seeds, frames, memory: bad })).rejects.toThrow(/memory\.mask\[0\]\[1\]/);
    await m.close();
  });

  it('refuses memory on a model without memory slots', async () => {
    const m = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    expect(m.dims.memorySlots).toBe(0);
    const K = m.dims.context;
    expect(() =>
      m.sample({
        contextLatents: new Float32Array(K * m.latentSize),
        contextActions: new Float32Array(K * m.dims.actionDim),
        memory,
      }),
    ).toThrow(InvalidArgumentError);
    await m.close();
  });

  it('computes the same pose features as train/modules.py', () => {
    const cur = g.input_pose_current!.data as Float64Array; // [B, 3]
    const views = g.input_pose_views!.data as Float64Array; // [B, M, 3]
    const ages = g.input_pose_ages!.data as Float64Array; // [B, M]
    const [B, M, P] = g.input_memory_poses!.shape as [number, number, number];
    const want = f32('input_memory_poses');
    const out = new Float32Array(B * M * P);
    let checked = 0;
    for (let b = 0; b < B; b++)
      for (let s = 0; s < M; s++) {
        const i = b * M + s;
        if (memory.mask[i] === 0) continue; // absent slots hold NaN in the fixture
        memoryPoseFeatures(
          { x: cur[b * 3]!, y: cur[b * 3 + 1]!, yaw: cur[b * 3 + 2]! },
          { x: views[i * 3]!, y: views[i * 3 + 1]!, yaw: views[i * 3 + 2]! },
          ages[i]!, P, out, i * P,
        );
        for (let p = 0; p < P; p++) expect(Math.abs(out[i * P + p]! - want[i * P + p]!)).toBeLessThanOrEqual(1e-5);
        checked++;
      }
    expect(checked).toBeGreaterThan(0);
    expect(() => memoryPoseFeatures({ x: 0, y: 0, yaw: NaN }, { x: 0, y: 0, yaw: 0 }, 0, 5)).toThrow(WorldloopError);
  });
});
