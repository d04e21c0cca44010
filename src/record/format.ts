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
 *                         of header.evalBudgets (0 = no limit)
 *   zero padding to a multiple of 4
 *   f32 actions[N][A]     the action vector each step consumed
 *   u32 frameCrc[N]       CRC-32 of each resulting RGB frame (replay checks every frame)
 *   u32 crc               CRC-32 of every byte before it
 *
 * Little-endian throughout. The file is untrusted: sizes are bounded and checked against the
 * file length before anything is read, and the checksum is verified before the contents are used.
 */
import { crc32 } from 'node:zlib';
import { FormatError } from '../errors.js';
import { checkLightSetting, type LightSetting } from '../lighting.js';
import { OBJECT_KINDS } from '../world.js';
import { MAX_BRIDGE_STEPS, MAX_EVAL_BUDGET } from '../model_world.js';
import {
  FLAG_BUDGET, FLAG_LIGHT, FLAG_PLACE, FLAG_RESET, MAX_CHANNELS, MAX_HEADER_BYTES, MAX_RECORDED_FRAMES, RECORDING_MAGIC, RECORDING_VERSION,
  pad4, type Recording, type RecordingHeader,
} from './recording_file.js';

// The writer and the layout's constants live in recording_file.ts (no Node imports: the browser
// page writes recordings with it); this file adds the reader, which validates untrusted files.
export {
  encodeRecording, frameCrc, FLAG_BUDGET, FLAG_LIGHT, FLAG_PLACE, FLAG_RESET, MAX_CHANNELS, MAX_HEADER_BYTES, MAX_RECORDED_FRAMES,
  RECORDING_MAGIC, RECORDING_VERSION, type Recording, type RecordingHeader,
} from './recording_file.js';

