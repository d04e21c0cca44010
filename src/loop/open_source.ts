/**
 * Opens the FrameSources the CLI runs: the ground-truth world for a seed, or a model world (a
 * loaded model whose opening frames come from the ground-truth world for the same seed). Each
 * comes with the identity a recording stores and the backend it runs on.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionSpace, FrameSource } from '../source.js';
import { projectRoot } from '../native.js';
import { TruthWorld, worldActionSpace } from '../world.js';
import { loadModel, type BackendName } from '../model.js';
import { ModelWorld } from '../model_world.js';
import { modelSourceId, truthSourceId } from '../record/source_identity.js';

export const DEFAULT_MODEL = 'models/default.safetensors';

/** The default model is found relative to the package, so `worldloop play` works from any
 * directory; every other path is taken as given (relative to the working directory). */
export function resolveModelPath(path: string): string {
  if (path === DEFAULT_MODEL && !existsSync(path)) return join(projectRoot(), DEFAULT_MODEL);
  return path;
}

export interface OpenedSource {
  source: FrameSource;
  /** "truth:<seed>" or "sha256:<hex of the model file>". */
  sourceId: string;
  backend: string;
  steps?: number;
  close(): Promise<void>;
}

export function truthActionSpace(): ActionSpace {
  return worldActionSpace();
}

export async function openTruth(seed: number): Promise<OpenedSource> {
  const source = new TruthWorld({ seed });
  return { source, sourceId: truthSourceId(seed), backend: 'truth', close: async () => source.close() };
}

/** The first K frames of the ground-truth world for `seed`, standing still: where a model world
 * starts. */
export async function truthOpening(seed: number, k: number, width: number, height: number): Promise<Uint8Array[]> {
  const w = new TruthWorld({ seed, config: { width, height } });
  try {
    const frames: Uint8Array[] = [];
    const still = new Float32Array(w.actionSpace.channels.length);
    frames.push((await w.reset(seed)).rgb.slice());
    while (frames.length < k) frames.push((await w.step(still)).frame.rgb.slice());
    return frames;
  } finally {
    w.close();
  }
}

export interface OpenModelOptions {
  backend?: BackendName;
  threads?: number;
  steps?: number;
  seed?: number;
}

export async function openModel(path: string, o: OpenModelOptions = {}): Promise<OpenedSource> {
  path = resolveModelPath(path);
  const [sourceId, model] = await Promise.all([
    modelSourceId(path),
    loadModel(path, { backend: o.backend ?? 'auto', ...(o.threads !== undefined ? { threads: o.threads } : {}) }),
  ]);
  const k = model.dims.context;
  const source = new ModelWorld(model, {
    seed: o.seed ?? 1,
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
    opening: (seed) => truthOpening(seed, k, model.dims.frameWidth, model.dims.frameHeight),
  });
  return {
    source,
    sourceId,
    backend: model.info.backend,
    steps: source.steps,
    close: async () => {
      source.close();
      await model.close();
    },
  };
}
