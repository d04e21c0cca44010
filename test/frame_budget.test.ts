// The frame budget (src/loop/frame_budget.ts): the controller's cost model, how a model world
// spends a budget (ModelWorld.setEvalBudget), the loop applying it and a recording keeping it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameBudget, frameBudgetFor } from '../src/loop/frame_budget.js';
import { FakeClock } from '../src/loop/clock.js';
import { GameLoop, type StepObserver } from '../src/loop/game_loop.js';
import { ScriptInput } from '../src/input/script_input.js';
import { loadModel } from '../src/model.js';
import { ModelWorld } from '../src/model_world.js';
import { projectRoot } from '../src/native.js';
import { Recorder } from '../src/record/recorder.js';
import { decodeRecording, encodeRecording, FLAG_BUDGET } from '../src/record/format.js';
import { RecordingInput } from '../src/record/replay.js';
import type { Frame, StageTimes, WorldEdits } from '../src/source.js';
import { FAKE_SPACE, FakeSource } from './fake_source.js';

const FIX = join(projectRoot(), 'native', 'tests', 'fixtures');

/** Feeds `n` steps that each spent `evals` at `per` ms an evaluation plus `fixed` ms. */
function feed(b: FrameBudget, n: number, per: number, fixed: number): void {
  for (let i = 0; i < n; i++) {
    const evals = b.evalBudget() || b.fullEvals;
    b.record(evals, { sample: evals * per, decode: fixed }, evals * per + fixed);
  }
}

describe('FrameBudget', () => {
  it('lowers the budget to what fits the tick at once, and raises it one evaluation at a time', () => {
    // The Zen 3's frame: ~10 ms an evaluation, ~12 ms decode; a 30 FPS tick at 90 % is 30 ms.
    const b = new FrameBudget({ periodMs: 1000 / 30, fullEvals: 4, warmup: 4, raiseAfter: 5 });
    expect(b.evalBudget()).toBe(0);
    feed(b, 3, 10, 12);
    expect(b.evalBudget()).toBe(0); // still warming up
    feed(b, 1, 10, 12);
    expect(b.fitting()).toBe(1);
    expect(b.evalBudget()).toBe(1);
    // The machine gets faster (3 ms an evaluation, 4 ms fixed): room for all four, but the budget
    // waits until the window's upper quartile says so, then climbs one evaluation per 5 steps.
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) {
      feed(b, 1, 3, 4);
      seen.push(b.evalBudget());
    }
    expect(seen.at(-1)).toBe(0);
    const changes = seen.filter((v, i) => i > 0 && v !== seen[i - 1]);
    expect(changes).toEqual([2, 3, 0]);
    expect(b.limitedFrames).toBeGreaterThan(0);
    expect(b.summary()).toMatch(/frame budget: \d+ of \d+ frames \(\d+ %\) spent fewer denoiser evaluations than the world's 4/);
  });

  it('one slow neighbour does not move it: the cost model reads the upper quartile of a window', () => {
    const b = new FrameBudget({ periodMs: 1000 / 30, fullEvals: 4, window: 24 });
    feed(b, 24, 3, 4);
    expect(b.evalBudget()).toBe(0);
    b.record(4, { sample: 200, decode: 30 }, 230);
    expect(b.evalBudget()).toBe(0);
    expect(b.summary()).toBeUndefined();
  });

  it('without the engine split (CUDA) all of a step counts as sampling', () => {
    const b = new FrameBudget({ periodMs: 10, fullEvals: 3, warmup: 1 });
    b.record(3, { model_step: 12 }, 12);
    expect(b.fitting()).toBe(2); // 9 ms of room at 4 ms an evaluation
  });

  it('refuses nonsense settings, and only model worlds get one', () => {
    expect(() => new FrameBudget({ periodMs: 0, fullEvals: 2 })).toThrow(/periodMs must be a positive number/);
    expect(() => new FrameBudget({ periodMs: 10, fullEvals: 0 })).toThrow(/fullEvals must be a positive integer/);
    expect(() => new FrameBudget({ periodMs: 10, fullEvals: 2, headroom: 1.5 })).toThrow(/headroom must be in \(0, 1\]/);
    expect(() => new FrameBudget({ periodMs: 10, fullEvals: 2, window: 0 })).toThrow(/window must be a positive integer/);
    expect(frameBudgetFor(new FakeSource(), 30)).toBeUndefined();
  });
});

