// The WebGPU kernels inside the whole graph: the shipped default model runs one frame in headless
// Chromium (SwiftShader) on the WebGPU backend and on the JS backend (src/web/js_backend.ts, the
// reference that test/web/web_model.test.ts holds to the native engine), same inputs, same page
// (test/web/kernel_model_page.ts). Where kernels.test.ts checks each op alone, this catches what
// only a sequence shows: transfers out of order with recorded ops, in-place ops, arena offsets,
// params blocks reused within one submission.
//
// Bounds: sampled and encoded latents within 1e-3 (max abs), the decoded frame >= 40 dB PSNR
// (the whole-frame target) and no byte more than 2 apart; the untimed run (one submit for
// the frame) gives the timed run's bytes. Measured here: latent 7-8e-7, frames equal to the JS
// backend's or 95 dB (bytes <= 1 apart).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveRoutes, type Route, bundleTestPage } from './chromium.js';
import type { ModelKernelResult } from './kernel_model_page.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'models', 'default.safetensors');

describe('the default model on the WebGPU backend (headless Chromium, SwiftShader)', () => {
  let browser: Browser | null = null;
  let server: { url: string; close: () => Promise<void> } | null = null;

  beforeAll(async () => {
    const bundle = await bundleTestPage('kernel_model_page.ts');
    const routes = new Map<string, Route>([
      ['/', { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>model</title><script type="module" src="/page.js"></script>' }],
      ['/page.js', { type: 'text/javascript', body: bundle }],
      ['/model.safetensors', { type: 'application/octet-stream', body: readFileSync(MODEL) }],
    ]);
    server = await serveRoutes(routes);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('one frame and an encode match the JS backend', async () => {
    const page = await browser!.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(`${server!.url}/`);
    await page.waitForFunction(() => window.modelKernelResult !== undefined || window.modelKernelError !== undefined, null, {
      timeout: 110_000,
    });
    const error = await page.evaluate(() => window.modelKernelError);
    expect(error, `the page failed: ${error}\n${logs.join('\n')}`).toBeUndefined();
    const r = (await page.evaluate(() => window.modelKernelResult)) as ModelKernelResult;
    await page.close();
    expect(r.latentErr).toBeLessThanOrEqual(1e-3);
    expect(r.encodeErr).toBeLessThanOrEqual(1e-3);
    expect(r.psnr).toBeGreaterThanOrEqual(40);
    expect(r.maxByteDiff).toBeLessThanOrEqual(2);
    expect(r.untimedSame).toBe(true);
    console.log(
      `default model on WebGPU (SwiftShader): latent ${r.latentErr.toExponential(1)}, encode ${r.encodeErr.toExponential(1)}, ` +
        `PSNR ${r.psnr.toFixed(1)} dB, bytes <= ${r.maxByteDiff} apart; load ${r.gpuLoadMs.toFixed(0)} ms, ` +
        `frame ${r.gpuFrameMs.toFixed(0)} ms (JS backend ${r.jsFrameMs.toFixed(0)} ms)`,
    );
  });
});
