/**
 * `worldloop bench`: end-to-end frame times, headless, for the ground-truth world and a model —
 * one JSON line per measurement (median / p95 / p99) — and an optional soak run.
 */
import { existsSync } from 'node:fs';
import { machineName } from '../../profiler/machine.js';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { MODEL_FLAGS } from '../model_flags.js';
import { GameLoop, type StepObserver } from '../../loop/game_loop.js';
import { ScriptInput } from '../../input/script_input.js';
import { randomSteps } from '../../loop/session.js';
import { SoakMonitor } from '../../loop/soak.js';
import { DEFAULT_MODEL, resolveModelPath } from '../../play/model_path.js';
import { openWorld } from '../../play/open_world.js';
import type { OpenedWorld, PlayWorld } from '../../play/play_world.js';
import type { OpenWorldOptions } from '../../play/open_world.js';
import { worldOptions } from '../play_flags.js';
import type { ProfileReport } from '../../profiler/frame_profiler.js';
import { frameBudgetFor, type FrameBudget } from '../../loop/frame_budget.js';

const help = `usage: worldloop bench [--frames N] [--fps N] [--model PATH] [--backend B] [--steps N]
                       [--truth-only] [--runtime] [--no-frame-budget] [--soak [--minutes M] [--paced]]

End-to-end frame times without a window, printed as JSON lines
  {"bench", "machine", "backend", "model", "median_ms", "p95_ms", "p99_ms", ...}:
  e2e_step     each frame as fast as possible (lockstep): the cost of one step of the loop
  e2e_paced    the real-time loop at --fps: frame interval (p99 vs median = pacing quality),
               dropped frames and input-to-frame latency in frames
for the ground-truth world and, when the model file exists, for the model.

  --frames N      frames per measurement (default 300)
  --fps N         tick rate of the paced run (default 30)
  --model PATH    model file (default ${DEFAULT_MODEL}; skipped with a note when missing)
  --backend B     cpu, cuda or auto (default auto)
  --steps N       denoising steps per frame (default: the model's)
  --threads N     CPU threads for the model
  --truth-only    measure the ground-truth world only
  --runtime       measure each world inside the runtime play runs around it (memory store,
                  revisit anchoring, memory slots: what a player gets) instead of alone; the
                  lines then say "runtime": true and count the anchored frames
  --no-frame-budget  paced model runs spend every frame's full denoiser evaluations, as
                  play --no-frame-budget does (default: the frame budget lowers them on frames
                  that would miss the tick; lines count "budget_limited_frames")
  --soak          instead: run random actions headless for --frames (or --minutes) and report
                  resident-memory growth, blank frames and non-finite timings
  --minutes M     soak duration (overrides --frames)
  --paced         soak in the real-time loop at --fps (like a player would) instead of as fast
                  as possible
  --seed N        world seed (default 1)`;

function line(bench: string, backend: string, model: string, s: { median: number; p95: number; p99: number }, extra: Record<string, unknown>): void {
  const r = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);
  console.log(JSON.stringify({ bench, machine: machineName(), backend, model, median_ms: r(s.median), p95_ms: r(s.p95), p99_ms: r(s.p99), ...extra }));
}

/** "runtime" and, inside play's runtime, the frames anchoring re-grounded (its bridges cost steps). */
function runtimeFields(opened: OpenedWorld, runtime: boolean): Record<string, unknown> {
  if (!runtime) return { runtime: false };
  const anchor = (opened as Partial<PlayWorld>).anchor;
  return { runtime: true, anchored_frames: anchor ? anchor.anchored : null };
}

/** What the frame budget did in a paced model run (null where none ran). */
function budgetFields(budget: FrameBudget | undefined): Record<string, unknown> {
  if (!budget) return { frame_budget: false };
  return {
    frame_budget: true,
    budget_limited_frames: budget.limitedFrames,
    evals_per_frame_mean: Math.round(budget.meanEvals * 1000) / 1000,
    evals_full: budget.fullEvals,
  };
}

