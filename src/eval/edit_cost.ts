/**
 * What an edit of a model world costs (relighting its context, placing an object): the edit run
 * `runs` times on a fresh world of seed 2^40 opened from the truth world (bare: the world alone),
 * emitted as one timing line (median, p95, p99). `worldloop eval relight` and `eval place-object`
 * print it beside their quality numbers.
 */
import type { Model } from '../model.js';
import { ModelWorld } from '../model_world.js';
import { openWorld } from '../play/open_world.js';
import { emitTiming } from '../profiler/result_line.js';

export async function emitEditCost(
  name: string,
  model: { model: Model; sourceId: string; path: string },
  runs: number,
  edit: (world: ModelWorld, i: number) => Promise<unknown>,
): Promise<void> {
  const opened = await openWorld({ kind: 'model', model, seed: 2 ** 40, bare: true });
  try {
    const w = opened.world as ModelWorld;
    await w.reset();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await edit(w, i);
      ms.push(performance.now() - t0);
    }
    emitTiming(name, 'cpu', model.path, ms, { context_frames: model.model.dims.context });
  } finally {
    await opened.close();
  }
}
