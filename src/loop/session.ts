/**
 * One interactive or headless session over any FrameSource — what `play` and `truth` run:
 * window + input mapping (or an action script / random actions when headless), the game loop,
 * profiler (printed at the end), optional Chrome trace and recording, HUD, screenshots.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameSource } from '../source.js';
import { encodePng } from '../image/png.js';
import { WorldloopError } from '../errors.js';
import { Window } from '../window.js';
import { ActionMapper } from '../input/action_mapper.js';
import { bindableChannels, loadBindingsFile, type Bindings } from '../input/bindings.js';
import { defaultBindings } from '../input/default_bindings.js';
import { WindowInput } from '../input/window_input.js';
import { ScriptInput } from '../input/script_input.js';
import { FrameProfiler, formatReport, type ProfileReport } from '../profiler/frame_profiler.js';
import { paceAdvice } from '../profiler/pace_advice.js';
import { frameBudgetFor } from './frame_budget.js';
import { TraceRecorder } from '../profiler/trace.js';
import { Recorder } from '../record/recorder.js';
import { worldLayout } from '../world.js';
import { loadActionScript, randomAction, scriptSteps, seededRandom, type ScriptStep } from './action_script.js';
import type { CommandName } from '../input/bindings.js';
import type { Canvas } from '../hud/text.js';
import { placeKeysLines } from '../hud/hud.js';
import { GameLoop, type LoopInput, type LoopOutput, type LoopResult, type StepObserver } from './game_loop.js';
import { WindowOutput } from './window_output.js';
import { loopRates, tickHzOf } from '../tick_rate.js';

export interface SessionOptions {
  source: FrameSource;
  /** Identity for recordings: "sha256:..." or "truth:<seed>". */
  sourceId: string;
  backend: string;
  seed: number;
  /** Simulation tick, steps per second (default: the source's own, src/tick_rate.ts). */
  fps?: number;
  /** Presents per second in real time (default: the simulation tick; not below it). */
  displayFps?: number;
  steps?: number;
  headless: boolean;
  /** Headless input: an action script file; otherwise random actions (seeded). */
  script?: string;
  /** Stop after this many frames (0 = until quit / end of script). */
  frames: number;
  record?: string;
  trace?: string;
  bindings?: string;
  /** Extra SDL controller mappings file. */
  padMappings?: string;
  window?: { width: number; height: number; linear: boolean; vsync: boolean; fullscreen: boolean; renderer: 'auto' | 'software' };
  hud: boolean;
  /** Where F12 screenshots go. */
  shotsDir: string;
  /** Headless: pace at the display rate like the window would (true) or run as fast as possible (false). */
  realtime?: boolean;
  observers?: StepObserver[];
  /** More settings for the recording's header (what a replay needs to rebuild the world). */
  recordSettings?: Record<string, unknown>;
  output?: LoopOutput;
  /** Drawn into the HUD under its text while the HUD is on (e.g. the designer's memory map). */
  hudPanel?: (c: Canvas) => void;
  /** Commands the session itself does not handle (e.g. quicksave/quickload of a persistent world). */
  onCommand?: (cmd: CommandName, loop: GameLoop) => void | Promise<void>;
  log?: (line: string) => void;
  /** What else the end-of-session pace advice may suggest when ticks were dropped (paceAdvice). */
  paceTries?: readonly string[];
  /** Real-time model worlds: lower a frame's denoiser evaluations when it would miss the tick
   * (src/loop/frame_budget.ts; default true). */
  frameBudget?: boolean;
}

export interface SessionResult {
  loop: LoopResult;
  report: ProfileReport;
  window?: { renderer: string; videoDriver: string; software: boolean; vsync: boolean };
}

/** The defaults, or a bindings file merged over them; `channels` are the action channels of the
 * source it will drive (bindings may name these and the ground-truth world's). */
export function resolveBindings(path?: string, channels: readonly string[] = []): Bindings {
  return path ? loadBindingsFile(path, defaultBindings(), bindableChannels(channels)) : defaultBindings();
}

