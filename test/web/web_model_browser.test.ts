// The page's model code runs in a real browser: test/web/web_model_page.ts, bundled with esbuild,
// loads tiny_model.safetensors over HTTP in headless Chromium, runs WebModel.step() on the JS
// backend, and must give what the same code gives in Node (same JavaScript engine family: equal
// within 1e-6, in practice bit for bit) and what the native engine gives (<= 1e-3 on the latent,
// <= 1 on RGB bytes). A hostile file must fail there with a ModelFileError naming the problem.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addon } from '../../src/native.js';
import { JsBackend } from '../../src/web/js_backend.js';
import { WebModel } from '../../src/web/web_model.js';
import { launchChromium, serveRoutes, type Route, bundleTestPage } from './chromium.js';
import { dropTensor } from './model_file_edit.js';
import type { PageInputs } from './web_model_page.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('WebModel in headless Chromium', () => {
  let browser: Browser | null = null;
  let server: { url: string; close: () => Promise<void> } | null = null;
  const bytes = readFileSync(MODEL);
  // tiny_model: K = 2 context latents of 4x4x4, A = 3 actions.
  const inputs: PageInputs = {
    context: Array.from({ length: 2 * 64 }, (_, i) => Math.fround(Math.sin(i * 0.37))),
    actions: [0.5, -0.25, 1, 0, 0.75, -1],
    seed: '1311768467294899695',
    frame: '4294967301',
  };

  beforeAll(async () => {
    const bundle = await bundleTestPage('web_model_page.ts');
    const routes = new Map<string, Route>([
      ['/', { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>model</title><script type="module" src="/page.js"></script>' }],
      ['/page.js', { type: 'text/javascript', body: bundle }],
      ['/model.safetensors', { type: 'application/octet-stream', body: bytes }],
      ['/hostile.safetensors', { type: 'application/octet-stream', body: Buffer.from(dropTensor(bytes, 'denoiser.conv_out.bias')) }],
      ['/inputs.json', { type: 'application/json', body: JSON.stringify(inputs) }],
    ]);
    server = await serveRoutes(routes);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('step() in the page equals Node and the native engine; a hostile file gives ModelFileError', async () => {
    const page = await browser!.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(`${server!.url}/`);
    await page.waitForFunction(() => window.hostileResult !== undefined || window.modelError !== undefined, null, { timeout: 60_000 });
    const error = await page.evaluate(() => window.modelError);
    expect(error, `the page failed: ${error}\n${logs.join('\n')}`).toBeUndefined();
    const got = (await page.evaluate(() => window.modelResult))!;
    const hostile = (await page.evaluate(() => window.hostileResult))!;
    await page.close();

    expect(got.backend).toBe('js');
    expect(hostile.isModelFileError).toBe(true);
    expect(hostile.message).toBe('hostile.safetensors: missing tensor "denoiser.conv_out.bias" (expected shape [4])');

    const context = Float32Array.from(inputs.context);
    const actions = Float32Array.from(inputs.actions);
    const seed = BigInt(inputs.seed);
    const frame = BigInt(inputs.frame);
    const node = await WebModel.load(bytes, new JsBackend());
    const inNode = await node.step(context, actions, seed, frame);
    node.destroy();
    const native = await addon().loadModel(MODEL, 0, 1, 1);
    const wantZ = new Float32Array(64);
    const wantRgb = new Uint8Array(32 * 32 * 3);
    await native.step(1, context, actions, BigUint64Array.of(seed), BigUint64Array.of(frame), 0, wantZ, wantRgb, undefined);
    native.close();

    const pageVsNode = maxAbsDiff(got.latent, inNode.latent);
    const pageVsNative = maxAbsDiff(got.latent, wantZ);
    console.log(`page vs Node latent ${pageVsNode.toExponential(2)}, page vs native ${pageVsNative.toExponential(2)}`);
    expect(pageVsNode).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(got.rgb, inNode.rgb)).toBe(0);
    expect(pageVsNative).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDiff(got.rgb, wantRgb)).toBeLessThanOrEqual(1);
  });
});
