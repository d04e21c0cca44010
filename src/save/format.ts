/**
 * The world save file (.wlsave): everything needed to continue a world exactly where it was.
 *
 *   "WLSAVE\r\n"          8 bytes magic (the CR LF catches text-mode transfers)
 *   u32 version           = 1
 *   u32 headerBytes       JSON header length (≤ 1 MiB)
 *   header                UTF-8 JSON (SaveHeader): kind, source identity (model sha256 or
 *                         "truth:<seed>"), seed, frame index, settings, action space, pose
 *                         estimate, memory settings, and the list of binary sections
 *   zero padding to a multiple of 4
 *   sections              each section's bytes in header order, each padded to a multiple of 4
 *   32 bytes              SHA-256 of every byte before it
 *
 * Sections are typed (f32/f64 little-endian or u8) and named; which ones exist depends on the kind
 * (see world_save.ts). The file is untrusted: lengths are bounded and checked against the file
 * size, and the checksum is verified before the header is parsed.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../errors.js';
import type { ActionSpace } from '../source.js';
import type { LightState } from '../lighting.js';
import { MAX_POSE_COORD } from '../memory/pose_tracker.js';

export const SAVE_MAGIC = 'WLSAVE\r\n';
/** 2: a model save always carries its light (version 1 saves, from before it was kept, load
 * at preset 0). Both are read. */
export const SAVE_VERSION = 2;
const OLDEST_SAVE_VERSION = 1;
export const MAX_SAVE_HEADER_BYTES = 1 << 20;
/** Largest section accepted (a frame, a context or a memory bank; far above any real one). */
export const MAX_SECTION_BYTES = 1 << 30;
const DIGEST_BYTES = 32;

export type SectionType = 'f32' | 'f64' | 'u8';
export interface SectionInfo {
  name: string;
  type: SectionType;
  bytes: number;
}

export interface SavePose {
  x: number;
  y: number;
  yaw: number;
}

export interface SaveHeader {
  format: 'worldloop-save';
  kind: 'truth' | 'model';
  /** "sha256:<hex of the model file>" or "truth:<seed>". */
  sourceId: string;
  label: string;
  backend: string;
  seed: number;
  frameIndex: number;
  /** Frame size, Euler steps, fps and any other setting the world ran with. */
  settings: { width: number; height: number; steps?: number; fps?: number; [k: string]: unknown };
  actionSpace: ActionSpace;
  /** The runtime's pose estimate (integrated actions) when it keeps one. */
  pose?: SavePose;
  /** The light a model world shows (src/lighting.ts; truth worlds keep theirs in the snapshot).
   * Saves from before it was kept lack it: the world then starts at preset 0. */
  light?: LightState;
  /** Memory store settings (entries live in sections). */
  memory?: { capacity: number; latentSize: number; count: number; [k: string]: unknown };
  createdAt: string;
  sections: SectionInfo[];
}

export type SectionData = Float32Array | Float64Array | Uint8Array;

