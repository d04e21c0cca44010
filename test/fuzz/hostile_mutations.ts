// Hostile mutations of the six file formats the CLI reads (model, save, recording, bindings,
// script, image), for test/hostile_files.test.ts. Each mutation is one of two kinds:
//  - "valid wrapper": the file stays well formed (JSON parses, the checksum or CRC is recomputed,
//    chunk CRCs are fixed) but a value inside is hostile: huge finite numbers (2^53+1, 2^64,
//    1e308, 6.4e30), NaN/Inf where floats are stored, null, strings, negatives, fractions,
//    deleted fields, `__proto__` keys, overlapping or holey tensor offsets, trailing bytes;
//  - "raw": plain byte flips, truncations and appended junk with no checksum fixed.
// Everything is drawn from a seeded generator, so a failing file can be regenerated.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { seededRandom } from '../../src/loop/action_script.js';

export type Rng = () => number;

/** Seeded and repeatable: the action scripts' own generator. */
export const rng: (seed: number) => Rng = seededRandom;

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Values a hostile editor puts into a JSON field. */
const HOSTILE_JSON: readonly unknown[] = [
  2 ** 53 + 1, 2 ** 64, 1e308, -1e308, 6.4e30, 1e30, -1, 0, -0, 0.5, 1.5, 1e-320, 65536, 4294967296,
  2 ** 31, -(2 ** 31), null, '', 'x', '__proto__', 'quantum', true, false, [], {}, [1, 2], { x: 1 },
  'Infinity', 1e6, 1e9, 16385, 241,
];

/** Floats a hostile editor writes into binary sections (f32 where stored as f32). */
const HOSTILE_FLOATS: readonly number[] = [NaN, Infinity, -Infinity, 6.4e30, 1e30, -1e30, 3.4e38, 2, -2, 0.5, 1e-40, 2 ** 53 + 1];

type Json = unknown;

/** Every path (list of keys) to a value inside `doc`, the root excluded. */
function paths(doc: Json, prefix: (string | number)[] = [], out: (string | number)[][] = [], depth = 0): (string | number)[][] {
  if (depth > 8) return out;
  if (Array.isArray(doc)) {
    doc.slice(0, 64).forEach((v, i) => {
      out.push([...prefix, i]);
      paths(v, [...prefix, i], out, depth + 1);
    });
  } else if (typeof doc === 'object' && doc !== null) {
    for (const [k, v] of Object.entries(doc)) {
      out.push([...prefix, k]);
      paths(v, [...prefix, k], out, depth + 1);
    }
  }
  return out;
}

/** One hostile edit of a parsed JSON document (in place on a deep copy, returned). */
export function mutateJson(r: Rng, doc: Json): Json {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const all = paths(copy);
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    if (all.length === 0) return pick(r, HOSTILE_JSON);
    const path = pick(r, all);
    // An earlier edit may have replaced part of the path: walk while there are objects.
    let parent: unknown = copy;
    for (const k of path.slice(0, -1)) parent = typeof parent === 'object' && parent !== null ? (parent as Record<string | number, unknown>)[k] : undefined;
    const key = path[path.length - 1]!;
    if (typeof parent !== 'object' || parent === null) continue;
    const what = r();
    const p = parent as Record<string | number, unknown>;
    if (what < 0.6) p[key] = pick(r, HOSTILE_JSON);
    else if (what < 0.75 && !Array.isArray(p)) delete p[key];
    else if (what < 0.85 && !Array.isArray(p)) {
      // A prototype name as a key (defined as an own property, as JSON.parse does).
      Object.defineProperty(p, pick(r, ['__proto__', 'constructor', 'prototype', 'bogus']), { value: pick(r, HOSTILE_JSON), enumerable: true, writable: true, configurable: true });
    } else if (typeof p[key] === 'number') p[key] = (p[key] as number) * pick(r, [1e30, -1, 1e6, 2 ** 40, 0.5]);
    else p[key] = pick(r, HOSTILE_JSON);
  }
  return copy;
}