/** Random actions forever (headless soak / benchmarks), repeatable from a seed. */
export function* randomSteps(space: FrameSource['actionSpace'], seed: number): Generator<ScriptStep> {
  const rand = seededRandom(seed ^ 0x9e3779b9);
  for (;;) yield { action: randomAction(space, rand), reset: false };
}

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const { source } = o;
  const rates = loopRates(tickHzOf(source), o.fps, o.displayFps);
  if (rates.note) log(rates.note);
  const profiler = new FrameProfiler();
  const trace = o.trace ? new TraceRecorder() : undefined;
  const observers: StepObserver[] = [...(o.observers ?? [])];
  let recorder: Recorder | undefined;
  if (o.record) {
    recorder = new Recorder(
      {
        format: 'worldloop-recording',
        sourceId: o.sourceId,
        sourceKind: source.kind,
        label: source.label,
        backend: o.backend,
        seed: o.seed,
        settings: { ...(o.recordSettings ?? {}), fps: rates.fps, width: source.width, height: source.height, ...(o.steps ? { steps: o.steps } : {}) },
        actionSpace: source.actionSpace,
        worldVersion: worldLayout().worldVersion,
      },
      source.actionSpace.channels.length,
    );
    observers.push(recorder);
  }

  // Read on every path, headless included: a bad --bindings file is refused even where no key
  // is ever pressed, so the same command line cannot pass here and fail in a window.
  const bindings = resolveBindings(o.bindings, source.actionSpace.channels.map((c) => c.name));
  let window: Window | undefined;
  let input: LoopInput;
  let output: LoopOutput | undefined = o.output;
  let windowOut: WindowOutput | undefined;
  let windowInput: WindowInput | undefined;
  let paused = () => false;
  const realtime = o.headless ? (o.realtime ?? false) : true;
  const budget = realtime && o.frameBudget !== false ? frameBudgetFor(source, rates.fps) : undefined;
  if (!o.headless) {
    const w = o.window ?? { width: 512, height: 512, linear: false, vsync: true, fullscreen: false, renderer: 'auto' as const };
    window = Window.open({ title: `worldloop — ${source.label}`, ...w });
    if (o.padMappings) {
      try {
        log(`gamepad mappings: ${window.addControllerMappings(o.padMappings)} from ${o.padMappings}`);
      } catch (err) {
        window.close();
        throw err;
      }
    }
    const mapper = new ActionMapper(source.actionSpace, bindings);
    const placeKeys = source.placeObject ? placeKeysLines(source.objectKinds?.() ?? [], bindings.commands) : [];
    windowInput = new WindowInput(window, mapper);
    input = windowInput;
    const wi = windowInput;
    windowOut = new WindowOutput(window, profiler, () => ({
      label: `${source.label} · ${o.backend}`,
      paused: paused(),
      recording: !!recorder,
      mouseCaptured: wi.mouseCaptured,
      ...(source.light ? { light: source.light() } : {}),
      ...(placeKeys.length ? { placeKeys } : {}),
      ...(budget ? { evalBudget: { evals: budget.evalBudget(), full: budget.fullEvals } } : {}),
    }));
    windowOut.hudVisible = o.hud;
    windowOut.hudPanel = o.hudPanel;
    output = windowOut;
  } else {
    const steps = o.script ? scriptSteps(loadActionScript(o.script), source.actionSpace, o.script) : randomSteps(source.actionSpace, o.seed);
    input = new ScriptInput(steps);
  }

  const loop = new GameLoop({
    source,
    input,
    output,
    ...(budget ? { frameBudget: budget } : {}),
    fps: rates.fps,
    displayFps: rates.displayFps,
    realtime,
    maxFrames: o.frames,
    seed: o.seed,
    profiler,
    trace,
    observers,
    onCommand: (cmd, l) => {
      if (cmd === 'hud') windowOut?.toggleHud();
      else if (cmd === 'fullscreen' && window) {
        const on = !window.info().fullscreen;
        window.setFullscreen(on);
      } else if (cmd === 'screenshot') {
        const f = l.currentFrame;
        if (!f) return;
        const path = join(o.shotsDir, `worldloop-${source.kind}-${o.seed}-${String(f.index).padStart(6, '0')}-${Date.now()}.png`);
        try {
          writeFileSync(path, encodePng(f.width, f.height, f.rgb, 3));
          log(`screenshot: ${path}`);
        } catch (err) {
          log(`screenshot failed: ${(err as Error).message}`);
        }
      } else return o.onCommand?.(cmd, l);
    },
  });
  paused = () => loop.paused;

  let result: LoopResult;
  const winInfo = window?.info();
  try {
    result = await loop.run();
  } finally {
    window?.close();
  }
  if (recorder && o.record) {
    recorder.save(o.record);
    log(`recording: ${o.record} (${recorder.frames} frames)`);
  }
  if (trace && o.trace) {
    try {
      trace.write(o.trace, { source: source.label, backend: o.backend, fps: rates.fps, displayFps: rates.displayFps, seed: o.seed });
    } catch (err) {
      throw new WorldloopError('WL_IO', `cannot write trace '${o.trace}': ${(err as Error).message}`);
    }
    log(`trace: ${o.trace} (${trace.length} events; open in https://ui.perfetto.dev)`);
  }
  const report = profiler.report();
  log(formatReport(report));
  const spent = budget?.summary();
  if (spent) log(spent);
  // A budget that lowered frames already did what --steps 1 would; one that ended at a single
  // evaluation leaves nothing for the world's flags to cut.
  const limited = !!budget && budget.limitedFrames > 0;
  const advice = paceAdvice(report, rates.fps, limited ? undefined : o.steps, o.paceTries, limited && budget.evalBudget() === 1);
  if (advice) log(advice);
  return {
    loop: result,
    report,
    ...(winInfo ? { window: { renderer: winInfo.renderer, videoDriver: winInfo.videoDriver, software: winInfo.software, vsync: winInfo.vsync } } : {}),
  };
}
