/**
 * Frame time of the browser page: serves the page and a model (src/serve) on 127.0.0.1, opens
 * it in headless Chromium in bench mode (?bench=N: a warm-up frame, then N frames of one step
 * each, standing still, one submit per frame), and prints JSON lines like the other benches:
 *   web_frame      wall ms per frame in the page (sample + decode + readback of the RGB bytes)
 *   web_gpu        GPU ms per frame (timestamp queries), all stages, from N more frames with each
 *                  stage labelled (web_frame_labelled: their wall ms; labels split the passes)
 *   web_gpu_stage  GPU ms per frame of one stage (denoise0.., decode), one line each
 * with the adapter Chromium gave (SwiftShader is a CPU implementation: `software` says so).
 * Usage: node dist/bench/web.js [--model PATH] [--frames N] [--backend webgpu|js] [--gpu]
 */
import { basename } from 'node:path';
import { parseScriptArgs } from '../src/cli/args.js';
import { DEFAULT_MODEL, resolveModelPath } from '../src/play/model_path.js';
import { emitTiming } from '../src/profiler/result_line.js';
import { summarize } from '../src/profiler/stats.js';
import { launchChromium } from './support/headless_chromium.js';
import { startWebServer } from '../src/serve/web_server.js';
import type { PageStatus } from '../src/web/page/page_status.js';

const usage =
  'Usage: node dist/bench/web.js [--model PATH] [--frames N] [--backend webgpu|js] [--gpu]\n' +
  'Frame time of the browser play page in headless Chromium (JSON lines); WebGPU on SwiftShader\n' +
  'unless --gpu asks Chromium for the machine\'s GPU. Needs the page built (npm run build:ts).\n' +
  `  --model PATH   model file (default ${DEFAULT_MODEL})\n` +
  '  --frames N     frames timed after one warm-up frame (default 5)\n' +
  '  --backend B    webgpu (default) or js (the plain JavaScript backend)\n' +
  '  --gpu          WebGPU on the machine\'s GPU instead of SwiftShader';
const a = parseScriptArgs('web', usage, {
  model: { kind: 'string' },
  frames: { kind: 'int', min: 1, max: 10_000 },
  backend: { kind: 'string', choices: ['webgpu', 'js'] },
  gpu: { kind: 'boolean' },
});
const modelPath = resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
const frames = (a.flags.frames as number | undefined) ?? 5;
const backend = (a.flags.backend as string | undefined) ?? 'webgpu';

const server = await startWebServer({ modelPath, port: 0 });
const browser = await launchChromium({ adapter: a.flags.gpu ? 'gpu' : 'swiftshader' });
let code = 0;
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}?bench=${frames}&backend=${backend}`);
  // Loading the default model on SwiftShader takes ~20 s, each of its frames 6-11 s.
  await page.waitForFunction(() => window.wlPage?.phase === 'bench-done' || window.wlPage?.phase === 'failed', null, { timeout: 0 });
  const s = (await page.evaluate(() => window.wlPage)) as PageStatus;
  if (s.phase === 'failed' || !s.bench) {
    console.error(`web bench: the page failed: ${s.failure?.title ?? '?'}: ${s.failure?.detail ?? ''}`);
    code = 1;
  } else {
    const r = s.bench;
    const model = basename(modelPath);
    const extra = {
      adapter: r.adapter || 'none (JavaScript)',
      software: r.backend === 'js' || /swiftshader|llvmpipe|software/i.test(r.adapter),
      frames: r.frames,
      steps: r.steps,
      load_ms: Math.round(r.loadMs),
      browser: `chromium ${browser.version()}`,
    };
    emitTiming('web_frame', r.backend, model, r.frameMs, extra);
    if (r.gpuMs) {
      const labels = Object.keys(r.gpuMs);
      const total = r.labelledFrameMs.map((_, i) => labels.reduce((t, l) => t + (r.gpuMs![l]![i] ?? 0), 0));
      emitTiming('web_frame_labelled', r.backend, model, r.labelledFrameMs, extra);
      emitTiming('web_gpu', r.backend, model, total, extra);
      for (const l of labels) emitTiming('web_gpu_stage', r.backend, model, r.gpuMs[l]!, { stage: l, ...extra });
    } else if (r.backend === 'webgpu') {
      console.log(JSON.stringify({ bench: 'web_gpu', note: 'the adapter has no timestamp queries', adapter: r.adapter }));
    }
    console.error(`web bench: ${r.frames} frames on ${r.backend} (${extra.adapter}): median ${summarize(r.frameMs).median.toFixed(1)} ms`);
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(code);
