/**
 * Replaying a recording: load + verify the file, check it belongs to this source (same model
 * hash or truth seed, same action space), feed its actions back through the loop, and compare
 * every produced frame's CRC with the recorded one.
 */
import { FormatError } from '../errors.js';
import { readInputFile } from '../input_file.js';
import type { ActionSpace, Frame, WorldEdits } from '../source.js';
import type { InputPoll, LoopInput, StepObserver } from '../loop/game_loop.js';
import { decodeRecording, FLAG_BUDGET, FLAG_LIGHT, FLAG_PLACE, FLAG_RESET, frameCrc, type Recording } from './format.js';

/** Largest recording file read (50 M frames of 5 actions is ~1.2 GB; real ones are far smaller). */
export const MAX_RECORDING_FILE_BYTES = 2 ** 31 - 1;

export function loadRecording(path: string): Recording {
  return decodeRecording(readInputFile(path, 'recording', MAX_RECORDING_FILE_BYTES), path);
}

/**
 * Throws a FormatError naming the mismatch when `rec` was not made with this source, or by a
 * build whose ground-truth world renders differently (`worldVersion`: this build's
 * WL_WORLD_VERSION; recordings from before the version was stored are not checked).
 */
export function checkRecordingMatches(
  rec: Recording,
  sourceId: string,
  space: ActionSpace,
  worldVersion: number,
  name = 'recording',
  size?: { width: number; height: number },
): void {
  if (rec.header.sourceId !== sourceId) {
    throw new FormatError(
      `${name} was recorded with ${rec.header.sourceId} (${rec.header.label}), but this source is ${sourceId}: ` +
        `replay it with the same ${rec.header.sourceKind === 'truth' ? 'seed' : 'model file'}`,
    );
  }
  const want = rec.header.actionSpace.channels.map((c) => `${c.name}:${c.kind}`).join(',');
  const have = space.channels.map((c) => `${c.name}:${c.kind}`).join(',');
  if (want !== have) throw new FormatError(`${name}: recorded action space [${want}] differs from this source's [${have}]`);
  rec.header.actionSpace.channels.forEach((c, i) => {
    const own = space.channels[i]!;
    if (c.min !== own.min || c.max !== own.max) {
      throw new FormatError(`${name}: header.actionSpace.channels[${i}] (${c.name}) has range [${c.min}, ${c.max}]; this source's is [${own.min}, ${own.max}]`);
    }
  });
  const s = rec.header.settings;
  if (size && (s.width !== size.width || s.height !== size.height)) {
    throw new FormatError(`${name}: header.settings says ${s.width}x${s.height} frames; this source renders ${size.width}x${size.height}`);
  }
  const recorded = rec.header.worldVersion;
  if (recorded !== undefined && recorded !== worldVersion) {
    throw new FormatError(
      `${name} was recorded with ground-truth world version ${recorded}, but this build's world is version ${worldVersion}: ` +
        `the same actions would render different frames. Replay it with the build that recorded it, or record it again with this one`,
    );
  }
}

/** LoopInput that plays the recorded actions (and resets and light settings) back in order. */
export class RecordingInput implements LoopInput {
  private i = 0;
  private light = 0;
  private place = 0;
  private budget = 0;
  constructor(private readonly rec: Recording) {}
  poll(): InputPoll {
    return { commands: [], changed: this.i < this.rec.frames };
  }
  next(): ({ action: Float32Array; reset: boolean } & WorldEdits) | undefined {
    if (this.i >= this.rec.frames) return undefined;
    const a = this.rec.channels;
    const action = this.rec.actions.slice(this.i * a, (this.i + 1) * a);
    const flags = this.rec.flags[this.i]!;
    this.i++;
    const step: { action: Float32Array; reset: boolean } & WorldEdits = { action, reset: (flags & FLAG_RESET) !== 0 };
    if (flags & FLAG_LIGHT) step.light = this.rec.header.lightSettings![this.light++]!;
    if (flags & FLAG_PLACE) step.place = this.rec.header.placedObjects![this.place++]!;
    if (flags & FLAG_BUDGET) step.evalBudget = this.rec.header.evalBudgets![this.budget++]!;
    return step;
  }
}

/** Compares each replayed frame with the recorded CRC. */
export class ReplayVerifier implements StepObserver {
  checked = 0;
  mismatches = 0;
  firstMismatch: number | undefined;
  firstFrameOk: boolean | undefined;
  constructor(private readonly rec: Recording) {}
  sessionStarted(first: Frame): void {
    this.firstFrameOk = frameCrc(first.rgb) === this.rec.header.firstFrameCrc;
  }
  stepFinished(frame: Frame): void {
    const i = this.checked++;
    if (i >= this.rec.frames) return;
    if (frameCrc(frame.rgb) !== this.rec.frameCrcs[i]) {
      this.mismatches++;
      this.firstMismatch ??= i;
    }
  }
  get exact(): boolean {
    return this.firstFrameOk === true && this.mismatches === 0 && this.checked === this.rec.frames;
  }
}
