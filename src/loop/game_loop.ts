/**
 * The game loop: a fixed tick at the target rate drives any FrameSource (ground truth or model).
 *
 * Real-time mode, per tick: poll input (window events, gamepads) → if no step is in flight, read
 * the action (as late as possible) and start the next step without awaiting it → present the
 * latest finished frame (this tick's own frame when the step is fast enough to be done already)
 * → sleep until the next tick. The window keeps handling events while the
 * model works; a frame whose step is not done by its tick is a dropped frame (the previous one
 * stays on screen). Overdue ticks catch up at most `maxCatchUp` at a time (see Pacer).
 *
 * Lockstep mode (headless runs, replay, video export): each tick awaits its step, so step i
 * always gets action i and the output sees every frame; nothing sleeps.
 */
import type { Frame, FrameSource, StageTimes, WorldEdits } from '../source.js';
import { KIND_OF_PLACE_COMMAND, type CommandName } from '../input/binding_types.js';
import { placeKeyKind } from '../object_placement.js';
import { InvalidArgumentError } from '../errors.js';
import { keyLightSetting, type LightKey } from '../lighting.js';
import { OBJECT_KINDS, type ObjectKind } from '../world.js';
import { FrameProfiler } from '../profiler/frame_profiler.js';
import { TraceRecorder, TRACK } from '../profiler/trace.js';
import { RealClock, type Clock } from './clock.js';
import { Pacer } from './pacer.js';
import type { FrameBudget } from './frame_budget.js';

export interface InputPoll {
  commands: CommandName[];
  /** A bound input changed since the last poll (starts an input-to-frame latency sample). */
  changed: boolean;
}

export interface LoopInput {
  poll(): InputPoll;
  /** The action for the step that starts now; undefined when the input has nothing more (end of
   * a script or recording). `reset` restarts the source from the seed before this step; `light`
   * and `place` edit the world after it (WorldEdits). */
  next(): ({ action: Float32Array; reset: boolean } & WorldEdits) | undefined;
}

export interface LoopOutput {
  /** Shows a frame (window) or consumes it (video sink). `fresh` = a new frame, not a repaint. */
  present(frame: Frame, fresh: boolean): void | Promise<void>;
}

/** Hooks that observe every finished step (recording, soak checks, export). */
export interface StepObserver {
  /** The session's first frame (after the initial reset). */
  sessionStarted?(first: Frame): void;
  /** A step is starting with this action; `reset` = the source was reset just before it, and
   * `edits` = what was changed in the world just before it (after any reset). */
  stepStarted?(action: Float32Array, reset: boolean, edits: WorldEdits): void;
  stepFinished?(frame: Frame, stages: StageTimes): void | Promise<void>;
  /** The user reset the world outside a step (R key): the next step should replay a reset. */
  resetOutsideStep?(): void;
}

export interface LoopOptions {
  source: FrameSource;
  input: LoopInput;
  output?: LoopOutput;
  clock?: Clock;
  /** Simulation tick: steps per second (default 30, the truth world's; src/tick_rate.ts). */
  fps?: number;
  /** Real-time only: presents per second, the loop's own tick (default: `fps`; at least `fps`).
   * Above `fps`, steps start on the display tick nearest each simulation tick, so the world keeps
   * its own speed while input is polled and the window repainted more often. */
  displayFps?: number;
  /** true: fixed ticks + async stepping (interactive); false: lockstep, as fast as possible. */
  realtime?: boolean;
  maxCatchUp?: number;
  /** Stop after this many steps (0 = until quit or the input ends). */
  maxFrames?: number;
  seed?: number;
  profiler?: FrameProfiler;
  trace?: TraceRecorder;
  observers?: StepObserver[];
  /** Real-time model worlds: lowers the denoiser evaluations of frames that would miss the tick
   * (src/loop/frame_budget.ts). A replay sets the recorded budgets instead (LoopInput.next). */
  frameBudget?: FrameBudget;
  /** Commands the loop itself does not act on (screenshot, hud, fullscreen, captureMouse). */
  onCommand?: (cmd: CommandName, loop: GameLoop) => void | Promise<void>;
}

export interface LoopResult {
  steps: number;
  ticks: number;
  reason: 'quit' | 'input-ended' | 'max-frames';
}

const NO_EDITS: WorldEdits = Object.freeze({});


interface PendingInput {
  tick: number;
  at: number;
}

interface InFlight {
  promise: Promise<void>;
  done: boolean;
  error?: unknown;
}

