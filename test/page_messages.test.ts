// The browser page's words: the failure message for each way it cannot play (what is missing, what
// to try; src/web/page/failure_message.ts, fed the backend's own errors) and the HUD's lines
// (hud_lines.ts), GPU times or the lack of timestamp queries.
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../src/web/model_file.js';
import { describeFailure } from '../src/web/page/failure_message.js';
import { FpsCounter, hudLines } from '../src/web/page/hud_lines.js';

describe('page messages', () => {
  it('names each failure and what to try', () => {
    const cases: [unknown, string, RegExp][] = [
      [new Error('WebGPU is not available in this browser (navigator.gpu is missing): use a recent Chrome'), 'no-webgpu', /Chrome or Edge 113/],
      [new Error('WebGPU found no GPU adapter: the GPU may be blocklisted'), 'no-adapter', /hardware acceleration/],
      [new Error('the model needs 300.0 MiB of GPU memory in one buffer, but this GPU adapter allows 128.0 MiB'), 'memory', /smaller model/],
      [new Error('the GPU has not got 300.0 MiB free for the model\'s arena: out of memory'), 'memory', /close other tabs/],
      [new ModelFileError('m.safetensors: missing tensor "x"'), 'model-file', /another model file/],
      [new Error('/model.safetensors: HTTP 404 from the server'), 'network', /worldloop serve is still running/],
      [new RangeError('steps must be an integer in 1..8, got 9'), 'other', /reload/],
    ];
    for (const [err, kind, tryLine] of cases) {
      const f = describeFailure(err, 'webgpu');
      expect(f.kind, String(err)).toBe(kind);
      expect(f.detail).toBe((err as Error).message);
      expect(f.tryLines.join('\n'), kind).toMatch(tryLine);
    }
    for (const k of ['no-webgpu', 'no-adapter', 'memory']) {
      const err = cases.find(([, kind]) => kind === k)![0];
      expect(describeFailure(err, 'webgpu').tryLines.join('\n')).toMatch(/\?backend=js/);
    }
  });

  it('HUD lines: rates, GPU times per stage or their absence', () => {
    const base = { fps: 29.96, stepMs: 12.34, frameIndex: 42, seed: 7, backend: 'webgpu', adapter: 'nvidia ampere', paused: false, recorded: 42 };
    const timed = hudLines({ ...base, gpuMs: new Map([['denoise0', 3.2], ['decode', 1.1]]) });
    expect(timed).toEqual(['FPS 30.0  STEP 12.3 MS  FRAME 42', 'WEBGPU (nvidia ampere)  SEED 7  RECORDED 42', 'GPU 4.3 MS: denoise0 3.2  decode 1.1']);
    expect(hudLines({ ...base, gpuMs: null })[2]).toBe('GPU: no timestamp queries on this adapter');
    expect(hudLines({ ...base, backend: 'js', adapter: '', gpuMs: undefined, paused: true })).toEqual(['FPS 30.0  STEP 12.3 MS  FRAME 42  PAUSED', 'JS  SEED 7  RECORDED 42']);
  });

  it('FPS over one second, and from the last two frames when they are slower', () => {
    const f = new FpsCounter();
    let r = 0;
    for (let t = 0; t <= 2000; t += 100) r = f.tick(t);
    expect(r).toBeCloseTo(10, 6);
    const slow = new FpsCounter();
    slow.tick(0);
    expect(slow.tick(2000)).toBeCloseTo(0.5, 6);
    expect(slow.tick(6000)).toBeCloseTo(0.25, 6);
  });
});
