/**
 * What the page publishes on `window.wlPage` for whoever drives it (the tests, bench/web.ts):
 * its phase, the newest frame's index, a failure, and in bench mode (?bench=N) the timings.
 */
import type { FailureKind } from './failure_message.js';

export interface PageBenchResult {
  backend: string;
  /** The GPU adapter (describeAdapter), "" on the JS backend. */
  adapter: string;
  model: string;
  steps: number;
  frames: number;
  /** Wall ms of each benched frame (one step: sample + decode + readback), nothing labelled. */
  frameMs: number[];
  /** The same with each stage labelled for the GPU timer (empty without timestamp queries). */
  labelledFrameMs: number[];
  /** GPU ms per stage label per frame; null without timestamp queries. */
  gpuMs: Record<string, number[]> | null;
  loadMs: number;
}

export interface PageStatus {
  phase: 'loading' | 'playing' | 'failed' | 'bench-done';
  /** What the page is doing now (the progress line). */
  detail: string;
  frameIndex: number;
  failure?: { kind: FailureKind; title: string; detail: string };
  bench?: PageBenchResult;
}

declare global {
  interface Window {
    wlPage?: PageStatus;
  }
}
