/**
 * The recording file: everything needed to replay a session bit-exactly on the same backend.
 *
 *   "WLRECORD"            8 bytes magic
 *   u32 version           = 1
 *   u32 headerBytes       JSON header length (≤ 1 MiB)
 *   header                UTF-8 JSON: source identity (model sha256 or "truth:<seed>"), seed,
 *                         backend, settings, action space, first-frame CRC, the ground-truth
 *                         world's version (absent in recordings made before it was stored)
 *   u32 frames N, u32 channels A
 *   u8  flags[N]          bit 0: the world was reset (same seed) before this step;
 *                         bit 1: the light was set before this step (after any reset), to the
 *                         next entry of header.lightSettings (in step order);
 *                         bit 2: an object was placed before this step (after any light), of
 *                         the next kind in header.placedObjects;
 *                         bit 3: the frame budget changed before this step, to the next entry
 *                         of header.evalBudgets (denoiser evaluations a frame may spend; 0 = no
 *                         limit; recordings start with no limit)
 *   zero padding to a multiple of 4
 *   f32 actions[N][A]     the action vector each step consumed
 *   u32 frameCrc[N]       CRC-32 of each resulting RGB frame (replay checks every frame)
 *   u32 crc               CRC-32 of every byte before it
 *
 * This module is the layout and the writer, with no Node imports: the CLI's recorder
 * (recorder.ts) and the browser page (src/web/page/page_recorder.ts) both write with it.
 * format.ts reads and validates. Little-endian throughout. The file is untrusted: sizes are bounded and checked against the
 * file length before anything is read, and the checksum is verified before the contents are used.
 */
import { crc32 } from '../crc32.js';
import { FormatError } from '../errors.js';
import type { ActionSpace } from '../source.js';
import type { LightSetting } from '../lighting.js';
import type { ObjectKind } from '../object_kind.js';

export const RECORDING_MAGIC = 'WLRECORD';
export const RECORDING_VERSION = 1;
export const MAX_HEADER_BYTES = 1 << 20;
export const MAX_RECORDED_FRAMES = 50_000_000;
export const MAX_CHANNELS = 1024;
export const FLAG_RESET = 1;
export const FLAG_LIGHT = 2;
export const FLAG_PLACE = 4;
export const FLAG_BUDGET = 8;

export interface RecordingHeader {
  format: 'worldloop-recording';
  /** What produced the frames: "sha256:<hex>" of the model file, or "truth:<seed>". */
  sourceId: string;
  sourceKind: 'truth' | 'model';
  label: string;
  backend: string;
  seed: number;
  settings: { fps: number; steps?: number; width: number; height: number; [k: string]: unknown };
  actionSpace: ActionSpace;
  firstFrameCrc: number;
  createdAt: string;
  /**
   * WL_WORLD_VERSION of the build that recorded it (absent in older recordings). A truth world
   * renders every frame with it, and a model world opens from it and draws placed objects with it.
   */
  worldVersion?: number;
  /** The light settings of the steps flagged FLAG_LIGHT, in order (absent when none). */
  lightSettings?: LightSetting[];
  /** The object kinds placed by the steps flagged FLAG_PLACE, in order (absent when none). */
  placedObjects?: ObjectKind[];
  /** The frame budgets of the steps flagged FLAG_BUDGET, in order (absent when none). */
  evalBudgets?: number[];
}

export interface Recording {
  header: RecordingHeader;
  frames: number;
  channels: number;
  flags: Uint8Array;
  actions: Float32Array;
  frameCrcs: Uint32Array;
}

export function frameCrc(rgb: Uint8Array): number {
  return crc32(rgb);
}

export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export function encodeRecording(r: Recording): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(r.header));
  if (header.length > MAX_HEADER_BYTES) throw new FormatError('recording header is larger than 1 MiB');
  const n = r.frames;
  const a = r.channels;
  if (r.flags.length !== n || r.actions.length !== n * a || r.frameCrcs.length !== n) {
    throw new FormatError(`recording arrays disagree with frames=${n}, channels=${a}`);
  }
  const flagsEnd = 16 + header.length + 8 + n;
  const actionsAt = flagsEnd + pad4(flagsEnd);
  const crcsAt = actionsAt + n * a * 4;
  const total = crcsAt + n * 4 + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = RECORDING_MAGIC.charCodeAt(i);
  dv.setUint32(8, RECORDING_VERSION, true);
  dv.setUint32(12, header.length, true);
  out.set(header, 16);
  const o = 16 + header.length;
  dv.setUint32(o, n, true);
  dv.setUint32(o + 4, a, true);
  out.set(r.flags, o + 8);
  for (let i = 0; i < n * a; i++) dv.setFloat32(actionsAt + i * 4, r.actions[i]!, true);
  for (let i = 0; i < n; i++) dv.setUint32(crcsAt + i * 4, r.frameCrcs[i]!, true);
  dv.setUint32(total - 4, crc32(out, 0, total - 4), true);
  return out;
}

