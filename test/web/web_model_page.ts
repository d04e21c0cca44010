// The page of test/web/web_model_browser.test.ts (bundled with esbuild): loads a model file over
// HTTP into WebModel on the JS backend, runs one step() on the inputs the test serves, and parses a
// hostile file. Results go to window.modelResult / window.hostileResult; a failure to window.modelError.
import { JsBackend } from '../../src/web/js_backend.js';
import { ModelFileError } from '../../src/web/model_file.js';
import { WebModel } from '../../src/web/web_model.js';

export interface PageInputs {
  context: number[];
  actions: number[];
  seed: string;
  frame: string;
}

export interface PageResult {
  latent: number[];
  rgb: number[];
  backend: string;
}

declare global {
  interface Window {
    modelResult?: PageResult;
    hostileResult?: { isModelFileError: boolean; message: string };
    modelError?: string;
  }
}

async function bytesOf(path: string): Promise<ArrayBuffer> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

async function main(): Promise<void> {
  const inputs = (await (await fetch('/inputs.json')).json()) as PageInputs;
  const model = await WebModel.load(await bytesOf('/model.safetensors'), new JsBackend(), { name: 'model.safetensors' });
  const out = await model.step(Float32Array.from(inputs.context), Float32Array.from(inputs.actions), BigInt(inputs.seed), BigInt(inputs.frame));
  model.destroy();
  window.modelResult = { latent: Array.from(out.latent), rgb: Array.from(out.rgb), backend: model.info.backend };
  try {
    await WebModel.load(await bytesOf('/hostile.safetensors'), new JsBackend(), { name: 'hostile.safetensors' });
    window.hostileResult = { isModelFileError: false, message: 'loaded' };
  } catch (err) {
    window.hostileResult = { isModelFileError: err instanceof ModelFileError, message: String((err as Error).message) };
  }
}

main().catch((err: unknown) => {
  window.modelError = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
});
