import { describe, expect, it } from 'vitest';
import { FakeClock } from '../src/loop/clock.js';
import { GameLoop, type InputPoll, type LoopInput, type LoopOutput } from '../src/loop/game_loop.js';
import { ScriptInput } from '../src/input/script_input.js';
import { TraceRecorder } from '../src/profiler/trace.js';
import { parseActionScript, scriptSteps } from '../src/loop/action_script.js';
import type { CommandName } from '../src/input/bindings.js';
import type { Frame } from '../src/source.js';
import { FAKE_SPACE, FakeSource } from './fake_source.js';

/** Input that holds "move" and can inject commands or action changes at given ticks. */
class TickInput implements LoopInput {
  tick = 0;
  polls = 0;
  readonly pollTimes: number[] = [];
  clock: FakeClock | undefined;
  constructor(
    private readonly commandsAt: Record<number, CommandName[]> = {},
    private readonly changeAt: Set<number> = new Set(),
    private readonly endAfter = Infinity,
  ) {}
  private action = new Float32Array(5);
  private given = 0;
  poll(): InputPoll {
    const t = this.tick++;
    this.polls++;
    if (this.clock) this.pollTimes.push(this.clock.now());
    const changed = this.changeAt.has(t);
    if (changed) this.action[2] = this.action[2] === 0 ? 1 : 0;
    return { commands: this.commandsAt[t] ?? [], changed };
  }
  next() {
    if (this.given >= this.endAfter) return undefined;
    this.given++;
    return { action: this.action.slice(), reset: false };
  }
}

class RecordingOutput implements LoopOutput {
  presented: { index: number; fresh: boolean; at: number }[] = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly presentMs = 0,
    private readonly stallAtFrame = -1,
    private readonly stallMs = 0,
  ) {}
  present(frame: Frame, fresh: boolean): void {
    this.clock.advance(this.presentMs);
    if (fresh && frame.index === this.stallAtFrame) this.clock.advance(this.stallMs);
    this.presented.push({ index: frame.index, fresh, at: this.clock.now() });
  }
}

