/**
 * Chrome trace-event JSON ("JSON Object Format" with complete 'X' events), which Perfetto and
 * chrome://tracing open. Timestamps are microseconds from the start of the run.
 */
import { writeFileSync } from 'node:fs';

export interface TraceEvent {
  name: string;
  /** Category, e.g. "frame", "stage", "input". */
  cat: string;
  ph: 'X' | 'i' | 'C' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

/** Thread ids used as tracks in the viewer. */
export const TRACK = { loop: 1, source: 2, present: 3 } as const;

export class TraceRecorder {
  private readonly events: TraceEvent[] = [];
  /** Stops recording beyond this many events so a long session cannot exhaust memory. */
  constructor(private readonly maxEvents = 2_000_000) {}

  get length(): number {
    return this.events.length;
  }

  span(name: string, cat: string, startMs: number, durMs: number, tid: number, args?: Record<string, unknown>): void {
    if (this.events.length >= this.maxEvents) return;
    const e: TraceEvent = { name, cat, ph: 'X', ts: Math.round(startMs * 1000), dur: Math.max(0, Math.round(durMs * 1000)), pid: 1, tid };
    if (args) e.args = args;
    this.events.push(e);
  }

  instant(name: string, cat: string, atMs: number, tid: number, args?: Record<string, unknown>): void {
    if (this.events.length >= this.maxEvents) return;
    const e: TraceEvent = { name, cat, ph: 'i', s: 't', ts: Math.round(atMs * 1000), pid: 1, tid };
    if (args) e.args = args;
    this.events.push(e);
  }

  counter(name: string, atMs: number, values: Record<string, number>): void {
    if (this.events.length >= this.maxEvents) return;
    this.events.push({ name, cat: 'counter', ph: 'C', ts: Math.round(atMs * 1000), pid: 1, tid: TRACK.loop, args: values });
  }

  toJSON(meta: Record<string, unknown> = {}): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms'; metadata: Record<string, unknown> } {
    const names: TraceEvent[] = [
      { name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'worldloop' } },
      { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: TRACK.loop, args: { name: 'game loop' } },
      { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: TRACK.source, args: { name: 'world step' } },
      { name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: TRACK.present, args: { name: 'present' } },
    ];
    return { traceEvents: [...names, ...this.events], displayTimeUnit: 'ms', metadata: meta };
  }

  write(path: string, meta: Record<string, unknown> = {}): void {
    writeFileSync(path, JSON.stringify(this.toJSON(meta)));
  }
}
