import { describe, expect, it } from 'vitest';
import { FakeClock } from '../src/loop/clock.js';
import { GameLoop, type InputPoll, type LoopInput, type LoopOutput } from '../src/loop/game_loop.js';
import { loopRates, modelTickHz, tickHzOf, WORLD_TICK_HZ } from '../src/tick_rate.js';
import type { Frame } from '../src/source.js';
import { FakeSource } from './fake_source.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecording } from '../src/record/replay.js';
import { runCli } from './helpers/cli.js';

class HoldInput implements LoopInput {
  polls = 0;
  poll(): InputPoll {
    this.polls++;
    return { commands: [], changed: false };
  }
  next() {
    return { action: new Float32Array(5), reset: false };
  }
}

class Presents implements LoopOutput {
  fresh: number[] = [];
  repaints = 0;
  constructor(private readonly clock: FakeClock) {}
  present(_frame: Frame, fresh: boolean): void {
    if (fresh) this.fresh.push(this.clock.now());
    else this.repaints++;
  }
}

/** Runs `frames` steps in real time on a fake clock; returns when the steps' frames appeared. */
async function run(fps: number, displayFps: number | undefined, frames: number, stepMs = 0) {
  const clock = new FakeClock();
  const src = stepMs > 0 ? new FakeSource(clock, stepMs) : new FakeSource();
  const input = new HoldInput();
  const out = new Presents(clock);
  const loop = new GameLoop({ source: src, input, output: out, clock, fps, ...(displayFps ? { displayFps } : {}), maxFrames: frames });
  const r = await loop.run();
  return { r, out, input, rep: loop.profiler.report() };
}

describe('simulation tick vs display rate', () => {
  it('a 60 Hz display keeps a 30 Hz world at 30 steps per second, polling input at 60', async () => {
    const { r, out, input, rep } = await run(30, 60, 30);
    expect(r.steps).toBe(30);
    // Step frames (after the opening frame) are one simulation period apart, not one display period.
    const gaps = out.fresh.slice(1).map((t, i) => t - out.fresh[i]!);
    for (const g of gaps.slice(1)) expect(g).toBeCloseTo(1000 / 30, 6);
    expect(input.polls).toBeGreaterThanOrEqual(2 * 29);
    expect(rep.droppedFrames).toBe(0);
  });

  it('the same world at --fps 60 (no display rate) steps twice as fast: the old single-rate behaviour', async () => {
    const { out } = await run(60, undefined, 30);
    const gaps = out.fresh.slice(2).map((t, i) => t - out.fresh[i + 1]!);
    for (const g of gaps) expect(g).toBeCloseTo(1000 / 60, 6);
  });

  it('a display rate that is not a multiple keeps the average simulation rate exact', async () => {
    const { out } = await run(30, 45, 31);
    expect(out.fresh).toHaveLength(31);
    const span = out.fresh[30]! - out.fresh[0]!;
    // 31 steps span 30 simulation periods, give or take one display tick of phase.
    expect(Math.abs(span - 30 * (1000 / 30))).toBeLessThanOrEqual(1000 / 45 + 1e-6);
  });

  it('an asynchronous step that finishes within its simulation tick is not a dropped frame', async () => {
    const { rep } = await run(30, 60, 20, 10);
    expect(rep.droppedFrames).toBe(0);
  });

  it('refuses a display rate below the simulation tick', () => {
    const clock = new FakeClock();
    expect(() => new GameLoop({ source: new FakeSource(), input: new HoldInput(), clock, fps: 30, displayFps: 20 })).toThrow(/below fps 30/);
    expect(() => loopRates(30, undefined, 20)).toThrow(/--display-fps 20 is below the simulation tick 30/);
  });

  it('resolves the rates from the world: its own tick unless --fps is given, with a note when it differs', () => {
    expect(loopRates(30, undefined, undefined)).toEqual({ fps: 30, displayFps: 30 });
    expect(loopRates(30, undefined, 60)).toEqual({ fps: 30, displayFps: 60 });
    const fast = loopRates(30, 60, undefined);
    expect([fast.fps, fast.displayFps]).toEqual([60, 60]);
    expect(fast.note).toMatch(/--fps 60 steps this world at 2x its own tick \(30\/s\)/);
    expect(loopRates(15, undefined, undefined).fps).toBe(15);
  });

  it('takes a model\'s tick from its manifest, else the truth world\'s', () => {
    expect(WORLD_TICK_HZ).toBe(30);
    expect(modelTickHz({})).toBe(30);
    expect(modelTickHz({ training: { steps: 100 } })).toBe(30);
    expect(modelTickHz({ training: { tick_hz: 15 } })).toBe(15);
    expect(modelTickHz({ training: { tick_hz: 0 } })).toBe(30);
    expect(modelTickHz({ training: { tick_hz: '60' } })).toBe(30);
    expect(tickHzOf({})).toBe(30);
    expect(tickHzOf({ tickHz: 24 })).toBe(24);
  });

  it('the CLI records the simulation tick as fps: the world\'s own by default, --fps when given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-tick-'));
    const plain = await runCli(['truth', '--headless', '--frames', '3', '--display-fps', '60', '--realtime', '--record', join(dir, 'a.wlrec')]);
    expect(plain.code, plain.text).toBe(0);
    expect(plain.text).not.toMatch(/note: --fps/);
    expect(loadRecording(join(dir, 'a.wlrec')).header.settings.fps).toBe(30);
    const fast = await runCli(['truth', '--headless', '--frames', '3', '--fps', '60', '--record', join(dir, 'b.wlrec')]);
    expect(fast.code, fast.text).toBe(0);
    expect(fast.text).toMatch(/note: --fps 60 steps this world at 2x its own tick/);
    expect(loadRecording(join(dir, 'b.wlrec')).header.settings.fps).toBe(60);
    const slow = await runCli(['truth', '--headless', '--frames', '3', '--display-fps', '20']);
    expect(slow.code).toBe(2);
    expect(slow.text).toMatch(/--display-fps 20 is below the simulation tick 30/);
  });
});