describe('GameLoop real-time pacing (fake clock)', () => {
  it('presents one new frame per tick when steps fit in a tick, with 1-frame input latency', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 5);
    const input = new TickInput({}, new Set([3, 10, 20]));
    const out = new RecordingOutput(clock, 1);
    const loop = new GameLoop({ source: src, input, output: out, clock, fps: 30, maxFrames: 30 });
    const r = await loop.run();
    expect(r.steps).toBe(30);
    const rep = loop.profiler.report();
    expect(rep.droppedFrames).toBe(0);
    // Fresh frames 0..30 in order, exactly once each.
    expect(out.presented.filter((p) => p.fresh).map((p) => p.index)).toEqual([...Array(31).keys()]);
    // Presented one period apart (the tick grid), measured on the fake clock.
    expect(rep.frame.median).toBeCloseTo(1000 / 30, 6);
    expect(rep.frame.p99).toBeCloseTo(1000 / 30, 6);
    expect(rep.latencyFrames.count).toBe(3);
    expect(rep.latencyFrames.max).toBe(1);
    expect(rep.stages.denoise0!.median).toBeCloseTo(2.5);
  });

  it('a source that finishes at once is presented in the same tick (0-frame latency)', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(); // computes synchronously, like the truth world
    const input = new TickInput({}, new Set([2, 6]));
    const out = new RecordingOutput(clock, 1);
    const loop = new GameLoop({ source: src, input, output: out, clock, fps: 30, maxFrames: 10 });
    await loop.run();
    const rep = loop.profiler.report();
    expect(rep.latencyFrames.count).toBe(2);
    expect(rep.latencyFrames.max).toBe(0);
    expect(rep.droppedFrames).toBe(0);
    expect(out.presented.filter((p) => p.fresh).map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('keeps a slow model busy back to back while input is still polled every tick', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 50); // 1.5 ticks at 30 fps
    const starts: number[] = [];
    const step = src.step.bind(src);
    src.step = (a) => {
      starts.push(clock.now());
      return step(a);
    };
    const input = new TickInput();
    const out = new RecordingOutput(clock);
    const trace = new TraceRecorder();
    const loop = new GameLoop({ source: src, input, output: out, clock, fps: 30, maxFrames: 10, trace });
    const r = await loop.run();
    expect(r.steps).toBe(10);
    // Never more than one step in flight, and no idle gap between steps: each starts the moment
    // the previous one finishes (the model is the bottleneck, not the tick).
    expect(src.stepsStarted).toBe(10);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeCloseTo(50, 6);
    // Input was polled on every tick (and again before each chained step).
    const ticks = trace.toJSON().traceEvents.filter((e) => e.name === 'tick').length;
    expect(input.polls).toBeGreaterThanOrEqual(ticks);
    expect(ticks).toBeGreaterThanOrEqual(15);
    // Frames appear only on the tick grid; ticks without a new frame count as dropped.
    const period = 1000 / 30;
    for (const p of out.presented.filter((x) => x.fresh)) expect(Math.abs(p.at / period - Math.round(p.at / period))).toBeLessThan(1e-6);
    const rep = loop.profiler.report();
    expect(rep.droppedFrames).toBeGreaterThanOrEqual(3);
    expect(rep.frame.median).toBeLessThanOrEqual(2 * period + 1e-6);
  });

  it('clamps catch-up after a stall and counts the skipped ticks as dropped', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 1);
    const input = new TickInput();
    const out = new RecordingOutput(clock, 0, 5, 340); // ~10 periods stall when frame 5 shows
    const trace = new TraceRecorder();
    const loop = new GameLoop({ source: src, input, output: out, clock, fps: 30, maxCatchUp: 2, maxFrames: 20, trace });
    await loop.run();
    const rep = loop.profiler.report();
    // 340 ms at 33.3 ms/tick: ~10 overdue ticks, 2 may run late, the rest are skipped.
    expect(rep.droppedFrames).toBeGreaterThanOrEqual(7);
    expect(rep.droppedFrames).toBeLessThanOrEqual(10);
    // No burst: after the stall at most maxCatchUp ticks ran back to back (less than half a
    // period apart) before the loop slept again.
    const period = 1000 / 30;
    const tickTimes = trace.toJSON().traceEvents.filter((e) => e.name === 'tick').map((e) => e.ts / 1000);
    let burst = 1;
    let maxBurst = 1;
    for (let i = 1; i < tickTimes.length; i++) {
      burst = tickTimes[i]! - tickTimes[i - 1]! < period / 2 ? burst + 1 : 1;
      maxBurst = Math.max(maxBurst, burst);
    }
    expect(maxBurst).toBe(2);
  });

  it('pause stops stepping but keeps ticking; reset restarts the source', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 2);
    const input = new TickInput({ 5: ['pause'], 15: ['pause'], 20: ['reset'] });
    const out = new RecordingOutput(clock);
    const loop = new GameLoop({ source: src, input, output: out, clock, fps: 30, maxFrames: 25 });
    await loop.run();
    // Ticks 5..14 paused: 10 ticks without steps, so 25 steps need more than 25 + 10 ticks.
    expect(input.polls).toBeGreaterThanOrEqual(25 + 10);
    expect(src.resets).toBe(2); // the initial reset + R
    expect(out.presented.some((p) => !p.fresh)).toBe(true); // repaints while paused
  });

  it('quit ends the loop', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 1);
    const input = new TickInput({ 7: ['quit'] });
    const loop = new GameLoop({ source: src, input, clock, fps: 30 });
    const r = await loop.run();
    expect(r.reason).toBe('quit');
    expect(r.steps).toBeLessThanOrEqual(8);
  });

  it('a step error propagates out of run()', async () => {
    const clock = new FakeClock();
    const src = new FakeSource(clock, 1);
    src.step = async () => {
      throw new Error('model exploded');
    };
    const loop = new GameLoop({ source: src, input: new TickInput(), clock, fps: 30, maxFrames: 3 });
    await expect(loop.run()).rejects.toThrow(/model exploded/);
  });
});

