// The page's model (src/web/web_model.ts on the plain JS backend) against the native engine on the
// same files: denoise, sample (same seed, frame and steps), decode and encode.
// Tolerances: max abs error <= 1e-3 on latents (and on the decoder's f32 output), <= 1 on RGB bytes
// (a value within 1e-3 of a rounding boundary may round the other way).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/native.js';
import type { NativeModel } from '../../src/addon_types.js';
import { JsBackend } from '../../src/web/js_backend.js';
import { ModelFileError } from '../../src/web/model_file.js';
import { WebModel } from '../../src/web/web_model.js';
import { dropTensor, readRaw, reshapeTensor, writeRaw } from './model_file_edit.js';

const ROOT = join(__dirname, '..', '..');
const FIX = join(ROOT, 'native', 'tests', 'fixtures');
const LATENT_TOL = 1e-3;
const RGB_TOL = 1;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Deterministic pseudo-random floats in [-amp, amp) (a tiny LCG; only reproducibility matters). */
function randomFloats(n: number, seed: number, amp = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * amp;
  }
  return out;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const f = randomFloats(n, seed);
  return Uint8Array.from(f, (v) => Math.floor((v + 1) * 127.99));
}

interface Pair {
  web: WebModel;
  native: NativeModel;
}

async function loadPair(path: string): Promise<Pair> {
  const web = await WebModel.load(readFileSync(path), new JsBackend(), { name: path });
  const native = await addon().loadModel(path, 0, 1, 1);
  return { web, native };
}

function inputs(web: WebModel, seed: number) {
  const d = web.dims;
  const latent = d.latentChannels * d.latentHeight * d.latentWidth;
  const context = randomFloats(d.context * latent, seed, 1.5);
  // Actions inside each channel's range.
  const actions = randomFloats(d.context * d.actionDim, seed + 1).map((v, i) => {
    const a = i % d.actionDim;
    const lo = web.manifest.actions.min[a] as number;
    const hi = web.manifest.actions.max[a] as number;
    return lo + ((v + 1) / 2) * (hi - lo);
  });
  return { latent, context, actions };
}

async function compareAll(path: string, steps: number[]): Promise<Record<string, number>> {
  const { web, native } = await loadPair(path);
  const errs: Record<string, number> = {};
  try {
    const d = web.dims;
    const { latent, context, actions } = inputs(web, 7);

    const noisy = randomFloats(latent, 11, 2);
    for (const sigma of [0.05, 0.7, 4.0]) {
      const want = new Float32Array(latent);
      await native.denoise(1, noisy, Float32Array.of(sigma), context, actions, want);
      const got = await web.denoise(noisy, sigma, context, actions);
      errs[`denoise sigma=${sigma}`] = maxAbsDiff(got, want);
    }

    for (const s of steps) {
      const want = new Float32Array(latent);
      await native.sample(1, context, actions, BigUint64Array.of(1234n), BigUint64Array.of(56n), s, want, undefined);
      const got = await web.sample(context, actions, 1234n, 56n, s);
      errs[`sample steps=${s}`] = maxAbsDiff(got, want);
    }

    const z = randomFloats(latent, 21, 1);
    const frame = d.frameHeight * d.frameWidth * 3;
    const wantRgb = new Uint8Array(frame);
    await native.decode(1, z, wantRgb);
    errs['decode rgb'] = maxAbsDiff(await web.decode(z), wantRgb);
    const wantF = new Float32Array(frame);
    await native.decodeF32(1, z, wantF);
    errs['decode f32'] = maxAbsDiff(await web.decodeF32(z), wantF);

    const rgb = randomBytes(frame, 31);
    const wantZ = new Float32Array(latent);
    await native.encode(1, rgb, wantZ);
    errs['encode'] = maxAbsDiff(await web.encode(rgb), wantZ);

    // step() is sample() then decode() of its output.
    const st = await web.step(context, actions, 99n, 2n ** 40n + 3n);
    const wantStepZ = new Float32Array(latent);
    const wantStepRgb = new Uint8Array(frame);
    await native.step(1, context, actions, BigUint64Array.of(99n), BigUint64Array.of(2n ** 40n + 3n), 0, wantStepZ, wantStepRgb, undefined);
    errs['step latent'] = maxAbsDiff(st.latent, wantStepZ);
    errs['step rgb'] = maxAbsDiff(st.rgb, wantStepRgb);
    expect(st.stageMs).toHaveLength(d.defaultSteps + 1);
    const untimed = await web.step(context, actions, 99n, 2n ** 40n + 3n, undefined, false);
    expect(untimed.stageMs).toHaveLength(1);
    expect(Array.from(untimed.latent)).toEqual(Array.from(st.latent));
  } finally {
    web.destroy();
    native.close();
  }
  return errs;
}

