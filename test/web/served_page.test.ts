// The play page as `worldloop serve` serves it (dist/web, rebuilt here by scripts/build_web.js),
// in headless Chromium: end to end (the command on a free port, the page loads the tiny model on
// WebGPU, plays frames onto a non-blank canvas, the HUD shows GPU times, [ relights, 4 places a
// lamp through the server's POST /place, the recording downloads and decodes with the light
// setting and the placed lamp in it), and its failure messages: a
// Chromium without the WebGPU flags, and an adapter whose buffer limits are too small for the
// model (simulated by shrinking GPUAdapter.limits before the page runs).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecording } from '../../src/record/format.js';
import { startWebServer, type RunningWebServer } from '../../src/serve/web_server.js';
import type { PageStatus } from '../../src/web/page/page_status.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from './chromium.js';
import { editManifest } from './model_file_edit.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'native', 'tests', 'fixtures', 'tiny_model.safetensors');

async function waitPhase(page: Page, phases: PageStatus['phase'][], timeout: number): Promise<PageStatus> {
  await page.waitForFunction((p) => p.includes(window.wlPage?.phase ?? ''), phases, { timeout });
  return (await page.evaluate(() => window.wlPage))!;
}

describe('the served play page in headless Chromium', () => {
  let browser: Browser | null = null;
  let server: RunningWebServer | null = null;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build_web.js')]);
    server = await startWebServer({ modelPath: MODEL, port: 0 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('without the WebGPU flags the page says WebGPU is missing and what to try', async () => {
    // Chromium as a player might start it: no --enable-unsafe-webgpu, no SwiftShader adapter.
    const plain = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS.filter((a) => !/webgpu|swiftshader/.test(a)),
    });
    try {
      const page = await plain.newPage();
      await page.goto(server!.url);
      const s = await waitPhase(page, ['failed', 'playing'], 30_000);
      expect(s.phase).toBe('failed');
      expect(['no-webgpu', 'no-adapter']).toContain(s.failure!.kind);
      const text = await page.locator('#failure').innerText();
      expect(text).toMatch(/What to try:/);
      expect(text).toMatch(/\?backend=js/);
      console.log(`no WebGPU flags: "${s.failure!.title}" — ${s.failure!.detail}`);
    } finally {
      await plain.close();
    }
  });

  it('an adapter too small for the model gives the memory message', async () => {
    const page = await browser!.newPage();
    await page.addInitScript(() => {
      const desc = Object.getOwnPropertyDescriptor(GPUAdapter.prototype, 'limits')!;
      Object.defineProperty(GPUAdapter.prototype, 'limits', {
        get(this: GPUAdapter) {
          const real = desc.get!.call(this) as GPUSupportedLimits;
          return new Proxy(real, {
            get: (t, k) => (k === 'maxStorageBufferBindingSize' || k === 'maxBufferSize' ? 65536 : Reflect.get(t, k)),
          });
        },
      });
    });
    await page.goto(server!.url);
    const s = await waitPhase(page, ['failed', 'playing'], 60_000);
    await page.close();
    expect(s.phase).toBe('failed');
    expect(s.failure!.kind).toBe('memory');
    expect(s.failure!.detail).toMatch(/the model needs .* MiB of GPU memory in one buffer, but this GPU adapter allows 0\.1 MiB/);
  });

  it('worldloop serve end to end: the page loads the tiny model on WebGPU and plays', async () => {
    // The tiny model lists no object kinds: a copy that lists the lamp, so 4 places one.
    const dir = mkdtempSync(join(tmpdir(), 'wl-served-'));
    const placing = join(dir, 'tiny_lamp.safetensors');
    writeFileSync(placing, editManifest(readFileSync(MODEL), (m) => (m.objects = { kinds: ['lamp'] })));
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin', 'worldloop.js'), 'serve', '--model', placing, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`serve printed no URL: ${out}`)), 30_000);
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /at (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        });
      });
      const page = await browser!.newPage({ acceptDownloads: true });
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(e.message));
      await page.goto(`${url}?seed=3`);
      const s = await waitPhase(page, ['playing', 'failed'], 120_000);
      expect(s.phase, `${JSON.stringify(s.failure)}\n${logs.join('\n')}`).toBe('playing');
      await page.waitForFunction(() => (window.wlPage?.frameIndex ?? 0) >= 5, null, { timeout: 60_000 });
      // Hold W for a while: the mapper turns it into move = 1 and the world goes on stepping.
      await page.keyboard.down('KeyW');
      await page.keyboard.press('F1');
      await page.waitForFunction(() => /GPU .* MS: denoise0/.test(document.querySelector('#hud')?.textContent ?? ''), null, { timeout: 60_000 });
      // [ lowers the light: the page relights the context before the next step, as play does.
      await page.keyboard.press('BracketLeft');
      await page.waitForFunction(() => /^light: level/.test(document.querySelector('#note')?.textContent ?? ''), null, { timeout: 60_000 });
      // The note shows as the relight is applied; the step it precedes is recorded when it ends.
      const relitAt = await page.evaluate(() => window.wlPage!.frameIndex);
      await page.waitForFunction((n) => window.wlPage!.frameIndex >= n + 2, relitAt, { timeout: 60_000 });
      // 4 places a lamp: the server paints it into the decoded context (POST /place).
      await page.keyboard.press('Digit4');
      await page.waitForFunction(() => /^(placed|could not place)/.test(document.querySelector('#note')?.textContent ?? ''), null, { timeout: 60_000 });
      expect(await page.locator('#note').innerText()).toBe('placed a lamp');
      const placedAt = await page.evaluate(() => window.wlPage!.frameIndex);
      await page.waitForFunction((n) => window.wlPage!.frameIndex >= n + 2, placedAt, { timeout: 60_000 });
      await page.keyboard.up('KeyW');
      const canvas = await page.evaluate(() => {
        const c = document.querySelector('#view') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let min = 255;
        let max = 0;
        for (let i = 0; i < d.length; i += 4) {
          min = Math.min(min, d[i]!, d[i + 1]!, d[i + 2]!);
          max = Math.max(max, d[i]!, d[i + 1]!, d[i + 2]!);
        }
        return { w: c.width, h: c.height, min, max };
      });
      expect(canvas.w).toBe(32);
      expect(canvas.max - canvas.min, 'the canvas shows a picture, not one colour').toBeGreaterThan(10);
      const hud = await page.locator('#hud').innerText();
      expect(hud).toMatch(/FPS [\d.]+ {2}STEP [\d.]+ MS {2}FRAME \d+/);
      expect(hud).toMatch(/WEBGPU \(google swiftshader/i);
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }).catch((e: Error) => {
          throw new Error(`${e.message}\n${logs.join('\n')}`);
        }),
        page.click('#download'),
      ]);
      const rec = decodeRecording(new Uint8Array(readFileSync((await download.path())!)), download.suggestedFilename());
      expect(rec.header.backend).toBe('webgpu');
      expect(rec.header.seed).toBe(3);
      expect(rec.frames).toBeGreaterThanOrEqual(5);
      // Some step consumed move = 1 (W held).
      const moves = Array.from({ length: rec.frames }, (_, i) => rec.actions[i * rec.channels]!);
      expect(moves).toContain(1);
      expect(rec.header.lightSettings?.length).toBe(1);
      expect(rec.flags.filter((f) => f === 2)).toHaveLength(1);
      expect(rec.header.placedObjects).toEqual(['lamp']);
      expect(rec.flags.filter((f) => f === 4)).toHaveLength(1);
      console.log(`served page: ${rec.frames} frames recorded, HUD: ${hud.replace(/\n/g, ' | ')}`);
      await page.close();
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