function need(cond: boolean, name: string, what: string): asserts cond {
  if (!cond) throw new FormatError(`${name}: ${what}`);
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** The runtime around a model that a recording names (header.settings.runtime): what replay
 * rebuilds (pose tracker, memory store, memory slots, revisit anchoring). */
export interface RecordedRuntime {
  memorySlots: boolean;
  anchor: boolean;
  /** Most steps a revisit anchor's bridge may take (recordings made before it existed: 1). */
  anchorSteps?: number;
  storeEvery: number;
  memoryCapacity: number;
  /** The picture the world opened on (--start-image), as given. */
  startImage?: string;
}

/** Most memory views a recorded runtime may keep (the store's own bound). */
const MAX_RECORDED_MEMORY = 1 << 20;

function checkRuntime(v: unknown, name: string): void {
  const r = v as Record<string, unknown>;
  const ok =
    typeof r === 'object' && r !== null && !Array.isArray(r) &&
    typeof r.memorySlots === 'boolean' && typeof r.anchor === 'boolean' &&
    (r.anchorSteps === undefined || (Number.isInteger(r.anchorSteps) && (r.anchorSteps as number) >= 1 && (r.anchorSteps as number) <= MAX_BRIDGE_STEPS)) &&
    Number.isInteger(r.storeEvery) && (r.storeEvery as number) >= 1 && (r.storeEvery as number) <= 1_000_000 &&
    Number.isInteger(r.memoryCapacity) && (r.memoryCapacity as number) >= 1 && (r.memoryCapacity as number) <= MAX_RECORDED_MEMORY &&
    (r.startImage === undefined || (typeof r.startImage === 'string' && r.startImage.length >= 1 && r.startImage.length <= 4096));
  need(ok, name,
    `header.settings.runtime must be {memorySlots, anchor[, anchorSteps 1..${MAX_BRIDGE_STEPS}], storeEvery 1..1000000, memoryCapacity 1..${MAX_RECORDED_MEMORY}[, startImage]}; got ${JSON.stringify(v)}`);
}

/**
 * Every header field, checked in one place: types, ranges and the backend/kind pairing. Errors
 * name the file and the field and say what is allowed.
 */
function validateHeader(h: unknown, name: string): RecordingHeader {
  need(typeof h === 'object' && h !== null && !Array.isArray(h), name, 'header is not a JSON object');
  const o = h as Record<string, unknown>;
  need(o.format === 'worldloop-recording', name, `header.format is ${JSON.stringify(o.format)}, expected "worldloop-recording"`);
  need(typeof o.sourceId === 'string' && o.sourceId.length > 0 && o.sourceId.length <= 256, name, 'header.sourceId must be a string of 1..256 characters');
  need(o.sourceKind === 'truth' || o.sourceKind === 'model', name, `header.sourceKind is ${JSON.stringify(o.sourceKind)}; must be "truth" or "model"`);
  need(typeof o.label === 'string' && o.label.length <= 4096, name, 'header.label must be a string of at most 4096 characters');
  // A model world is replayed on the backend it names; a truth world runs on none (play writes
  // "truth"; a recording made through the API may name the engine backend of its session). The
  // browser page (worldloop serve) records on "webgpu" or "js"; replay runs those on the engine.
  const backends = o.sourceKind === 'truth' ? ['truth', 'cpu', 'cuda'] : ['cpu', 'cuda', 'webgpu', 'js'];
  need(typeof o.backend === 'string' && backends.includes(o.backend), name,
    `header.backend is ${JSON.stringify(o.backend)}; a ${o.sourceKind as string} recording's backend is ${backends.map((b) => `"${b}"`).join(' or ')}`);
  need(isNum(o.seed) && Number.isSafeInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff, name, `header.seed must be an integer in 0..2^32-1; got ${JSON.stringify(o.seed)}`);
  need(isNum(o.firstFrameCrc) && Number.isInteger(o.firstFrameCrc) && o.firstFrameCrc >= 0 && o.firstFrameCrc <= 0xffffffff, name, 'header.firstFrameCrc must be an integer in 0..2^32-1');
  need(o.worldVersion === undefined || (isNum(o.worldVersion) && Number.isSafeInteger(o.worldVersion) && o.worldVersion > 0),
    name, 'header.worldVersion must be a positive integer');
  const s = o.settings as Record<string, unknown> | undefined;
  need(typeof s === 'object' && s !== null && !Array.isArray(s), name, 'header.settings is missing');
  need(isNum(s.fps) && s.fps >= 1 && s.fps <= 240, name, `header.settings.fps must be a number in [1, 240]; got ${JSON.stringify(s.fps)}`);
  for (const k of ['width', 'height'] as const) {
    need(isNum(s[k]) && Number.isInteger(s[k]) && (s[k] as number) >= 1 && (s[k] as number) <= 16384, name, `header.settings.${k} must be an integer in 1..16384; got ${JSON.stringify(s[k])}`);
  }
  if (s.steps !== undefined) need(isNum(s.steps) && Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 8, name, `header.settings.steps must be an integer in 1..8; got ${JSON.stringify(s.steps)}`);
  if (s.runtime !== undefined) checkRuntime(s.runtime, name);
  const sp = o.actionSpace as { channels?: unknown } | undefined;
  need(!!sp && typeof sp === 'object' && Array.isArray(sp.channels) && sp.channels.length >= 1 && sp.channels.length <= MAX_CHANNELS, name, `header.actionSpace.channels must be a list of 1..${MAX_CHANNELS} channels`);
  (sp.channels as unknown[]).forEach((c, i) => {
    const ch = c as Record<string, unknown>;
    need(typeof ch?.name === 'string' && isNum(ch.min) && isNum(ch.max) && ch.min <= ch.max && (ch.kind === 'axis' || ch.kind === 'event'),
      name, `header.actionSpace.channels[${i}] must have name, min <= max (finite), kind axis or event`);
  });
  return o as unknown as RecordingHeader;
}

/** Parses and verifies a recording; `name` (the file path) prefixes every error. */
export function decodeRecording(bytes: Uint8Array, name = 'recording'): Recording {
  need(bytes.length >= 28, name, `truncated: ${bytes.length} bytes is shorter than the smallest recording`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  need(magic === RECORDING_MAGIC, name, `not a worldloop recording (magic ${JSON.stringify(magic)})`);
  const version = dv.getUint32(8, true);
  need(version === RECORDING_VERSION, name, `recording format version ${version} is not supported (this build reads ${RECORDING_VERSION})`);
  const hlen = dv.getUint32(12, true);
  need(hlen <= MAX_HEADER_BYTES, name, `header length ${hlen} exceeds ${MAX_HEADER_BYTES}`);
  need(16 + hlen + 8 <= bytes.length, name, `truncated inside the header (needs ${16 + hlen + 8} bytes, file has ${bytes.length})`);
  const o = 16 + hlen;
  const n = dv.getUint32(o, true);
  const a = dv.getUint32(o + 4, true);
  need(n <= MAX_RECORDED_FRAMES, name, `frame count ${n} exceeds ${MAX_RECORDED_FRAMES}`);
  need(a >= 1 && a <= MAX_CHANNELS, name, `action channel count ${a} is outside 1..${MAX_CHANNELS}`);
  const flagsEnd = o + 8 + n;
  const actionsAt = flagsEnd + pad4(flagsEnd);
  const crcsAt = actionsAt + n * a * 4;
  const total = crcsAt + n * 4 + 4;
  need(bytes.length >= total, name, `truncated: ${n} frames × ${a} channels need ${total} bytes, file has ${bytes.length}`);
  need(bytes.length === total, name, `${bytes.length - total} unexpected bytes after the end of the recording`);
  const stored = dv.getUint32(total - 4, true);
  const actual = crc32(bytes.subarray(0, total - 4)) >>> 0;
  need(stored === actual, name, `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is corrupt`);
  let headerJson: unknown;
  try {
    headerJson = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch (err) {
    throw new FormatError(`${name}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  const header = validateHeader(headerJson, name);
  need(header.actionSpace.channels.length === a, name, `header declares ${header.actionSpace.channels.length} action channels, data has ${a}`);
  const flags = bytes.slice(o + 8, o + 8 + n);
  let lights = 0;
  let places = 0;
  let budgets = 0;
  for (let i = 0; i < n; i++) {
    need((flags[i]! & ~(FLAG_RESET | FLAG_LIGHT | FLAG_PLACE | FLAG_BUDGET)) === 0, name, `frame ${i}: unknown flag bits ${flags[i]}`);
    if (flags[i]! & FLAG_LIGHT) lights++;
    if (flags[i]! & FLAG_PLACE) places++;
    if (flags[i]! & FLAG_BUDGET) budgets++;
  }
  const eb = header.evalBudgets;
  need(eb === undefined || Array.isArray(eb), name, 'header.evalBudgets must be an array');
  need((eb?.length ?? 0) === budgets, name, `${budgets} steps changed the frame budget but header.evalBudgets has ${eb?.length ?? 0} entries`);
  need(budgets === 0 || header.sourceKind === 'model', name, 'only a model world has a frame budget, but this truth recording sets one');
  eb?.forEach((v, i) =>
    need(Number.isInteger(v) && v >= 0 && v <= MAX_EVAL_BUDGET, name, `header.evalBudgets[${i}] = ${JSON.stringify(v)} is not an integer in 0..${MAX_EVAL_BUDGET} (0 = no limit)`),
  );
  const po = header.placedObjects;
  need(po === undefined || Array.isArray(po), name, 'header.placedObjects must be an array');
  need((po?.length ?? 0) === places, name, `${places} steps placed an object but header.placedObjects has ${po?.length ?? 0} entries`);
  po?.forEach((k, i) =>
    need((OBJECT_KINDS as readonly unknown[]).includes(k), name, `header.placedObjects[${i}] = ${JSON.stringify(k)} is not an object kind (${OBJECT_KINDS.join(', ')})`),
  );
  const ls = header.lightSettings;
  need(ls === undefined || Array.isArray(ls), name, 'header.lightSettings must be an array');
  need((ls?.length ?? 0) === lights, name, `${lights} steps set the light but header.lightSettings has ${ls?.length ?? 0} entries`);
  ls?.forEach((l, i) => {
    try {
      checkLightSetting((l as LightSetting)?.level, (l as LightSetting)?.tint, `header.lightSettings[${i}]`);
    } catch (err) {
      throw new FormatError(`${name}: ${(err as Error).message}`);
    }
  });
  // Every action within its channel's range (events 0 or 1), as a world's step requires: a
  // value a world would refuse, or integrate into a pose, is refused here with its frame.
  const actions = new Float32Array(n * a);
  const chans = header.actionSpace.channels;
  for (let i = 0; i < n * a; i++) {
    const v = dv.getFloat32(actionsAt + i * 4, true);
    const c = chans[i % a]!;
    const ok = c.kind === 'event' ? v === 0 || v === 1 : v >= c.min && v <= c.max;
    if (!ok) {
      throw new FormatError(
        `${name}: frame ${Math.floor(i / a)}, channel ${c.name}: action ${v} is outside ${c.kind === 'event' ? '{0, 1} (an event)' : `[${c.min}, ${c.max}]`}`,
      );
    }
    actions[i] = v;
  }
  const frameCrcs = new Uint32Array(n);
  for (let i = 0; i < n; i++) frameCrcs[i] = dv.getUint32(crcsAt + i * 4, true);
  return { header, frames: n, channels: a, flags, actions, frameCrcs };
}