describe('GameLoop lockstep (headless)', () => {
  it('applies every scripted action in order and reports input-ended', async () => {
    const segs = parseActionScript({ segments: [{ frames: 3, action: { move: 1 } }, { frames: 2, action: { turn: -0.5, light: 1 } }] });
    const src = new FakeSource();
    const frames: number[] = [];
    const loop = new GameLoop({
      source: src,
      input: new ScriptInput(scriptSteps(segs, FAKE_SPACE)),
      output: { present: (f) => void frames.push(f.index) },
      realtime: false,
    });
    const r = await loop.run();
    expect(r).toMatchObject({ steps: 5, reason: 'input-ended' });
    expect(frames).toEqual([0, 1, 2, 3, 4, 5]);
    expect(src.actions.map((a) => Array.from(a))).toEqual([
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [0, 0, -0.5, 1, 0], // event fires on the segment's first frame only
      [0, 0, -0.5, 0, 0],
    ]);
    expect(loop.profiler.report().latencyFrames.max).toBe(0);
  });

  it('script errors name the segment and channel', () => {
    expect(() => [...scriptSteps(parseActionScript([{ frames: 1, action: { jump: 1 } }]), FAKE_SPACE)]).toThrow(/segments\[0\].*'jump'/);
    expect(() => [...scriptSteps(parseActionScript([{ frames: 1, action: { move: 3 } }]), FAKE_SPACE)]).toThrow(/move=3 is outside/);
    expect(() => parseActionScript({ segments: [{ frames: 0 }] })).toThrow(/frames must be a positive integer/);
    expect(() => parseActionScript({ segments: [{ frames: 1, bogus: 'x' }] })).toThrow(/bogus: unknown field/);
    expect(() => [...scriptSteps(parseActionScript([{ frames: 1, bogus: 1 }]), FAKE_SPACE)]).toThrow(/'bogus' is not in this world's action space/);
  });

  it('accepts the flat segment form with named events', () => {
    const steps = [...scriptSteps(parseActionScript([{ frames: 2, move: 1, turn: 0.5, events: ['spawn'] }]), FAKE_SPACE)];
    expect(steps.map((s) => Array.from(s.action))).toEqual([
      [1, 0, 0.5, 0, 1],
      [1, 0, 0.5, 0, 0],
    ]);
  });
});

describe('SoakMonitor', () => {
  it('flags blank and frozen frames and measures memory growth after warm-up', async () => {
    const { SoakMonitor } = await import('../src/loop/soak.js');
    let rss = 100;
    const m = new SoakMonitor(2, 1, () => rss);
    const frame = (v: number, varied = true) => ({ width: 2, height: 1, index: 0, rgb: Uint8Array.from([v, varied ? v + 1 : v, v, v, v, v]) });
    m.stepFinished(frame(1), { decode: 1 });
    m.stepFinished(frame(2), { decode: 1 }); // warm-up ends: baseline 100
    rss = 110;
    m.stepFinished(frame(3, false), { decode: Number.NaN }); // blank + non-finite
    m.stepFinished(frame(3, false), {}); // frozen (same as previous)
    m.stepFinished(frame(3, false), {});
    const r = m.report();
    expect(r.frames).toBe(5);
    expect(r.blankFrames).toBe(3);
    expect(r.nonFiniteTimings).toBe(1);
    expect(r.longestFrozenRun).toBe(2);
    expect(r.rssGrowthPct).toBeCloseTo(10, 5);
    // The JS side beside it, to tell V8's reservation and buffers from native growth.
    expect(r.heapTotalEndMb).toBeGreaterThanOrEqual(r.heapUsedEndMb);
    expect(r.externalEndMb).toBeGreaterThan(0);
  });
});
