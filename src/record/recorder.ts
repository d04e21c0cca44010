/**
 * Records a session as it runs (a StepObserver on the game loop): each step's action, whether a
 * reset preceded it, and the CRC of the frame it produced. save() writes the recording file.
 */
import { writeFileSync } from 'node:fs';
import { WorldloopError } from '../errors.js';
import type { Frame, StageTimes, WorldEdits } from '../source.js';
import type { StepObserver } from '../loop/game_loop.js';
import { encodeRecording, FLAG_BUDGET, FLAG_LIGHT, FLAG_PLACE, FLAG_RESET, frameCrc, type RecordingHeader } from './format.js';
import type { LightSetting } from '../lighting.js';
import type { ObjectKind } from '../world.js';

export class Recorder implements StepObserver {
  private flags: number[] = [];
  private actions: number[] = [];
  private crcs: number[] = [];
  private lights: LightSetting[] = [];
  private places: ObjectKind[] = [];
  private budgets: number[] = [];
  private resetPending = false;
  private firstCrc: number | undefined;
  private open = false;

  constructor(
    private readonly header: Omit<RecordingHeader, 'firstFrameCrc' | 'createdAt'>,
    private readonly channels: number,
  ) {}

  get frames(): number {
    return this.crcs.length;
  }

  sessionStarted(first: Frame): void {
    this.firstCrc = frameCrc(first.rgb);
  }

  resetOutsideStep(): void {
    this.resetPending = true;
  }

  stepStarted(action: Float32Array, reset: boolean, edits: WorldEdits = {}): void {
    const { light, place, evalBudget } = edits;
    if (action.length !== this.channels) {
      throw new WorldloopError('WL_INTERNAL', `recorder: action has ${action.length} channels, expected ${this.channels}`);
    }
    this.flags.push(
      (reset || this.resetPending ? FLAG_RESET : 0) | (light ? FLAG_LIGHT : 0) | (place ? FLAG_PLACE : 0) | (evalBudget !== undefined ? FLAG_BUDGET : 0),
    );
    if (light) this.lights.push({ level: light.level, tint: [...light.tint] });
    if (place) this.places.push(place);
    if (evalBudget !== undefined) this.budgets.push(evalBudget);
    this.resetPending = false;
    for (const v of action) this.actions.push(v);
    this.open = true;
  }

  stepFinished(frame: Frame, _stages: StageTimes): void {
    if (!this.open) return;
    this.crcs.push(frameCrc(frame.rgb));
    this.open = false;
  }

  encode(): Uint8Array {
    // A step still in flight when the session ended has no frame: leave it out.
    const n = this.crcs.length;
    const flags = this.flags.slice(0, n);
    const lights = this.lights.slice(0, flags.filter((f) => f & FLAG_LIGHT).length);
    const places = this.places.slice(0, flags.filter((f) => f & FLAG_PLACE).length);
    const budgets = this.budgets.slice(0, flags.filter((f) => f & FLAG_BUDGET).length);
    return encodeRecording({
      header: {
        ...this.header,
        firstFrameCrc: this.firstCrc ?? 0,
        createdAt: new Date().toISOString(),
        ...(lights.length ? { lightSettings: lights } : {}),
        ...(places.length ? { placedObjects: places } : {}),
        ...(budgets.length ? { evalBudgets: budgets } : {}),
      },
      frames: n,
      channels: this.channels,
      flags: Uint8Array.from(flags),
      actions: Float32Array.from(this.actions.slice(0, n * this.channels)),
      frameCrcs: Uint32Array.from(this.crcs),
    });
  }

  save(path: string): void {
    try {
      writeFileSync(path, this.encode());
    } catch (err) {
      if (err instanceof WorldloopError) throw err;
      throw new WorldloopError('WL_IO', `cannot write recording '${path}': ${(err as Error).message}`);
    }
  }
}
