// Kernel timings on the browser's WebGPU adapter (SwiftShader here): the default model's heaviest
// op calls (test/web/kernel_bench_page.ts), one JSON line per call like the other benches. Not a
// check, so it runs only when asked:
//   WL_WEB_KERNEL_BENCH=1 [WL_BENCH_REPS=3] [WL_BENCH_ONLY=conv] npx vitest run test/web/kernel_bench.test.ts
import { describe, expect, it } from 'vitest';
import { launchChromium, serveRoutes, type Route, bundleTestPage } from './chromium.js';

describe.runIf(process.env.WL_WEB_KERNEL_BENCH === '1')('WebGPU kernel timings', () => {
  it('times the default model\'s heaviest calls', async () => {
    const bundle = await bundleTestPage('kernel_bench_page.ts');
    const server = await serveRoutes(
      new Map<string, Route>([
        ['/', { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>' }],
        ['/page.js', { type: 'text/javascript', body: bundle }],
      ]),
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const reps = process.env.WL_BENCH_REPS ?? '3';
      const only = encodeURIComponent(process.env.WL_BENCH_ONLY ?? '');
      await page.goto(`${server.url}/?reps=${reps}&only=${only}`);
      await page.waitForFunction(() => window.benchResults !== undefined || window.benchError !== undefined, null, {
        timeout: 590_000,
      });
      const error = await page.evaluate(() => window.benchError);
      expect(error).toBeUndefined();
      const adapter = await page.evaluate(() => window.benchAdapter);
      for (const r of (await page.evaluate(() => window.benchResults)) ?? [])
        console.log(JSON.stringify({ bench: 'web_kernels', adapter, call: r.label, reps: Number(reps), ms: Number(r.ms.toFixed(2)) }));
    } finally {
      await browser.close();
      await server.close();
    }
  }, 600_000);
});
