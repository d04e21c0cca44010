/** One JSON line per timing result with machine, backend, model and median/p95/p99: what the
 * speed benches in bench/ and the edit costs of `worldloop eval relight|place-object` print. */
import { summarize } from './stats.js';
import { machineName } from './machine.js';

export function emitTiming(bench: string, backend: string, model: string, samplesMs: ArrayLike<number>, extra: Record<string, unknown> = {}): void {
  const s = summarize(samplesMs);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  console.log(JSON.stringify({ bench, machine: machineName(), backend, model, median_ms: r(s.median), p95_ms: r(s.p95), p99_ms: r(s.p99), samples: s.count, ...extra }));
}
