/**
 * What an edit of a model world costs (relighting its context, placing an object): the edit run
 * `runs` times on a fresh world of seed 2^40 opened from the truth world, emitted as one result
 * line (median, p95, p99). Used by bench/relight.ts and bench/place_object.ts.
 */
import type { Model } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { truthOpening } from '../src/play/truth_start.js';
import { emit } from './bench_json.js';

export async function emitEditCost(
  name: string,
  model: Model,
  modelPath: string,
  runs: number,
  edit: (world: ModelWorld, i: number) => Promise<unknown>,
): Promise<void> {
  const d = model.dims;
  const w = new ModelWorld(model, { seed: 2 ** 40, opening: (s) => truthOpening(s, d.context, d.frameWidth, d.frameHeight) });
  try {
    await w.reset();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await edit(w, i);
      ms.push(performance.now() - t0);
    }
    emit(name, 'cpu', modelPath, ms, { context_frames: d.context });
  } finally {
    w.close();
  }
}