/** Each loop gets a freshly opened world, so a runtime's memory store does not carry over. */
async function withWorld(open: () => Promise<OpenedWorld>, fn: (w: OpenedWorld) => Promise<void>): Promise<void> {
  const opened = await open();
  try {
    await fn(opened);
  } finally {
    await opened.close();
  }
}

/** A loop of random actions over an opened world: lockstep, or paced at `paceFps` (under the
 * frame budget, as play runs, unless `useBudget` is false). */
function randomLoop(
  opened: OpenedWorld,
  o: { frames: number; seed: number; inputSeed: number; paceFps: number | undefined; useBudget: boolean; observers?: StepObserver[] },
): { loop: GameLoop; budget: FrameBudget | undefined } {
  const source = opened.source;
  const budget = o.paceFps !== undefined && o.useBudget ? frameBudgetFor(source, o.paceFps) : undefined;
  const loop = new GameLoop({
    ...(budget ? { frameBudget: budget } : {}),
    source,
    input: new ScriptInput(randomSteps(source.actionSpace, o.inputSeed)),
    realtime: o.paceFps !== undefined,
    ...(o.paceFps !== undefined ? { fps: o.paceFps } : {}),
    maxFrames: o.frames,
    seed: o.seed,
    observers: [...(o.observers ?? []), ...opened.observers],
  });
  return { loop, budget };
}

/** One loop of random actions over a freshly opened world: lockstep, or paced at `paceFps`. */
async function runLoop(
  open: () => Promise<OpenedWorld>,
  frames: number,
  seed: number,
  inputSeed: number,
  paceFps: number | undefined,
  useBudget: boolean,
  report: (opened: OpenedWorld, r: ProfileReport, budget: FrameBudget | undefined) => void,
): Promise<void> {
  await withWorld(open, async (opened) => {
    const { loop, budget } = randomLoop(opened, { frames, seed, inputSeed, paceFps, useBudget });
    await loop.run();
    report(opened, loop.profiler.report(), budget);
  });
}

async function measure(open: () => Promise<OpenedWorld>, name: string, frames: number, fps: number, seed: number, runtime: boolean, useBudget: boolean): Promise<void> {
  // Lockstep: per-frame cost (stages as the source reports them).
  await runLoop(open, frames, seed, seed, undefined, false, (opened, rl) => {
    const stageMedians = Object.fromEntries(Object.entries(rl.stages).map(([k, v]) => [`${k}_median_ms`, Math.round(v.median * 1000) / 1000]));
    line('e2e_step', opened.backend, name, rl.stages.step!, {
      frames: rl.frames - 1,
      width: opened.source.width,
      height: opened.source.height,
      ...stageMedians,
      ...runtimeFields(opened, runtime),
    });
  });
  // Paced: the interactive loop at fps (no window), frame interval and latency.
  await runLoop(open, frames, seed, seed + 1, fps, useBudget, (opened, rp, budget) => {
    line('e2e_paced', opened.backend, name, rp.frame, {
      fps_target: fps,
      fps_achieved: Math.round(rp.fps * 10) / 10,
      p99_over_median: Math.round((rp.frame.p99 / rp.frame.median) * 1000) / 1000,
      dropped: rp.droppedFrames,
      latency_frames_median: rp.latencyFrames.median,
      latency_frames_max: rp.latencyFrames.max,
      frames: rp.frames,
      ...runtimeFields(opened, runtime),
      ...(opened.source.kind === 'model' ? budgetFields(budget) : {}),
    });
  });
}