/** Plain damage with no checksum fixed: flips, truncation, appended junk, zeroed runs. */
export function rawDamage(r: Rng, bytes: Uint8Array): Uint8Array {
  const b = Uint8Array.from(bytes);
  const what = r();
  if (what < 0.45) {
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
    return b;
  }
  if (what < 0.7) return b.subarray(0, Math.floor(r() * b.length));
  if (what < 0.85) {
    const junk = new Uint8Array(1 + Math.floor(r() * 4096)).map(() => Math.floor(r() * 256));
    const out = new Uint8Array(b.length + junk.length);
    out.set(b);
    out.set(junk, b.length);
    return out;
  }
  const at = Math.floor(r() * b.length);
  b.fill(0xff, at, Math.min(b.length, at + 1 + Math.floor(r() * 64)));
  return b;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

// ----- recordings: "WLRECORD" u32 version u32 hlen header u32 N u32 A flags pad f32 actions u32 crcs u32 crc

interface RecordingParts {
  header: Record<string, unknown>;
  frames: number;
  channels: number;
  flags: Uint8Array;
  actions: Float32Array;
  crcs: Uint32Array;
}

function splitRecording(b: Uint8Array): RecordingParts {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = dv.getUint32(12, true);
  const header = JSON.parse(dec.decode(b.subarray(16, 16 + hlen))) as Record<string, unknown>;
  const o = 16 + hlen;
  const n = dv.getUint32(o, true);
  const a = dv.getUint32(o + 4, true);
  const flagsEnd = o + 8 + n;
  const actionsAt = flagsEnd + pad4(flagsEnd);
  const actions = new Float32Array(n * a);
  for (let i = 0; i < n * a; i++) actions[i] = dv.getFloat32(actionsAt + i * 4, true);
  const crcs = new Uint32Array(n);
  for (let i = 0; i < n; i++) crcs[i] = dv.getUint32(actionsAt + n * a * 4 + i * 4, true);
  return { header, frames: n, channels: a, flags: b.slice(o + 8, o + 8 + n), actions, crcs };
}

/** A recording with its CRC-32 recomputed (whatever the header says). */
function joinRecording(p: RecordingParts, headerText = JSON.stringify(p.header)): Uint8Array {
  const h = enc.encode(headerText);
  const n = p.frames;
  const a = p.channels;
  const flagsEnd = 16 + h.length + 8 + n;
  const actionsAt = flagsEnd + pad4(flagsEnd);
  const total = actionsAt + n * a * 4 + n * 4 + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(enc.encode('WLRECORD'));
  dv.setUint32(8, 1, true);
  dv.setUint32(12, h.length, true);
  out.set(h, 16);
  dv.setUint32(16 + h.length, n, true);
  dv.setUint32(16 + h.length + 4, a, true);
  out.set(p.flags.subarray(0, n), 16 + h.length + 8);
  for (let i = 0; i < n * a; i++) dv.setFloat32(actionsAt + i * 4, p.actions[i] ?? 0, true);
  for (let i = 0; i < n; i++) dv.setUint32(actionsAt + n * a * 4 + i * 4, p.crcs[i] ?? 0, true);
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)) >>> 0, true);
  return out;
}

export function mutateRecording(r: Rng, base: Uint8Array): Uint8Array {
  if (r() < 0.2) return rawDamage(r, base);
  const p = splitRecording(base);
  const what = r();
  if (what < 0.4) p.header = mutateJson(r, p.header) as Record<string, unknown>;
  else if (what < 0.7) {
    const edits = 1 + Math.floor(r() * 3);
    for (let e = 0; e < edits; e++) p.actions[Math.floor(r() * p.actions.length)] = pick(r, HOSTILE_FLOATS);
    if (r() < 0.2) p.actions.fill(pick(r, HOSTILE_FLOATS));
  } else if (what < 0.8) p.flags[Math.floor(r() * p.flags.length)] = Math.floor(r() * 256);
  else if (what < 0.9) p.crcs[Math.floor(r() * p.crcs.length)] ^= 1;
  else {
    // Counts that disagree with the data (the checksum still recomputed over what is there).
    const out = joinRecording(p);
    const dv = new DataView(out.buffer);
    const at = 16 + dv.getUint32(12, true) + (r() < 0.5 ? 0 : 4);
    dv.setUint32(at, pick(r, [0, 1, 0xffffffff, 50_000_001, 1025, p.frames + 1]), true);
    dv.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)) >>> 0, true);
    return out;
  }
  return joinRecording(p);
}

// ----- saves: "WLSAVE\r\n" u32 version u32 hlen header pad sections sha256

interface SaveParts {
  version: number;
  header: Record<string, unknown>;
  body: Uint8Array;
}

function splitSave(b: Uint8Array): SaveParts {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = dv.getUint32(12, true);
  const header = JSON.parse(dec.decode(b.subarray(16, 16 + hlen))) as Record<string, unknown>;
  const bodyAt = 16 + hlen + pad4(hlen);
  return { version: dv.getUint32(8, true), header, body: b.slice(bodyAt, b.length - 32) };
}

