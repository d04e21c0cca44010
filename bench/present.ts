/**
 * Presentation cost: how long Window.present() takes for a 128×128 RGB frame in a 512×512
 * window (texture upload + letterboxed scale + present), per renderer and filter, with and
 * without the HUD overlay, vsync off. Run under a display (xvfb-run -a node dist/bench/present.js).
 * Usage: node dist/bench/present.js [frames=600]
 */
import { performance } from 'node:perf_hooks';
import { hasDisplay, Window } from '../src/window.js';
import { HudOverlay } from '../src/hud/hud.js';
import { emitTiming } from '../src/profiler/result_line.js';
import { parseScriptArgs } from '../src/cli/args.js';
import { summarize } from '../src/profiler/stats.js';

const frames = parseScriptArgs(
  'present',
  'Usage: xvfb-run -a node dist/bench/present.js [frames=600]\n' +
    'Cost of Window.present() per renderer and filter, with and without the HUD (JSON lines).',
  {},
  { maxPositionals: 1 },
).positionalNumber(0, 'frames', 600, { kind: 'int', min: 1 });
if (!hasDisplay()) {
  console.error('present bench needs a display: xvfb-run -a node dist/bench/present.js');
  process.exit(2);
}

const W = 128;
const H = 128;
const buffers = [0, 1].map((k) => {
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 31 + k * 97) & 255;
  return rgb;
});

for (const renderer of ['auto', 'software'] as const) {
  for (const linear of [false, true]) {
    for (const hud of [false, true]) {
      const win = Window.open({ width: 512, height: 512, vsync: false, renderer, linear, title: 'present bench' });
      const name = win.info().renderer;
      if (hud) {
        const o = new HudOverlay(512, 512);
        const box = o.draw(['FPS 30.0  FRAME 33.3 MS  DROPPED 0', 'INPUT 0.1  STEP 1.0  PRESENT 0.5', 'TRUTH SEED 1']);
        win.setOverlay(box.rgba, box.width, box.height);
      }
      for (let i = 0; i < 30; i++) win.present(buffers[i & 1]!, W, H); // warm-up
      const t: number[] = [];
      const parts = { upload: [] as number[], draw: [] as number[], flip: [] as number[] };
      for (let i = 0; i < frames; i++) {
        win.pollEvents();
        const a = performance.now();
        win.present(buffers[i & 1]!, W, H);
        t.push(performance.now() - a);
        const p = win.presentTimings();
        parts.upload.push(p.uploadMs);
        parts.draw.push(p.drawMs);
        parts.flip.push(p.flipMs);
      }
      const med = (v: number[]) => Math.round(summarize(v).median * 1000) / 1000;
      emitTiming('present_512', `sdl-${name}`, 'none', t, {
        filter: linear ? 'linear' : 'nearest', hud, frame: `${W}x${H}`, window: '512x512', vsync: false,
        texture: win.info().textureFormat, upload_median_ms: med(parts.upload), draw_median_ms: med(parts.draw), flip_median_ms: med(parts.flip),
      });
      win.close();
    }
  }
}