function expectWithin(errs: Record<string, number>): void {
  console.log(Object.entries(errs).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('; '));
  for (const [what, err] of Object.entries(errs)) {
    const tol = what.endsWith('rgb') ? RGB_TOL : LATENT_TOL;
    expect(err, `${what}: max abs error ${err}`).toBeLessThanOrEqual(tol);
  }
}

describe('WebModel on the JS backend matches the native engine', () => {
  it('tiny_model: denoise, sample, decode, encode, step', async () => {
    const errs = await compareAll(join(FIX, 'tiny_model.safetensors'), [1, 2, 3]);
    expectWithin(errs);
  });

  it('tiny_residual_model (copy-then-correct sampler)', async () => {
    const errs = await compareAll(join(FIX, 'tiny_residual_model.safetensors'), [1, 2]);
    expectWithin(errs);
  });

  it('tiny_memory_model with memory absent (zero views, mask 0)', async () => {
    const errs = await compareAll(join(FIX, 'tiny_memory_model.safetensors'), [2]);
    expectWithin(errs);
  });

  it('models/default.safetensors: one frame (sample + decode) and one denoise', async () => {
    const path = join(ROOT, 'models', 'default.safetensors');
    const { web, native } = await loadPair(path);
    try {
      expect(web.dims.memorySlots).toBe(native.dims().memorySlots);
      expect(web.info.unusedTensors).toEqual([]);
      const { latent, context, actions } = inputs(web, 3);
      const t0 = performance.now();
      const got = await web.step(context, actions, 5n, 17n);
      const ms = performance.now() - t0;
      const wantZ = new Float32Array(latent);
      const wantRgb = new Uint8Array(web.dims.frameHeight * web.dims.frameWidth * 3);
      await native.step(1, context, actions, BigUint64Array.of(5n), BigUint64Array.of(17n), 0, wantZ, wantRgb, undefined);
      const noisy = randomFloats(latent, 5, 1);
      const wantD = new Float32Array(latent);
      await native.denoise(1, noisy, Float32Array.of(0.3), context, actions, wantD);
      const errD = maxAbsDiff(await web.denoise(noisy, 0.3, context, actions), wantD);
      expect(errD).toBeLessThanOrEqual(LATENT_TOL);
      const errZ = maxAbsDiff(got.latent, wantZ);
      const errRgb = maxAbsDiff(got.rgb, wantRgb);
      console.log(`default model on the JS backend: step ${ms.toFixed(0)} ms (stages ${got.stageMs.map((v) => v.toFixed(0)).join(', ')} ms); ` +
        `max abs error latent ${errZ.toExponential(2)}, rgb ${errRgb}, denoise ${errD.toExponential(2)}`);
      expect(errZ).toBeLessThanOrEqual(LATENT_TOL);
      expect(errRgb).toBeLessThanOrEqual(RGB_TOL);
    } finally {
      web.destroy();
      native.close();
    }
  });
});