/** A save with its SHA-256 recomputed. */
function joinSave(p: SaveParts, headerText = JSON.stringify(p.header)): Uint8Array {
  const h = enc.encode(headerText);
  const bodyAt = 16 + h.length + pad4(h.length);
  const out = new Uint8Array(bodyAt + p.body.length + 32);
  const dv = new DataView(out.buffer);
  out.set(enc.encode('WLSAVE\r\n'));
  dv.setUint32(8, p.version, true);
  dv.setUint32(12, h.length, true);
  out.set(h, 16);
  out.set(p.body, bodyAt);
  out.set(createHash('sha256').update(out.subarray(0, out.length - 32)).digest(), out.length - 32);
  return out;
}

/** Byte offset of each section in the body, by the header's list. */
function sectionOffsets(header: Record<string, unknown>): { name: string; type: string; at: number; bytes: number }[] {
  const out: { name: string; type: string; at: number; bytes: number }[] = [];
  let at = 0;
  for (const s of header.sections as { name: string; type: string; bytes: number }[]) {
    out.push({ ...s, at });
    at += s.bytes + pad4(s.bytes);
  }
  return out;
}

export function mutateSave(r: Rng, base: Uint8Array): Uint8Array {
  if (r() < 0.2) return rawDamage(r, base);
  const p = splitSave(base);
  const what = r();
  if (what < 0.25) {
    // The fields the issue names, with the values that hung or slipped through.
    const h = p.header;
    const v = pick(r, [2 ** 53 + 1, 2 ** 64, 1e308, 1e30, -1, 0, null, 'x', 0.5]);
    const field = pick(r, ['pose.x', 'pose.y', 'pose.yaw', 'settings.fps', 'settings.startPose.x', 'settings.startPose', 'memory.capacity', 'memory.count', 'memory.binSize', 'memory', 'light', 'settings.steps', 'frameIndex', 'seed']);
    const [a, b] = field.split('.') as [string, string | undefined];
    if (b === undefined) {
      if (r() < 0.5) delete h[a];
      else h[a] = v;
    } else if (typeof h[a] === 'object' && h[a] !== null) {
      const inner = h[a] as Record<string, unknown>;
      const [b1, b2] = [b, field.split('.')[2]];
      if (b2 !== undefined && typeof inner[b1] === 'object' && inner[b1] !== null) (inner[b1] as Record<string, unknown>)[b2] = v;
      else inner[b1] = v;
    } else h[a] = { [b]: v };
  } else if (what < 0.55) p.header = mutateJson(r, p.header) as Record<string, unknown>;
  else if (what < 0.9) {
    // Hostile values inside the sections, as their own type.
    const secs = sectionOffsets(p.header);
    const s = pick(r, secs);
    const dv = new DataView(p.body.buffer, p.body.byteOffset, p.body.byteLength);
    const all = r() < 0.3;
    const width = s.type === 'f32' ? 4 : s.type === 'f64' ? 8 : 1;
    const count = s.bytes / width;
    if (count === 0) return joinSave(p);
    const v = pick(r, HOSTILE_FLOATS);
    for (let k = 0; k < (all ? count : 1 + Math.floor(r() * 4)); k++) {
      const i = all ? k : Math.floor(r() * count);
      const at = s.at + i * width;
      if (s.type === 'f32') dv.setFloat32(at, v, true);
      else if (s.type === 'f64') dv.setFloat64(at, v, true);
      else p.body[at] = Math.floor(r() * 256);
    }
  } else {
    // Section list disagreeing with the body.
    const secs = p.header.sections as Record<string, unknown>[];
    const s = pick(r, secs);
    s[pick(r, ['bytes', 'type', 'name'])] = pick(r, [0, 4, 2 ** 31, 'f64', 'u8', 'f32', 'frame', 'bogus', -4]);
  }
  return joinSave(p);
}

// ----- models: safetensors (u64 header length, JSON header, data)

