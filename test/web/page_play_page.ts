// The page of test/web/page_play.test.ts (bundled with esbuild): the page's world
// (src/web/page/page_world.ts) plays a scripted run (with light-key relights and placed objects,
// painted by the test server's POST /place as `worldloop serve` paints them) on the WebGPU
// backend and on the JS backend,
// from the opening frames and with the seed and actions the test serves, and the WebGPU run is
// recorded with the page's recorder. Frames and the recording go to window.pagePlayResult, a
// failure to window.pagePlayError.
import { keyLightSetting, type LightKey, type LightPreset } from '../../src/lighting.js';
import type { MotionSpeeds } from '../../src/memory/pose_tracker.js';
import type { ObjectKind } from '../../src/object_kind.js';
import type { WebBackend } from '../../src/web/backend.js';
import { JsBackend } from '../../src/web/js_backend.js';
import { PageRecorder } from '../../src/web/page/page_recorder.js';
import { PageWorld } from '../../src/web/page/page_world.js';
import { requestPlacement } from '../../src/web/page/place_request.js';
import { WebModel } from '../../src/web/web_model.js';
import { requestWebGpuBackend } from '../../src/web/webgpu_backend.js';

export interface PagePlayInputs {
  seed: number;
  /** frames x A actions */
  actions: number[][];
  sourceId: string;
  worldVersion: number;
  lightPresets: LightPreset[];
  /** Light keys pressed before the step of that index (applied as the page applies them). */
  lightKeys: Record<number, LightKey>;
  motionSpeeds: MotionSpeeds;
  /** Objects placed before the step of that index (after any light, as the page does). */
  places: Record<number, ObjectKind>;
}

export interface PagePlayRun {
  backend: string;
  adapter: string;
  /** RGB8 frames, base64 */
  frames: string[];
}

export interface PagePlayResult {
  runs: PagePlayRun[];
  /** The WebGPU run's .wlrec, base64 */
  recording: string;
}

declare global {
  interface Window {
    pagePlayResult?: PagePlayResult;
    pagePlayError?: string;
  }
}

function base64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

async function bytesOf(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<void> {
  const inputs = (await (await fetch('/inputs.json')).json()) as PagePlayInputs;
  const modelBytes = await bytesOf('/model.safetensors');
  const opening = await bytesOf('/opening.bin');
  const runs: PagePlayRun[] = [];
  let recording = '';
  for (const kind of ['webgpu', 'js']) {
    const backend: WebBackend = kind === 'webgpu' ? await requestWebGpuBackend() : new JsBackend();
    const model = await WebModel.load(modelBytes, backend, { name: 'tiny_model.safetensors' });
    const world = new PageWorld(model, { lightPresets: inputs.lightPresets, motionSpeeds: inputs.motionSpeeds });
    const first = await world.open(inputs.seed, opening);
    const rec = new PageRecorder(
      {
        sourceId: inputs.sourceId, modelName: model.manifest.name, backend: backend.name, seed: inputs.seed, steps: world.steps, fps: 30,
        width: world.width, height: world.height, actionSpace: world.actionSpace, worldVersion: inputs.worldVersion,
      },
      first.rgb,
    );
    const frames: string[] = [];
    for (const [i, a] of inputs.actions.entries()) {
      const action = Float32Array.from(a);
      const key = inputs.lightKeys[i];
      const light = key ? keyLightSetting(world.light()!, key) : undefined;
      if (light) await world.setLight(light);
      const place = inputs.places[i];
      if (place) await world.placeObject(place, (r) => requestPlacement('/place', r));
      const f = await world.step(action, false);
      rec.add(action, f.rgb, light, place);
      frames.push(base64(f.rgb));
    }
    runs.push({ backend: backend.name, adapter: 'adapter' in backend ? String(backend.adapter) : '', frames });
    if (kind === 'webgpu') recording = base64(rec.encode());
    model.destroy();
  }
  window.pagePlayResult = { runs, recording };
}

main().catch((e: unknown) => {
  window.pagePlayError = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
});
