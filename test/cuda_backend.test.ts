// The CUDA backend through the TypeScript API: on a machine with a usable GPU, the tiny fixture
// model sampled and decoded on CUDA matches the CPU backend (same Philox noise per world); without
// one, `backend: 'cuda'` is a typed WL_UNSUPPORTED error naming the reason and `backend: 'auto'`
// loads on the CPU. (The exhaustive op and golden checks are the C++ binaries test_cuda_ops and
// test_cuda_model, which need no Node.)
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, type Model } from '../src/model.js';
import { projectRoot } from '../src/native.js';
import { WorldloopError } from '../src/errors.js';

const TINY = join(projectRoot(), 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

async function tryCuda(): Promise<{ model?: Model; reason?: string }> {
  try {
    return { model: await loadModel(TINY, { backend: 'cuda', maxBatch: 4 }) };
  } catch (err) {
    if (err instanceof WorldloopError && err.code === 'WL_UNSUPPORTED') {
      return { reason: err.message };
    }
    throw err;
  }
}

// Normalised max error: max|a - b| / max|a|; NaN/Inf count as failure.
function normErr(want: Float32Array, got: Float32Array): number {
  let mx = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    mx = Math.max(mx, Math.abs(want[i]));
    err = Math.max(err, Math.abs(want[i] - got[i]));
  }
  return err / Math.max(1e-6, mx);
}

describe('CUDA backend via the TypeScript API', () => {
  it('matches the CPU backend on a GPU, or fails clearly without one', async (ctx) => {
    const cuda = await tryCuda();
    if (!cuda.model) {
      expect(cuda.reason).toMatch(/CUDA/);
      const auto = await loadModel(TINY, { backend: 'auto' });
      expect(auto.info.backend).toBe('cpu');
      await auto.close();
      ctx.skip(`no usable CUDA device: ${cuda.reason}`);
      return;
    }
    const gpu = cuda.model;
    const cpu = await loadModel(TINY, { backend: 'cpu', maxBatch: 4 });
    expect(gpu.info.backend).toBe('cuda');
    const d = gpu.dims;
    const B = 4;
    const lat = d.latentChannels * d.latentHeight * d.latentWidth;
    const ctxLat = new Float32Array(B * d.context * lat).map((_, i) => 0.4 * Math.sin(i * 0.37));
    const ctxAct = new Float32Array(B * d.context * d.actionDim).map((_, i) => Math.cos(i));
    const seeds = new BigUint64Array([1n, 2n, 3n, 4n]);
    const frames = new BigUint64Array([10n, 11n, 12n, 13n]);
    const input = { contextLatents: ctxLat, contextActions: ctxAct, batch: B, seeds, frames };
    const a = Float32Array.from(await cpu.sample(input));
    const b = Float32Array.from(await gpu.sample(input));
    // bf16 convolutions by default: tolerance as in test_cuda_model.cc (5e-2 normalised).
    expect(normErr(a, b)).toBeLessThan(5e-2);
    const rgbCpu = Uint8Array.from(await cpu.decode(a, B));
    const rgbGpu = await gpu.decode(a, B);
    let sum = 0;
    for (let i = 0; i < rgbCpu.length; i++) sum += Math.abs(rgbCpu[i] - rgbGpu[i]);
    expect(sum / rgbCpu.length).toBeLessThan(1.5);
    await cpu.close();
    await gpu.close();
  });
});
