// Kernel parity in a real browser: every WGSL kernel of the WebGPU backend (src/web/
// webgpu_backend.ts, shaders/) against the C++ reference ops, in headless Chromium on its
// SwiftShader WebGPU adapter.
//
// native/tests/web_op_fixtures (built with the C++ tests) writes the cases: seeded inputs and
// ref:: outputs for every op and variant of the web op set. test/web/kernel_page.ts, bundled here
// with esbuild, runs each case on the backend and reports the error of each.
//
// Rule: per element |got - ref| <= 1e-3 * max(1, |ref|) (absolute near zero, relative for large
// outputs such as a deep conv's); NaN or Inf fails; RGB bytes must be equal. The kernels
// accumulate in f32 where ref uses double: their error is ~1e-6 of the output range, so 1e-3
// only tolerates f32 round-off and WGSL's exp/sqrt precision, never an indexing or padding bug
// (those err by O(1)).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveRoutes, type Route, bundleTestPage } from './chromium.js';
import type { CaseResult, KernelTimes } from './kernel_page.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE_TOOL = join(ROOT, 'build', 'tests', 'web_op_fixtures');
const TOLERANCE = 1e-3;

interface Fixture {
  cases: { name: string; op: string }[];
}

describe('WebGPU kernels against the C++ reference (headless Chromium, SwiftShader)', () => {
  let dir = '';
  let browser: Browser | null = null;
  let server: { url: string; close: () => Promise<void> } | null = null;
  let fixture: Fixture;

  beforeAll(async () => {
    if (!existsSync(FIXTURE_TOOL)) {
      throw new Error(`${FIXTURE_TOOL} is missing: build the native targets (npm run build:native)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'wl-web-kernels-'));
    execFileSync(FIXTURE_TOOL, [dir]);
    fixture = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Fixture;
    const bundle = await bundleTestPage('kernel_page.ts');
    const routes = new Map<string, Route>([
      [
        '/',
        {
          type: 'text/html',
          body: '<!doctype html><meta charset="utf-8"><title>kernels</title><script type="module" src="/page.js"></script>',
        },
      ],
      ['/page.js', { type: 'text/javascript', body: bundle }],
      ['/cases.json', { type: 'application/json', body: readFileSync(join(dir, 'cases.json')) }],
      ['/cases.bin', { type: 'application/octet-stream', body: readFileSync(join(dir, 'cases.bin')) }],
    ]);
    server = await serveRoutes(routes);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every op and variant matches ref:: within 1e-3 (bytes exactly)', async () => {
    const page = await browser!.newPage();
    const logs: string[] = [];
    page.on('console', (m) => {
      logs.push(m.text());
      if (process.env.WL_WEB_KERNELS_VERBOSE) console.log(m.text());
    });
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(`${server!.url}/`);
    await page.waitForFunction(() => window.kernelResults !== undefined || window.kernelError !== undefined, null, {
      timeout: 110_000,
    });
    const error = await page.evaluate(() => window.kernelError);
    expect(error, `the page failed: ${error}\n${logs.join('\n')}`).toBeUndefined();
    const results = (await page.evaluate(() => window.kernelResults)) as CaseResult[];
    const times = (await page.evaluate(() => window.kernelTimes)) as KernelTimes;
    await page.close();

    // Every case ran, and every op of the web op set has cases.
    expect(results.map((r) => r.name)).toEqual(fixture.cases.map((c) => c.name));
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of [
      'conv2d', 'group_norm', 'gn_silu_conv2d', 'silu', 'add', 'linear', 'concat_channels',
      'upsample_nearest2x', 'attention', 'scale_add', 'fourier', 'rgb_f32_to_u8', 'rgb_u8_to_f32',
    ])
      expect(ops.has(op), `no fixture case for ${op}`).toBe(true);

    const failed = results.filter((r) => !(r.err <= TOLERANCE));
    const report = failed.map((r) => `${r.name}: error ${r.err.toExponential(2)} (${r.worst})`).join('\n');
    expect(failed, `cases over ${TOLERANCE}:\n${report}`).toEqual([]);
    // GPU times per label where the adapter has timestamp queries (SwiftShader has them).
    if (times.timed) {
      expect(Object.keys(times.labels).sort()).toEqual(['attention', 'conv']);
      for (const [label, ms] of Object.entries(times.labels))
        expect(ms > 0 && ms < 60_000, `GPU time of ${label}: ${ms} ms`).toBe(true);
    }
    const worst = results.reduce((a, b) => (b.err > a.err ? b : a));
    console.log(
      `web kernels: ${results.length} cases, worst error ${worst.err.toExponential(2)} (${worst.name}), ` +
        `${results.reduce((s, r) => s + r.ms, 0).toFixed(0)} ms on the page; GPU times ` +
        (times.timed ? JSON.stringify(times.labels) : 'not available (no timestamp-query)'),
    );
  });
});