/** A fake model world: a step costs `fixedMs` plus `perEvalMs` per evaluation it may spend. */
class BudgetedSource extends FakeSource {
  readonly fullEvals = 4;
  budget = 0;
  readonly budgets: number[] = [];
  private evals = 0;
  constructor(
    private readonly fake: FakeClock,
    private readonly perEvalMs: number,
    private readonly fixedMs: number,
  ) {
    super();
  }
  setEvalBudget(evals: number): void {
    this.budget = evals;
    this.budgets.push(evals);
  }
  lastStepEvals(): number {
    return this.evals;
  }
  override async step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    this.evals = this.budget > 0 ? Math.min(this.budget, this.fullEvals) : this.fullEvals;
    const sample = this.evals * this.perEvalMs;
    if (sample + this.fixedMs > 0) await this.fake.delay(sample + this.fixedMs);
    const { frame } = await super.step(action);
    return { frame, stages: { sample, decode: this.fixedMs } };
  }
}

function stillSteps() {
  return (function* () {
    for (;;) yield { action: new Float32Array(FAKE_SPACE.channels.length), reset: false };
  })();
}

describe('the loop under a frame budget', () => {
  it('keeps the tick that full-quality frames miss, and tells observers each change', async () => {
    const run = async (withBudget: boolean) => {
      const clock = new FakeClock();
      const src = new BudgetedSource(clock, 10, 12);
      const edits: WorldEdits[] = [];
      const obs: StepObserver = { stepStarted: (_a, _r, e) => void (e.evalBudget !== undefined && edits.push(e)) };
      const budget = withBudget ? frameBudgetFor(src, 30) : undefined;
      const loop = new GameLoop({
        source: src,
        input: new ScriptInput(stillSteps()),
        clock,
        fps: 30,
        maxFrames: 120,
        observers: [obs],
        ...(budget ? { frameBudget: budget } : {}),
      });
      await loop.run();
      return { src, edits, dropped: loop.profiler.report().droppedFrames, budget };
    };
    const full = await run(false);
    const kept = await run(true);
    expect(full.dropped).toBeGreaterThan(40); // 52 ms frames on a 33 ms tick
    // After the warm-up frames the budget is down to one evaluation: 22 ms frames fit.
    expect(kept.dropped).toBeLessThan(8);
    expect(kept.src.budgets).toEqual([1]);
    expect(kept.edits).toEqual([{ evalBudget: 1 }]);
    expect(kept.budget!.limitedFrames).toBeGreaterThan(100);
  });

  it('a lockstep loop applies budgets its input names (a replay) and ignores a controller', async () => {
    const clock = new FakeClock();
    const src = new BudgetedSource(clock, 0, 0);
    const wanted = [undefined, 2, 2, undefined, 0, 1];
    const steps = wanted.map((evalBudget) => ({ action: new Float32Array(5), reset: false, ...(evalBudget !== undefined ? { evalBudget } : {}) }));
    const budget = new FrameBudget({ periodMs: 0.001, fullEvals: 4, warmup: 1 });
    const loop = new GameLoop({ source: src, input: new ScriptInput(steps[Symbol.iterator]()), clock, realtime: false, frameBudget: budget, maxFrames: 6 });
    await loop.run();
    // Set on change only: 2, then 0, then 1 (the same 2 again is no change).
    expect(src.budgets).toEqual([2, 0, 1]);
  });
});