export function mutateModel(r: Rng, base: Uint8Array): Uint8Array {
  if (r() < 0.15) return rawDamage(r, base);
  const dv0 = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const hlen = Number(dv0.getBigUint64(0, true));
  const header = JSON.parse(dec.decode(base.subarray(8, 8 + hlen))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  let data = base.slice(8 + hlen);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const what = r();
  if (what < 0.35) {
    // Hostile weights in one tensor (or all of them): NaN, Inf, huge, zero.
    const targets = r() < 0.2 ? names : [pick(r, names)];
    const kind = pick(r, ['nan', 'inf', '-inf', 'huge', 'zero']);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const name of targets) {
      const t = header[name]!;
      const [b, e] = t.data_offsets;
      const width = t.dtype === 'F32' ? 4 : 2;
      const all = targets.length > 1 || r() < 0.4;
      for (let k = 0; k < (e - b) / width; k++) {
        if (!all && r() > 8 / ((e - b) / width)) continue;
        const at = b + k * width;
        if (width === 4) dv.setFloat32(at, kind === 'nan' ? NaN : kind === 'inf' ? Infinity : kind === '-inf' ? -Infinity : kind === 'huge' ? 1e38 : 0, true);
        else {
          const f16 = t.dtype === 'F16';
          const bits = kind === 'nan' ? 0x7fff : kind === 'inf' ? (f16 ? 0x7c00 : 0x7f80) : kind === '-inf' ? (f16 ? 0xfc00 : 0xff80) : kind === 'huge' ? (f16 ? 0x7bff : 0x7f7f) : 0;
          dv.setUint16(at, bits, true);
        }
      }
    }
  } else if (what < 0.55) {
    // Offsets that alias, leave holes, swap, or run past the end.
    const a = header[pick(r, names)]!;
    const b = header[pick(r, names)]!;
    const how = r();
    if (how < 0.3) a.data_offsets = [...b.data_offsets];
    else if (how < 0.5) [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
    else if (how < 0.7) a.data_offsets = [a.data_offsets[0] + 2, a.data_offsets[1] + 2];
    else a.data_offsets = [pick(r, [0, 2 ** 53, data.length]), pick(r, [2 ** 53 + 1, data.length + 4, 0])];
  } else if (what < 0.7) {
    // Dtype relabels and shapes.
    const t = header[pick(r, names)]!;
    if (r() < 0.5) t.dtype = pick(r, ['F16', 'BF16', 'F32', 'F64', 'I8', 'Q4', '']);
    else t.shape = pick(r, [[], [0], [2 ** 53 + 1], [-1], [1, 2, 3, 4, 5, 6, 7, 8, 9], [2 ** 32, 2 ** 32]]);
  } else if (what < 0.85) {
    // Trailing bytes after the data (1 B to 1 MB).
    const extra = pick(r, [1, 8, 4096, 1 << 20]);
    const grown = new Uint8Array(data.length + extra);
    grown.set(data);
    data = grown;
  } else {
    // The manifest: hostile values in the JSON inside __metadata__.worldloop.
    const meta = header.__metadata__ as unknown as Record<string, string>;
    try {
      meta.worldloop = JSON.stringify(mutateJson(r, JSON.parse(meta.worldloop!)));
    } catch {
      meta.worldloop = '{';
    }
  }
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// ----- JSON files (bindings, scripts)

export function mutateJsonFile(r: Rng, doc: Json): Uint8Array {
  const what = r();
  if (what < 0.15) return rawDamage(r, enc.encode(JSON.stringify(doc)));
  if (what < 0.2) return enc.encode('\ufeff' + JSON.stringify(mutateJson(r, doc)));
  if (what < 0.25) return enc.encode(pick(r, ['[]', '{}', 'null', '""', '[[]]', '{"segments": []}', '1e999']));
  return enc.encode(JSON.stringify(mutateJson(r, doc)));
}

// ----- images: PNG chunks with their CRCs fixed

export function mutatePng(r: Rng, base: Uint8Array): Uint8Array {
  if (r() < 0.3) return rawDamage(r, base);
  const b = Uint8Array.from(base);
  const dv = new DataView(b.buffer);
  // Chunks: walk them, pick one, edit its data, fix its CRC.
  const chunks: { at: number; len: number; type: string }[] = [];
  for (let pos = 8; pos + 12 <= b.length;) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    chunks.push({ at: pos, len, type });
    pos += 12 + len;
  }
  const c = r() < 0.6 ? chunks.find((x) => x.type === 'IHDR')! : pick(r, chunks);
  if (c.type === 'IHDR') {
    const field = Math.floor(r() * 7);
    const d = c.at + 8;
    if (field === 0) dv.setUint32(d, pick(r, [0, 1, 2 ** 31 - 1, 0xffffffff, 65536, 40000]));
    else if (field === 1) dv.setUint32(d + 4, pick(r, [0, 1, 2 ** 31 - 1, 0xffffffff, 65536, 40000]));
    else b[d + 8 + (field - 2)] = pick(r, [0, 1, 2, 3, 4, 6, 7, 16, 255]);
  } else if (c.len > 0) {
    for (let k = 0; k < 1 + Math.floor(r() * 4); k++) b[c.at + 8 + Math.floor(r() * c.len)] = Math.floor(r() * 256);
  }
  dv.setUint32(c.at + 8 + c.len, crc32(b.subarray(c.at + 4, c.at + 8 + c.len)) >>> 0);
  return b;
}