describe('WebModel arguments and files', () => {
  it('rejects wrong lengths, non-finite values, bad sigma and steps, naming the argument', async () => {
    const web = await WebModel.load(readFileSync(join(FIX, 'tiny_model.safetensors')), new JsBackend());
    try {
      const { latent, context, actions } = inputs(web, 1);
      expect(() => web.denoise(new Float32Array(latent - 1), 1, context, actions)).toThrow(/noisy: expected 64 values, got 63/);
      expect(() => web.denoise(new Float32Array(latent), 0, context, actions)).toThrow(/sigma: must be finite and > 0/);
      const bad = context.slice();
      bad[5] = NaN;
      expect(() => web.sample(bad, actions, 0n, 0n)).toThrow(/context_latents\[5\] is not finite/);
      expect(() => web.sample(context, actions, 0n, 0n, 9)).toThrow(/steps: 9 is outside/);
      expect(() => web.sample(context, actions, -1n, 0n)).toThrow(/seed: -1 is outside the u64 range/);
      expect(() => web.decode(new Float32Array(3))).toThrow(/latent: expected 64 values/);
    } finally {
      web.destroy();
    }
    await expect(web.decode(new Float32Array(64))).rejects.toThrow(/after destroy/);
  });

  it('requests exactly the engine\'s tensors: same parameter counts, same unused (extra) tensors', async () => {
    for (const file of ['tiny_model.safetensors', 'tiny_memory_model.safetensors']) {
      const raw = readRaw(readFileSync(join(FIX, file)));
      raw.tensors.push({ name: 'extra.weight', dtype: 'F32', shape: [2], data: new Uint8Array(8) });
      const path = join(mkdtempSync(join(tmpdir(), 'wl-web-model-')), file);
      writeFileSync(path, writeRaw(raw));
      const { web, native } = await loadPair(path);
      try {
        const info = JSON.parse(native.info()) as { params: Record<string, number>; unused_tensors: string[] };
        expect(web.info.params).toEqual(info.params);
        expect(web.info.unusedTensors).toEqual(info.unused_tensors);
        expect(web.info.unusedTensors).toEqual(['extra.weight']);
      } finally {
        web.destroy();
        native.close();
      }
    }
  });

  it('refuses weights holding NaN/Inf unless allowed, and names a non-finite output', async () => {
    const raw = readRaw(readFileSync(join(FIX, 'tiny_model.safetensors')));
    const t = raw.tensors.find((x) => x.name === 'autoencoder.encoder.conv_out.bias')!;
    expect(t.dtype).toBe('BF16');
    t.data[0] = 0xc0; // BF16 0x7fc0: NaN
    t.data[1] = 0x7f;
    const bytes = writeRaw(raw);
    const err = await WebModel.load(bytes, new JsBackend(), { name: 'nan.safetensors' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect(String(err)).toMatch(/nan\.safetensors: 1 tensor holds non-finite weights \(autoencoder\.encoder\.conv_out\.bias: 1 NaN, 0 Inf\)/);
    const web = await WebModel.load(bytes, new JsBackend(), { name: 'nan.safetensors', allowNonFiniteWeights: true });
    try {
      expect(web.info.nanWeights).toEqual(['autoencoder.encoder.conv_out.bias: 1 NaN, 0 Inf']);
      await expect(web.encode(new Uint8Array(32 * 32 * 3))).rejects.toThrow(
        /nan\.safetensors: latent \(encoded\)\[0\] is not finite: the model's weights give non-finite outputs/);
    } finally {
      web.destroy();
    }
  });

  it('a missing or mis-shaped tensor fails the load naming it', async () => {
    
    const bytes = readFileSync(join(FIX, 'tiny_model.safetensors'));
    const missing = dropTensor(bytes, 'denoiser.up.0.blocks.1.conv2.bias');
    const e1 = await WebModel.load(missing, new JsBackend(), { name: 'm.safetensors' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ModelFileError);
    expect(String(e1)).toMatch(/m\.safetensors: missing tensor "denoiser\.up\.0\.blocks\.1\.conv2\.bias" \(expected shape \[8\]\)/);

    const reshaped = reshapeTensor(bytes, 'autoencoder.decoder.conv_out.weight', [3, 8, 9]);
    const e2 = await WebModel.load(reshaped, new JsBackend(), { name: 'm.safetensors' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ModelFileError);
    expect(String(e2)).toMatch(/tensor "autoencoder\.decoder\.conv_out\.weight" has shape \[3, 8, 9\], the manifest implies \[3, 8, 3, 3\]/);
  });
});