export interface SaveFile {
  header: SaveHeader;
  /** Section contents by name: Float32Array for f32, Float64Array for f64, Uint8Array for u8. */
  sections: Map<string, SectionData>;
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function need(cond: boolean, name: string, what: string): asserts cond {
  if (!cond) throw new FormatError(`${name}: ${what}`);
}

/** Serialises a save; the header's section list is derived from `sections` (in its order). */
export function encodeSave(header: Omit<SaveHeader, 'sections'>, sections: Map<string, SectionData>): Uint8Array {
  const infos: SectionInfo[] = [...sections].map(([name, data]) => ({
    name,
    type: data instanceof Float32Array ? 'f32' : data instanceof Float64Array ? 'f64' : 'u8',
    bytes: data.byteLength,
  }));
  const json = new TextEncoder().encode(JSON.stringify({ ...header, sections: infos }));
  if (json.length > MAX_SAVE_HEADER_BYTES) throw new FormatError('save header is larger than 1 MiB');
  const bodyAt = 16 + json.length + pad4(json.length);
  let total = bodyAt;
  for (const s of infos) total += s.bytes + pad4(s.bytes);
  total += DIGEST_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = SAVE_MAGIC.charCodeAt(i);
  dv.setUint32(8, SAVE_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  let o = bodyAt;
  for (const data of sections.values()) {
    if (data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) dv.setFloat32(o + i * 4, data[i]!, true);
    } else if (data instanceof Float64Array) {
      for (let i = 0; i < data.length; i++) dv.setFloat64(o + i * 8, data[i]!, true);
    } else {
      out.set(data, o);
    }
    o += data.byteLength + pad4(data.byteLength);
  }
  out.set(createHash('sha256').update(out.subarray(0, total - DIGEST_BYTES)).digest(), total - DIGEST_BYTES);
  return out;
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A pose estimate in a header: finite, within MAX_POSE_COORD cells, yaw within one turn. */
function checkPose(v: unknown, name: string, field: string): void {
  const p = v as Record<string, unknown>;
  const ok = typeof p === 'object' && p !== null && !Array.isArray(p) &&
    [p.x, p.y].every((c) => isNum(c) && Math.abs(c) <= MAX_POSE_COORD) && isNum(p.yaw) && Math.abs(p.yaw) <= 2 * Math.PI;
  need(ok, name, `${field} must be {x, y, yaw} with x and y in [-${MAX_POSE_COORD}, ${MAX_POSE_COORD}] cells and yaw in [-2π, 2π]; got ${JSON.stringify(v)}`);
}

/** The sections each kind of save may hold (world_save.ts writes them). */
const SECTIONS: Record<'truth' | 'model', readonly string[]> = {
  truth: ['frame', 'world_snapshot', 'memory_latents', 'memory_poses', 'memory_times', 'path'],
  model: ['frame', 'context_latents', 'context_actions', 'memory_latents', 'memory_poses', 'memory_times', 'path'],
};
const MEMORY_SECTIONS = ['memory_latents', 'memory_poses', 'memory_times'];
/** Numeric fields of header.memory besides count and changedAt (MemoryStore checks their ranges). */
const MEMORY_FIELDS = ['capacity', 'latentSize', 'fovDeg', 'range', 'binSize', 'binYawDeg', 'excludeRecent', 'recencyWeight', 'recencyTau'];

/**
 * Every field of a save header, checked in one place: types, ranges (against the world's
 * bounds where it has them) and consistency with the sections. Errors name the file and field.
 */
function validateHeader(h: unknown, name: string, version: number): SaveHeader {
  need(typeof h === 'object' && h !== null && !Array.isArray(h), name, 'header is not a JSON object');
  const o = h as Record<string, unknown>;
  need(o.format === 'worldloop-save', name, `header.format is ${JSON.stringify(o.format)}, expected "worldloop-save"`);
  need(o.kind === 'truth' || o.kind === 'model', name, `header.kind is ${JSON.stringify(o.kind)}; must be "truth" or "model"`);
  need(typeof o.sourceId === 'string' && o.sourceId.length > 0 && o.sourceId.length <= 256, name, 'header.sourceId must be a string of 1..256 characters');
  need(typeof o.label === 'string' && o.label.length <= 4096, name, 'header.label must be a string of at most 4096 characters');
  need(typeof o.backend === 'string' && ['truth', 'cpu', 'cuda'].includes(o.backend), name, `header.backend is ${JSON.stringify(o.backend)}; must be "truth", "cpu" or "cuda"`);
  need(isNum(o.seed) && Number.isSafeInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff, name, 'header.seed must be an integer in 0..2^32-1');
  need(isNum(o.frameIndex) && Number.isSafeInteger(o.frameIndex) && o.frameIndex >= 0 && o.frameIndex < 2 ** 48, name, 'header.frameIndex must be an integer in 0..2^48-1');
  const s = o.settings as Record<string, unknown> | undefined;
  need(typeof s === 'object' && s !== null && !Array.isArray(s), name, 'header.settings is missing');
  for (const k of ['width', 'height'] as const) {
    need(isNum(s[k]) && Number.isInteger(s[k]) && (s[k] as number) >= 1 && (s[k] as number) <= 16384, name, `header.settings.${k} must be an integer in 1..16384; got ${JSON.stringify(s[k])}`);
  }
  if (s.steps !== undefined) need(isNum(s.steps) && Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 8, name, `header.settings.steps must be an integer in 1..8; got ${JSON.stringify(s.steps)}`);
  if (s.fps !== undefined) need(isNum(s.fps) && s.fps >= 1 && s.fps <= 240, name, `header.settings.fps must be a number in [1, 240]; got ${JSON.stringify(s.fps)}`);
  if (s.startPose !== undefined) checkPose(s.startPose, name, 'header.settings.startPose');
  for (const k of ['model', 'startImage'] as const) {
    if (s[k] !== undefined) need(typeof s[k] === 'string' && (s[k] as string).length >= 1 && (s[k] as string).length <= 4096, name, `header.settings.${k} must be a path (a string of 1..4096 characters)`);
  }
  const sp = o.actionSpace as { channels?: unknown } | undefined;
  need(!!sp && typeof sp === 'object' && Array.isArray(sp.channels) && sp.channels.length >= 1 && sp.channels.length <= 1024, name, 'header.actionSpace.channels must be a list of 1..1024 channels');
  (sp.channels as unknown[]).forEach((c, i) => {
    const ch = c as Record<string, unknown>;
    need(typeof ch?.name === 'string' && isNum(ch.min) && isNum(ch.max) && ch.min <= ch.max && (ch.kind === 'axis' || ch.kind === 'event'),
      name, `header.actionSpace.channels[${i}] must have name, min <= max (finite), kind axis or event`);
  });
  if (o.pose !== undefined) checkPose(o.pose, name, 'header.pose');
  need(Array.isArray(o.sections) && o.sections.length <= 64, name, 'header.sections must be a list of at most 64 sections');
  const seen = new Set<string>();
  const allowed = SECTIONS[o.kind];
  (o.sections as unknown[]).forEach((x, i) => {
    const si = x as Record<string, unknown>;
    need(typeof si?.name === 'string' && allowed.includes(si.name), name, `header.sections[${i}].name is ${JSON.stringify(si?.name)}; a ${o.kind as string} save holds ${allowed.join(', ')}`);
    need(!seen.has(si.name as string), name, `section '${si.name as string}' appears twice`);
    seen.add(si.name as string);
    need(si.type === 'f32' || si.type === 'f64' || si.type === 'u8', name, `section '${si.name as string}': type must be f32, f64 or u8`);
    need(isNum(si.bytes) && Number.isInteger(si.bytes) && si.bytes >= 0 && si.bytes <= MAX_SECTION_BYTES, name, `section '${si.name as string}': bytes must be an integer in 0..${MAX_SECTION_BYTES}`);
    const width = si.type === 'f32' ? 4 : si.type === 'f64' ? 8 : 1;
    need((si.bytes as number) % width === 0, name, `section '${si.name as string}': ${si.bytes as number} bytes is not a whole number of ${si.type as string} values`);
  });
  const memorySections = MEMORY_SECTIONS.filter((n) => seen.has(n)).length;
  if (o.memory !== undefined) {
    const m = o.memory as Record<string, unknown>;
    need(typeof m === 'object' && m !== null && !Array.isArray(m), name, 'header.memory must be an object');
    for (const k of ['capacity', 'latentSize', 'count'] as const) {
      need(isNum(m[k]) && Number.isInteger(m[k]) && (m[k] as number) >= 0 && (m[k] as number) <= 1 << 24, name, `header.memory.${k} must be an integer in 0..2^24; got ${JSON.stringify(m[k])}`);
    }
    need((m.count as number) <= (m.capacity as number), name, `header.memory.count ${m.count as number} exceeds its capacity ${m.capacity as number}`);
    need(m.changedAt === undefined || (isNum(m.changedAt) && Number.isSafeInteger(m.changedAt) && (m.changedAt as number) >= 0), name, 'header.memory.changedAt must be a frame index (an integer >= 0)');
    for (const [k, v] of Object.entries(m)) {
      if (k === 'count' || k === 'changedAt') continue;
      need(MEMORY_FIELDS.includes(k), name, `header.memory.${k}: unknown field (expected ${['count', 'changedAt', ...MEMORY_FIELDS].join(', ')})`);
      need(isNum(v), name, `header.memory.${k} must be a finite number; got ${JSON.stringify(v)}`);
    }
    need(memorySections === 3, name, 'header.memory is set but the memory_latents, memory_poses and memory_times sections are not all there');
  } else {
    need(memorySections === 0, name, 'the save holds memory sections but no header.memory (their settings)');
  }
  if (o.light !== undefined) need(o.kind === 'model', name, 'header.light belongs to model saves (a truth world keeps its light in the snapshot)');
  else need(o.kind !== 'model' || version < 2, name, `header.light is missing: a version ${version} model save carries the light its world shows`);
  need(typeof o.createdAt === 'string' && o.createdAt.length <= 64, name, 'header.createdAt must be a string');
  return o as unknown as SaveHeader;
}

/** Parses and verifies a save file; `name` (the path) prefixes every error. */
export function decodeSave(bytes: Uint8Array, name = 'save'): SaveFile {
  need(bytes.length >= 16 + DIGEST_BYTES, name, `truncated: ${bytes.length} bytes is shorter than the smallest save file`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  need(magic === SAVE_MAGIC, name, `not a worldloop save file (magic ${JSON.stringify(magic)})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  need(version >= OLDEST_SAVE_VERSION && version <= SAVE_VERSION, name, `save format version ${version} is not supported (this build reads versions ${OLDEST_SAVE_VERSION}..${SAVE_VERSION})`);
  const hlen = dv.getUint32(12, true);
  need(hlen <= MAX_SAVE_HEADER_BYTES, name, `header length ${hlen} exceeds ${MAX_SAVE_HEADER_BYTES}`);
  const bodyAt = 16 + hlen + pad4(hlen);
  need(bodyAt + DIGEST_BYTES <= bytes.length, name, `truncated inside the header (needs at least ${bodyAt + DIGEST_BYTES} bytes, file has ${bytes.length})`);
  const end = bytes.length - DIGEST_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, end)).digest();
  const stored = bytes.subarray(end);
  if (!digest.equals(stored)) {
    throw new FormatError(`${name}: checksum mismatch (SHA-256 of the contents differs from the stored one): the file is corrupt or truncated`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + hlen)));
  } catch (err) {
    throw new FormatError(`${name}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  const header = validateHeader(json, name, version);
  let o = bodyAt;
  const sections = new Map<string, SectionData>();
  for (const s of header.sections) {
    need(o + s.bytes <= end, name, `section '${s.name}' (${s.bytes} bytes) runs past the end of the file`);
    if (s.type === 'f32') {
      const f = new Float32Array(s.bytes / 4);
      for (let i = 0; i < f.length; i++) {
        const v = dv.getFloat32(o + i * 4, true);
        need(Number.isFinite(v), name, `section '${s.name}': value ${i} is not finite`);
        f[i] = v;
      }
      sections.set(s.name, f);
    } else if (s.type === 'f64') {
      const f = new Float64Array(s.bytes / 8);
      for (let i = 0; i < f.length; i++) {
        const v = dv.getFloat64(o + i * 8, true);
        need(Number.isFinite(v), name, `section '${s.name}': value ${i} is not finite`);
        f[i] = v;
      }
      sections.set(s.name, f);
    } else {
      sections.set(s.name, bytes.slice(o, o + s.bytes));
    }
    o += s.bytes + pad4(s.bytes);
  }
  need(o === end, name, `${end - o} unexpected bytes between the last section and the checksum`);
  return { header, sections };
}