describe('a model world spends its budget', () => {
  it('sampler steps give way first to the bridge, and a budget of one is a one-step world', async () => {
    const model = await loadModel(join(FIX, 'tiny_model.safetensors'), { threads: 1 });
    try {
      const { frameWidth: W, frameHeight: H, context: K, actionDim: A } = model.dims;
      const opening = async () => Array.from({ length: K }, (_, i) => new Uint8Array(W * H * 3).map((_, j) => (i * 13 + j * 5) & 255));
      const act = new Float32Array(A).fill(0.5);
      const two = new ModelWorld(model, { seed: 3, opening, steps: 2 });
      const one = new ModelWorld(model, { seed: 3, opening, steps: 1 });
      expect(two.fullEvals).toBe(2);
      await two.reset();
      await one.reset();
      two.setEvalBudget(1);
      for (let i = 0; i < 3; i++) {
        const a = (await two.step(act)).frame.rgb.slice();
        const b = (await one.step(act)).frame.rgb;
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        expect(two.lastStepEvals()).toBe(1);
      }
      two.setEvalBudget(0);
      await two.step(act);
      expect(two.lastStepEvals()).toBe(2);

      // Anchored under a budget of 2: the provider is asked for bridges of at most 2 steps, and a
      // 2-step bridge leaves one sampler step (the same frame a 1-step world makes from it).
      const view = new Float32Array(model.latentSize).map((_, i) => Math.cos(i * 0.2));
      const bridge = [new Float32Array(A).fill(0.25), new Float32Array(A).fill(-0.25)];
      const asked: number[] = [];
      for (const w of [two, one]) {
        w.setAnchorProvider((_t, _a, maxSteps) => {
          asked.push(maxSteps);
          return { latent: view, actions: bridge.slice(0, Math.min(2, maxSteps)), viewTime: 5 };
        }, 3);
      }
      expect(two.fullEvals).toBe(4);
      two.setEvalBudget(2);
      const a = (await two.step(act)).frame.rgb.slice();
      expect(two.lastStepEvals()).toBe(2);
      const b = (await one.step(act)).frame.rgb;
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(asked).toEqual([2, 8]);
      // A provider that ignores the cap is refused, not run over budget.
      two.setAnchorProvider(() => ({ latent: view, actions: bridge, viewTime: 5 }), 3);
      two.setEvalBudget(1);
      await expect(two.step(act)).rejects.toThrow(/bridge of 2 steps is over the frame's budget of 1/);
      expect(() => two.setEvalBudget(-1)).toThrow(/eval budget must be an integer in 0\.\.64/);
      expect(() => two.setEvalBudget(1.5)).toThrow(/eval budget must be an integer/);
    } finally {
      await model.close();
    }
  });
});

describe('recordings keep the frame budget', () => {
  it('a recorder writes each change, the reader checks it, replay input gives it back', () => {
    const rec = new Recorder(
      {
        format: 'worldloop-recording',
        sourceId: 'sha256:' + '0'.repeat(64),
        sourceKind: 'model',
        label: 't',
        backend: 'cpu',
        seed: 1,
        settings: { fps: 30, width: 8, height: 8 },
        actionSpace: FAKE_SPACE,
      },
      5,
    );
    const frame: Frame = { width: 8, height: 8, rgb: new Uint8Array(192), index: 0 };
    rec.sessionStarted(frame);
    const budgets = [undefined, 1, undefined, 0];
    for (const evalBudget of budgets) {
      rec.stepStarted(new Float32Array(5), false, evalBudget !== undefined ? { evalBudget } : {});
      rec.stepFinished(frame, {});
    }
    const bytes = rec.encode();
    const r = decodeRecording(bytes, 'r.wlrec');
    expect(Array.from(r.flags).map((f) => (f & FLAG_BUDGET) !== 0)).toEqual([false, true, false, true]);
    expect(r.header.evalBudgets).toEqual([1, 0]);
    const input = new RecordingInput(r);
    expect(budgets.map(() => input.next()!.evalBudget)).toEqual(budgets);

    const bad = (mutate: (h: Record<string, unknown>) => void) => {
      const copy = decodeRecording(bytes, 'r.wlrec');
      mutate(copy.header as unknown as Record<string, unknown>);
      return () => decodeRecording(encodeRecording(copy), 'bad.wlrec');
    };
    expect(bad((h) => (h.evalBudgets = [1]))).toThrow(/bad\.wlrec: 2 steps changed the frame budget but header\.evalBudgets has 1 entries/);
    expect(bad((h) => (h.evalBudgets = [1, 65]))).toThrow(/header\.evalBudgets\[1\] = 65 is not an integer in 0\.\.64/);
    expect(bad((h) => (h.evalBudgets = [1, 'x']))).toThrow(/header\.evalBudgets\[1\] = "x"/);
    expect(bad((h) => ((h.sourceKind = 'truth'), (h.sourceId = 'truth:1'), (h.backend = 'truth')))).toThrow(/only a model world has a frame budget/);
  });
});
