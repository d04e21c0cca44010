/** Shared output for TS benchmarks: one JSON line per result with median/p95/p99. */
import { summarize } from '../src/profiler/stats.js';
import { machineName } from '../src/profiler/machine.js';

export const machine = machineName;

export function emit(bench: string, backend: string, model: string, samplesMs: ArrayLike<number>, extra: Record<string, unknown> = {}): void {
  const s = summarize(samplesMs);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  console.log(JSON.stringify({ bench, machine: machine(), backend, model, median_ms: r(s.median), p95_ms: r(s.p95), p99_ms: r(s.p99), samples: s.count, ...extra }));
}
