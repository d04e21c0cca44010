import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, ModelWorld } from '../src/index.js';
import type { MemoryInput } from '../src/index.js';

const FIX = join(__dirname, '..', 'native', 'tests', 'fixtures');

describe('ModelWorld with memory views', () => {
  it('passes the provider\'s views for the frame being generated into the denoiser', async () => {
    const model = await loadModel(join(FIX, 'tiny_memory_model.safetensors'), { threads: 1 });
    const { memorySlots: M, memoryPoseDim: P, frameWidth: W, frameHeight: H, context: K } = model.dims;
    expect(M).toBeGreaterThan(0);
    const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 31 + j) & 255));
    const action = new Float32Array(model.dims.actionDim);

    const run = async (provider?: (t: number) => MemoryInput | undefined) => {
      const w = new ModelWorld(model, { seed: 3, opening });
      w.setMemoryProvider(provider);
      await w.reset();
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 3; i++) frames.push((await w.step(action)).frame.rgb.slice());
      return frames;
    };

    const targets: number[] = [];
    const views: MemoryInput = {
      latents: new Float32Array(M * model.latentSize).map((_, i) => Math.sin(i * 0.7)),
      poses: new Float32Array(M * P).map((_, i) => 0.1 * (i + 1)),
      mask: new Float32Array(M).fill(1),
    };
    const without = await run();
    const absent = await run(() => ({ ...views, mask: new Float32Array(M) }));
    const withViews = await run((t) => {
      targets.push(t);
      return views;
    });
    expect(targets).toEqual([1, 2, 3]);
    // All slots absent is exactly "no memory"; present views change the world.
    expect(absent.map((f) => Array.from(f))).toEqual(without.map((f) => Array.from(f)));
    expect(withViews.some((f, i) => f.some((v, j) => v !== without[i]![j]))).toBe(true);
    await model.close();
  });

  it('refuses a provider for a model without memory slots', async () => {
    const model = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    const w = new ModelWorld(model, { opening: async () => [] });
    expect(() => w.setMemoryProvider(() => undefined)).toThrow(/no memory slots/);
    await model.close();
  });
});