export class GameLoop {
  readonly source: FrameSource;
  readonly profiler: FrameProfiler;
  readonly trace: TraceRecorder | undefined;
  private readonly opts: LoopOptions;
  private readonly clock: Clock;
  private readonly fps: number;
  private readonly displayFps: number;
  paused = false;
  private stopRequested = false;
  private resetRequested = false;
  /** A light key pressed since the last step (applied before the next one, so it is recorded). */
  private lightKey: LightKey | undefined;
  /** A place key pressed since the last step: a kind, or 'next' (the kind after the last placed). */
  private placeKey: ObjectKind | 'next' | undefined;
  private lastPlaced = -1;
  /** The frame budget the source runs under now (0 = no limit; what a recording starts from). */
  private evalBudget = 0;
  /** The frame budget's controller, in real time only (lockstep runs keep their budgets). */
  private readonly frameBudget: FrameBudget | undefined;
  private latest: { frame: Frame; presented: boolean; inputs: PendingInput[] } | undefined;
  private pending: PendingInput[] = [];
  private tickIndex = 0;
  private steps = 0;
  private t0 = 0;

  constructor(opts: LoopOptions) {
    this.opts = opts;
    this.source = opts.source;
    this.clock = opts.clock ?? new RealClock();
    this.fps = opts.fps ?? 30;
    this.displayFps = opts.displayFps ?? this.fps;
    if (!(this.displayFps >= this.fps)) throw new RangeError(`displayFps ${this.displayFps} is below fps ${this.fps}: steps would fall behind the simulation tick`);
    this.profiler = opts.profiler ?? new FrameProfiler();
    this.trace = opts.trace;
    this.frameBudget = opts.realtime !== false ? opts.frameBudget : undefined;
  }

  /** Asks the loop to stop after the current tick. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Restart the world from the seed at the next opportunity. */
  requestReset(): void {
    this.resetRequested = true;
  }

  /** The frame on screen (or last produced), if any. */
  get currentFrame(): Frame | undefined {
    return this.latest?.frame;
  }

  get stepCount(): number {
    return this.steps;
  }

  private rel(t: number): number {
    return t - this.t0;
  }

  async run(): Promise<LoopResult> {
    const { source } = this;
    this.t0 = this.clock.now();
    const first = await source.reset(this.opts.seed);
    this.latest = { frame: first, presented: false, inputs: [] };
    for (const o of this.opts.observers ?? []) o.sessionStarted?.(first);
    return this.opts.realtime === false ? this.runLockstep() : this.runRealtime();
  }

  private async handleCommands(commands: CommandName[]): Promise<void> {
    for (const c of commands) {
      if (c === 'quit') this.stopRequested = true;
      else if (c === 'pause') this.paused = !this.paused;
      else if (c === 'reset') this.resetRequested = true;
      else if (c === 'lightUp' || c === 'lightDown' || c === 'tintNext') this.lightKey = c;
      else if (c === 'placeNext') this.placeKey = 'next';
      else if (KIND_OF_PLACE_COMMAND.has(c)) this.placeKey = KIND_OF_PLACE_COMMAND.get(c)!;
      else await this.opts.onCommand?.(c, this);
    }
  }

  /** The kind a place key asks for, if this world can place it (placeKeyKind). */
  private keyPlacement(key: ObjectKind | 'next'): ObjectKind | undefined {
    const kinds = this.source.placeObject ? (this.source.objectKinds?.() ?? []) : [];
    return placeKeyKind(key, kinds, this.lastPlaced);
  }

  private async pollInput(): Promise<void> {
    const t = this.clock.now();
    const polled = this.opts.input.poll();
    if (polled.changed) this.pending.push({ tick: this.tickIndex, at: t });
    const dt = this.clock.now() - t;
    this.profiler.stage('input', dt);
    this.trace?.span('input', 'stage', this.rel(t), dt, TRACK.loop);
    await this.handleCommands(polled.commands);
  }

