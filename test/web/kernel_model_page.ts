// The page of test/web/kernels_model.test.ts (bundled with esbuild): the default model on the
// WebGPU backend and on the plain JS backend (the reference, summing in double like ref::) in
// the same page, on the same inputs: one step (2 denoiser steps + decode), the same step again
// untimed (one submit), and an encode of the decoded frame (the RGB upload path). Results go to
// window.modelKernelResult, a failure to window.modelKernelError.
import { JsBackend } from '../../src/web/js_backend.js';
import { WebModel } from '../../src/web/web_model.js';
import { requestWebGpuBackend } from '../../src/web/webgpu_backend.js';

export interface ModelKernelResult {
  /** max |latent_gpu - latent_js| of the sampled latent, and of the encoded one */
  latentErr: number;
  encodeErr: number;
  /** PSNR (dB) and largest byte difference of the decoded frames */
  psnr: number;
  maxByteDiff: number;
  /** whether the untimed run (one submit) gave the timed run's bytes */
  untimedSame: boolean;
  gpuLoadMs: number;
  gpuFrameMs: number;
  jsFrameMs: number;
}

declare global {
  interface Window {
    modelKernelResult?: ModelKernelResult;
    modelKernelError?: string;
  }
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

async function main(): Promise<void> {
  const bytes = await (await fetch('/model.safetensors')).arrayBuffer();
  const t0 = performance.now();
  const gpu = await WebModel.load(bytes, await requestWebGpuBackend(), { name: 'default.safetensors' });
  const gpuLoadMs = performance.now() - t0;
  const js = await WebModel.load(bytes, new JsBackend(), { name: 'default.safetensors' });
  const d = gpu.dims;
  const context = Float32Array.from(
    { length: d.context * d.latentChannels * d.latentHeight * d.latentWidth },
    (_, i) => Math.fround(Math.sin(i * 0.37)),
  );
  const actions = Float32Array.from({ length: d.context * d.actionDim }, (_, i) => ((i % 3) - 1) * 0.5);
  const g = await gpu.step(context, actions, 7n, 3n);
  const t1 = performance.now();
  const gUntimed = await gpu.step(context, actions, 7n, 3n, undefined, false);
  const gpuFrameMs = performance.now() - t1;
  const t2 = performance.now();
  const j = await js.step(context, actions, 7n, 3n);
  const jsFrameMs = performance.now() - t2;
  const encodeErr = maxAbs(await gpu.encode(j.rgb), await js.encode(j.rgb));
  gpu.destroy();
  js.destroy();

  let se = 0;
  let maxByteDiff = 0;
  for (let i = 0; i < g.rgb.length; i++) {
    const e = g.rgb[i]! - j.rgb[i]!;
    se += e * e;
    maxByteDiff = Math.max(maxByteDiff, Math.abs(e));
  }
  const mse = se / g.rgb.length;
  window.modelKernelResult = {
    latentErr: maxAbs(g.latent, j.latent),
    encodeErr,
    psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse),
    maxByteDiff,
    untimedSame: g.rgb.every((v, i) => v === gUntimed.rgb[i]),
    gpuLoadMs,
    gpuFrameMs,
    jsFrameMs,
  };
}

main().catch((e: unknown) => {
  window.modelKernelError = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
});
