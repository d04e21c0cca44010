import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { percentileSorted, summarize } from '../src/profiler/stats.js';
import { FrameProfiler, formatReport } from '../src/profiler/frame_profiler.js';
import { TraceRecorder, TRACK } from '../src/profiler/trace.js';

describe('stats', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    const s = summarize(v.reverse());
    expect(s.median).toBe(50);
    expect(s.p95).toBe(95);
    expect(s.p99).toBe(99);
    expect(s.max).toBe(100);
    expect(percentileSorted([], 50)).toBeNaN();
    expect(summarize([7]).p99).toBe(7);
  });
});

describe('FrameProfiler', () => {
  it('summarises stages, frame intervals, drops and latency', () => {
    const p = new FrameProfiler();
    for (let i = 0; i < 10; i++) {
      p.tick();
      p.stageTimes({ denoise0: 3, decode: 1 + i });
      p.presented(i * 33);
    }
    p.dropped(2);
    p.latency(1, 33);
    p.latency(2, 66);
    const r = p.report();
    expect(r.frames).toBe(10);
    expect(r.droppedFrames).toBe(2);
    expect(r.frame.median).toBe(33);
    expect(r.stages.decode!.max).toBe(10);
    expect(r.latencyFrames.max).toBe(2);
    expect(r.fps).toBeCloseTo(1000 / 33);
    const text = formatReport(r);
    expect(text).toMatch(/denoise0/);
    expect(text).toMatch(/dropped 2/);
  });

  it('keeps a bounded window of samples', () => {
    const p = new FrameProfiler(16);
    for (let i = 0; i < 100; i++) p.stage('x', i);
    const r = p.report();
    expect(r.stages.x!.count).toBe(16);
    expect(r.stages.x!.median).toBeGreaterThanOrEqual(84);
  });
});

describe('Chrome trace', () => {
  it('writes trace-event JSON that a viewer can load', () => {
    const t = new TraceRecorder();
    t.span('step 0', 'step', 1.5, 10.25, TRACK.source, { frame: 1 });
    t.instant('dropped', 'frame', 20, TRACK.loop);
    const path = join(mkdtempSync(join(tmpdir(), 'wl-trace-')), 't.json');
    t.write(path, { fps: 30 });
    const doc = JSON.parse(readFileSync(path, 'utf8'));
    expect(Array.isArray(doc.traceEvents)).toBe(true);
    const step = doc.traceEvents.find((e: { name: string }) => e.name === 'step 0');
    expect(step).toMatchObject({ ph: 'X', ts: 1500, dur: 10250, pid: 1, tid: TRACK.source });
    expect(doc.traceEvents.some((e: { ph: string; name: string }) => e.ph === 'M' && e.name === 'thread_name')).toBe(true);
    expect(doc.metadata.fps).toBe(30);
  });
});