  /** Starts one step (or a bare reset); resolves into `latest` when the frame is ready. */
  private startStep(): InFlight | undefined {
    const { source } = this;
    const observers = this.opts.observers ?? [];
    if (this.resetRequested) {
      this.resetRequested = false;
      const start = this.clock.now();
      for (const o of observers) o.resetOutsideStep?.();
      const f: InFlight = { promise: Promise.resolve(), done: false };
      f.promise = source.reset(this.opts.seed).then(
        (frame) => {
          this.trace?.span('reset', 'stage', this.rel(start), this.clock.now() - start, TRACK.source);
          this.latest = { frame, presented: false, inputs: [] };
          f.done = true;
        },
        (err) => {
          f.error = err;
          f.done = true;
        },
      );
      return f;
    }
    const next = this.opts.input.next();
    if (!next) return undefined;
    const inputs = this.pending;
    this.pending = [];
    const stepNo = this.steps++;
    const start = this.clock.now();
    const f: InFlight = { promise: Promise.resolve(), done: false };
    const key = this.lightKey;
    this.lightKey = undefined;
    const placeKey = this.placeKey;
    this.placeKey = undefined;
    const run = async () => {
      if (next.reset) await source.reset(this.opts.seed);
      let light = next.light;
      if (!light && key && source.light && source.setLight) light = keyLightSetting(source.light(), key);
      if (light) {
        if (!source.setLight) throw new InvalidArgumentError(`this ${source.kind} world cannot set its light`);
        await source.setLight(light);
      }
      let place = next.place ?? (placeKey ? this.keyPlacement(placeKey) : undefined);
      if (place) {
        if (!source.placeObject) throw new InvalidArgumentError(`this ${source.kind} world cannot place objects`);
        // A wall that leaves no room makes it a no-op: nothing to record or to remember.
        if ((await source.placeObject(place)).placed) this.lastPlaced = OBJECT_KINDS.indexOf(place);
        else place = undefined;
      }
      // A replay's recorded budget, else the controller's (realtime only); applied only on change.
      const want = next.evalBudget ?? this.frameBudget?.evalBudget();
      let evalBudget: number | undefined;
      if (want !== undefined && want !== this.evalBudget) {
        if (!source.setEvalBudget) throw new InvalidArgumentError(`this ${source.kind} world has no frame budget`);
        source.setEvalBudget(want);
        this.evalBudget = evalBudget = want;
      }
      // Most steps edit nothing: no object per step for them.
      const edits: WorldEdits =
        light || place || evalBudget !== undefined
          ? { ...(light ? { light } : {}), ...(place ? { place } : {}), ...(evalBudget !== undefined ? { evalBudget } : {}) }
          : NO_EDITS;
      for (const o of observers) o.stepStarted?.(next.action, next.reset, edits);
      const stepStart = this.clock.now();
      const { frame, stages } = await source.step(next.action);
      const end = this.clock.now();
      const dur = end - start;
      this.frameBudget?.record(source.lastStepEvals?.() ?? 1, stages, end - stepStart);
      this.profiler.stageTimes(stages);
      this.profiler.stage('step', dur);
      this.trace?.span(`step ${stepNo}`, 'step', this.rel(start), dur, TRACK.source, { frame: frame.index, ...stages });
      for (const o of observers) await o.stepFinished?.(frame, stages);
      this.latest = { frame, presented: false, inputs };
    };
    f.promise = run().then(
      () => {
        f.done = true;
      },
      (err) => {
        f.error = err;
        f.done = true;
      },
    );
    return f;
  }

  private async presentLatest(fresh: boolean): Promise<void> {
    const out = this.opts.output;
    const latest = this.latest;
    if (!latest) return;
    const t = this.clock.now();
    if (out) await out.present(latest.frame, fresh);
    const end = this.clock.now();
    if (fresh) {
      this.profiler.stage('present', end - t);
      this.trace?.span('present', 'stage', this.rel(t), end - t, TRACK.present, { frame: latest.frame.index });
      this.profiler.presented(end);
      for (const inp of latest.inputs) this.profiler.latency(this.tickIndex - inp.tick, end - inp.at);
      latest.presented = true;
      latest.inputs = [];
    }
  }

