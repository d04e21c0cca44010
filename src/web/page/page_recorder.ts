/**
 * Records the page's play as a .wlrec (the format of src/record, written by its shared writer
 * recording_file.ts): the seed, every step's action and the CRC of every frame. `worldloop
 * replay` runs it on the engine; frames from another backend than the one that recorded may
 * differ in low bits (the replay says so). The page has no runtime around the model (memory,
 * anchoring), so the header names no runtime and replay opens the model world alone, as the page
 * runs it (and places objects 1 cell ahead, as the page does). Light settings (the ] [ T keys) and
 * placed objects (1-6, gamepad B) are recorded as play records them (src/record/recorder.ts): a
 * flag on the step they precede (light first, then the object) and the setting or kind in the
 * header.
 */
import type { LightSetting } from '../../lighting.js';
import type { ObjectKind } from '../../object_kind.js';
import { encodeRecording, FLAG_LIGHT, FLAG_PLACE, frameCrc, type RecordingHeader } from '../../record/recording_file.js';
import type { ActionSpace } from '../../source.js';

export interface PageRecordingInfo {
  /** "sha256:<hex>" of the model file (the server computes it: /world.json). */
  sourceId: string;
  /** The model's manifest name. */
  modelName: string;
  /** "webgpu" or "js". */
  backend: string;
  seed: number;
  steps: number;
  fps: number;
  width: number;
  height: number;
  actionSpace: ActionSpace;
  /** The ground-truth world version the opening frames were rendered with (the server's). */
  worldVersion: number;
}

export class PageRecorder {
  private readonly actions: number[] = [];
  private readonly crcs: number[] = [];
  private readonly flags: number[] = [];
  private readonly lights: LightSetting[] = [];
  private readonly places: ObjectKind[] = [];
  private readonly channels: number;
  private readonly firstCrc: number;

  constructor(
    private readonly info: PageRecordingInfo,
    firstFrame: Uint8Array,
  ) {
    this.channels = info.actionSpace.channels.length;
    this.firstCrc = frameCrc(firstFrame);
  }

  get frames(): number {
    return this.crcs.length;
  }

  /** One step: the action it consumed, the frame it made, and the light set and the object
   * placed just before it. */
  add(action: Float32Array, frame: Uint8Array, light?: LightSetting, place?: ObjectKind): void {
    if (action.length !== this.channels) throw new RangeError(`recorder: action has ${action.length} channels, expected ${this.channels}`);
    this.flags.push((light ? FLAG_LIGHT : 0) | (place ? FLAG_PLACE : 0));
    if (light) this.lights.push({ level: light.level, tint: [...light.tint] });
    if (place) this.places.push(place);
    for (const v of action) this.actions.push(v);
    this.crcs.push(frameCrc(frame));
  }

  encode(createdAt = new Date().toISOString()): Uint8Array {
    const i = this.info;
    const header: RecordingHeader = {
      format: 'worldloop-recording',
      sourceId: i.sourceId,
      sourceKind: 'model',
      label: `${i.modelName} · ${i.backend} · ${i.steps} steps (browser page)`,
      backend: i.backend,
      seed: i.seed,
      settings: { fps: i.fps, steps: i.steps, width: i.width, height: i.height },
      actionSpace: i.actionSpace,
      firstFrameCrc: this.firstCrc,
      createdAt,
      worldVersion: i.worldVersion,
      ...(this.lights.length ? { lightSettings: this.lights } : {}),
      ...(this.places.length ? { placedObjects: this.places } : {}),
    };
    const n = this.crcs.length;
    return encodeRecording({
      header,
      frames: n,
      channels: this.channels,
      flags: Uint8Array.from(this.flags),
      actions: Float32Array.from(this.actions),
      frameCrcs: Uint32Array.from(this.crcs),
    });
  }
}