async function soak(
  opened: OpenedWorld,
  name: string,
  frames: number,
  minutes: number | undefined,
  seed: number,
  runtime: boolean,
  useBudget: boolean,
  pacedFps?: number,
): Promise<void> {
  const started = performance.now();
  const deadline = minutes !== undefined ? started + minutes * 60_000 : Infinity;
  const total = minutes !== undefined ? 0 : frames;
  // Baseline after the first tenth of the run: the JS heap and allocators settle first.
  const warmup =
    minutes !== undefined ? (pacedFps !== undefined ? Math.max(100, Math.round(minutes * 6 * pacedFps)) : 2000) : Math.max(50, Math.floor(frames / 10));
  const monitor = new SoakMonitor(warmup);
  const { loop, budget } = randomLoop(opened, { frames: total, seed, inputSeed: seed, paceFps: pacedFps, useBudget, observers: [monitor] });
  const stopper = setInterval(() => {
    if (performance.now() >= deadline) loop.stop();
  }, 250);
  try {
    await loop.run();
  } finally {
    clearInterval(stopper);
  }
  const r = monitor.report();
  const rep = loop.profiler.report();
  line('soak', opened.backend, name, rep.stages.step!, {
    paced_fps: pacedFps ?? null,
    minutes: Math.round(((performance.now() - started) / 60_000) * 100) / 100,
    frame_p99_over_median: pacedFps !== undefined ? Math.round((rep.frame.p99 / rep.frame.median) * 1000) / 1000 : null,
    dropped: rep.droppedFrames,
    frames: r.frames,
    rss_start_mb: r.rssStartMb,
    rss_end_mb: r.rssEndMb,
    rss_max_mb: r.rssMaxMb,
    rss_growth_pct: r.rssGrowthPct,
    blank_frames: r.blankFrames,
    nonfinite_timings: r.nonFiniteTimings,
    longest_frozen_run: r.longestFrozenRun,
    heap_used_start_mb: r.heapUsedStartMb,
    heap_used_end_mb: r.heapUsedEndMb,
    heap_total_start_mb: r.heapTotalStartMb,
    heap_total_end_mb: r.heapTotalEndMb,
    external_start_mb: r.externalStartMb,
    external_end_mb: r.externalEndMb,
    ...runtimeFields(opened, runtime),
    ...(opened.source.kind === 'model' && pacedFps !== undefined ? budgetFields(budget) : {}),
  });
}

const command: Command = {
  name: 'bench',
  summary: 'end-to-end frame times (headless), JSON lines; --soak for long runs',
  help,
  async run(argv) {
    const a = parseArgs('bench', argv, {
      ...MODEL_FLAGS,
      frames: { kind: 'int', min: 10, max: 100_000_000 },
      fps: { kind: 'number', min: 1, max: 1000 },
      steps: { kind: 'int', min: 1, max: 8 },
      'truth-only': { kind: 'boolean' },
      runtime: { kind: 'boolean' },
      'no-frame-budget': { kind: 'boolean' },
      soak: { kind: 'boolean' },
      paced: { kind: 'boolean' },
      minutes: { kind: 'number', min: 0.01, max: 24 * 60 },
      seed: { kind: 'int', min: 0, max: 2 ** 32 - 1 },
    });
    const frames = (a.flags.frames as number | undefined) ?? 300;
    const fps = (a.flags.fps as number | undefined) ?? 30;
    const seed = (a.flags.seed as number | undefined) ?? 1;
    const minutes = a.flags.minutes as number | undefined;
    // The worlds alone (bare): the loop's cost without the runtime play runs around a model;
    // --runtime: inside it, as play opens them.
    const runtime = a.flags.runtime === true;
    const openAs = (o: Omit<OpenWorldOptions, 'bare'>): Promise<OpenedWorld> => (runtime ? openWorld({ ...o, bare: false }) : openWorld({ ...o, bare: true }));
    const sources: { name: string; open: () => Promise<OpenedWorld> }[] = [{ name: 'truth', open: () => openAs({ kind: 'truth', seed }) }];
    const path = resolveModelPath((a.flags.model as string | undefined) ?? DEFAULT_MODEL);
    if (!a.flags['truth-only']) {
      if (existsSync(path)) {
        sources.push({
          name: path,
          open: () => openAs({ ...worldOptions(a), kind: 'model', modelPath: path, seed }),
        });
      } else {
        console.error(`bench: no model at '${path}': measuring the ground-truth world only`);
      }
    }
    for (const s of sources) {
      if (a.flags.soak) await withWorld(s.open, (opened) => soak(opened, s.name, frames, minutes, seed, runtime, a.flags['no-frame-budget'] !== true, a.flags.paced ? fps : undefined));
      else await measure(s.open, s.name, frames, fps, seed, runtime, a.flags['no-frame-budget'] !== true);
    }
    return 0;
  },
};
export default command;