  private async runRealtime(): Promise<LoopResult> {
    const pacer = new Pacer(this.displayFps, this.opts.maxCatchUp ?? 2);
    const maxFrames = this.opts.maxFrames ?? 0;
    let inflight: InFlight | undefined;
    let stepTick = 0;
    let inputEnded = false;
    const wantMore = () => !this.stopRequested && !inputEnded && (maxFrames === 0 || this.steps < maxFrames);
    // With the display faster than the simulation, steps keep their own schedule (start + k·period,
    // so the average rate is exact); a display tick within half a display period of a step's time
    // starts it. With equal rates every tick may step, as it always did.
    const gated = this.displayFps !== this.fps;
    const simPeriod = 1000 / this.fps;
    const slack = 500 / this.displayFps;
    let stepDue = this.clock.now();
    const stepIsDue = () => !gated || this.clock.now() >= stepDue - slack - 1e-6;
    const stepStarted = () => {
      if (!gated) return;
      const now = this.clock.now();
      stepDue += simPeriod;
      // Clamped like the Pacer: after a stall the world does not race to catch up.
      const maxCatchUp = this.opts.maxCatchUp ?? 2;
      if (stepDue < now - maxCatchUp * simPeriod) stepDue = now + simPeriod;
    };
    pacer.start(this.clock.now());
    for (;;) {
      const tickStart = this.clock.now();
      this.profiler.tick();
      await this.pollInput();
      if (inflight?.done) {
        if (inflight.error) throw inflight.error;
        inflight = undefined;
      }
      if (!inflight && (!this.paused || this.resetRequested) && (wantMore() || this.resetRequested) && stepIsDue()) {
        inflight = this.startStep();
        stepStarted();
        stepTick = this.tickIndex;
        if (!inflight) inputEnded = true;
        // One event-loop turn: a source that computes synchronously (the truth world) has its
        // frame ready now and it is presented this tick, and its step time is not inflated by
        // the present below. An asynchronous model step just keeps running.
        else await new Promise<void>((r) => setImmediate(r));
      }
      if (this.latest && !this.latest.presented) await this.presentLatest(true);
      else if (this.paused) await this.presentLatest(false);
      else if (inflight && this.tickIndex > 0 && stepIsDue()) {
        this.profiler.dropped();
        this.trace?.instant('dropped', 'frame', this.rel(this.clock.now()), TRACK.loop);
      }
      const finished = !inflight && (this.stopRequested || inputEnded || (maxFrames > 0 && this.steps >= maxFrames));
      if (finished && this.latest?.presented !== false) {
        return { steps: this.steps, ticks: this.tickIndex + 1, reason: this.stopRequested ? 'quit' : inputEnded ? 'input-ended' : 'max-frames' };
      }
      const workEnd = this.clock.now();
      this.trace?.span('tick', 'frame', this.rel(tickStart), workEnd - tickStart, TRACK.loop, { tick: this.tickIndex });
      const plan = pacer.next(workEnd);
      if (plan.skipped > 0) this.profiler.dropped(plan.skipped);
      if (plan.at > workEnd) {
        const sleep = this.clock.sleepUntil(plan.at).then(() => 'tick' as const);
        // Sleep to the next tick, but a step that missed its tick (a slow model) and finishes
        // meanwhile is followed at once by the next one, reading the freshest input, so the model
        // never idles while the world is behind. Its frame still shows on the tick grid.
        for (;;) {
          const step = inflight && !inflight.done ? inflight.promise.then(() => 'step' as const) : undefined;
          const woke = step ? await Promise.race([sleep, step]) : await sleep;
          if (woke === 'tick') break;
          if (inflight?.error || stepTick === this.tickIndex || this.paused || !wantMore() || !stepIsDue()) continue;
          await this.pollInput();
          if (this.paused || this.resetRequested || !wantMore()) continue;
          inflight = this.startStep();
          stepStarted();
          stepTick = this.tickIndex;
          if (!inflight) inputEnded = true;
        }
        const idle = this.clock.now() - workEnd;
        this.profiler.stage('idle', idle);
        this.trace?.span('idle', 'stage', this.rel(workEnd), idle, TRACK.loop);
      } else {
        this.profiler.stage('idle', 0);
        // Let finished steps' callbacks run before the next tick looks at them.
        await new Promise<void>((r) => setImmediate(r));
      }
      this.tickIndex++;
    }
  }

  private async runLockstep(): Promise<LoopResult> {
    const maxFrames = this.opts.maxFrames ?? 0;
    await this.presentLatest(true);
    for (;;) {
      if (this.stopRequested) return { steps: this.steps, ticks: this.tickIndex, reason: 'quit' };
      if (maxFrames > 0 && this.steps >= maxFrames) return { steps: this.steps, ticks: this.tickIndex, reason: 'max-frames' };
      this.tickIndex++;
      this.profiler.tick();
      await this.pollInput();
      if (this.stopRequested) continue;
      const f = this.startStep();
      if (!f) return { steps: this.steps, ticks: this.tickIndex, reason: 'input-ended' };
      await f.promise;
      if (f.error) throw f.error;
      await this.presentLatest(true);
    }
  }
}
