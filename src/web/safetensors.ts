// The page's reader for the safetensors container of model files (8-byte little-endian header
// length, a JSON header of {dtype, shape, data_offsets} per tensor and a "__metadata__" string
// map, then the data section) with the checks of the engine's native/core/model/safetensors.cc
// (the manifest in __metadata__.worldloop is manifest.ts; model_file.ts joins the two). The file is untrusted: every size,
// offset and dtype is validated before a tensor byte is read, and errors are ModelFileError with
// messages like the engine's, naming the file, the tensor or field and the problem, e.g.
//   model.safetensors: tensor "denoiser.conv_in.weight": data_offsets [0, 4096] but shape
//   [64, 36, 3, 3] x F32 needs 82944 bytes

import { describeJson, isJsonInteger, isJsonObject, JsonError, jsonTypeName, parseStrictJson } from './strict_json.js';
import type { JsonValue } from './strict_json.js';
import { ModelFileError } from './model_file_error.js';


export type DType = 'F32' | 'F16' | 'BF16' | 'F64' | 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64';

const DTYPE_SIZE: Record<DType, number> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, U64: 8, I64: 8,
};

export function dtypeSize(t: DType): number {
  return DTYPE_SIZE[t];
}

export function isFloatDType(t: DType): boolean {
  return t === 'F32' || t === 'F16' || t === 'BF16';
}

/** Model files hold F32/F16/BF16 only; fixtures and tools may opt into every dtype. */
export type AllowedDTypes = 'float' | 'any';

export const MAX_FILE_BYTES = 2 * 2 ** 30; // 2 GiB, like the engine
export const MAX_HEADER_BYTES = 100 * 2 ** 20;
export const MAX_TENSOR_RANK = 8;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly numel: number;
  /** data_offsets, relative to the data section. */
  readonly begin: number;
  readonly end: number;
  /** Non-finite elements (float dtypes): reported, not fatal, as in the engine. */
  readonly nanCount: number;
  readonly infCount: number;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The engine's quoted_name: a JSON string literal, cut to about 200 characters. */
export function quotedName(name: string): string {
  if (name.length <= 200) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, 197)).slice(0, -1)}..."`;
}

// ---------------------------------------------------------------------------------------------
// Element conversions (exact: every F16/BF16 value maps to the f32 of the same value).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function bf16ToF32(b: number): number {
  u32Scratch[0] = (b & 0xffff) << 16;
  return f32Scratch[0] as number;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal: exact in f32
  if (exp === 0x1f) {
    if (mant === 0) return sign * Infinity;
    // NaN: keep the payload bits like the engine's widening.
    u32Scratch[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13);
    return f32Scratch[0] as number;
  }
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------------------------

function readLe64(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
  return v;
}

function countNonFinite(view: DataView, dtype: DType, offset: number, numel: number): [number, number] {
  let nan = 0;
  let inf = 0;
  if (dtype === 'F32') {
    for (let i = 0; i < numel; i++) {
      const b = view.getUint32(offset + 4 * i, true);
      if ((b & 0x7f800000) === 0x7f800000) {
        if (b & 0x7fffff) nan++;
        else inf++;
      }
    }
  } else if (dtype === 'F16' || dtype === 'BF16') {
    const [expMask, mantMask] = dtype === 'F16' ? [0x7c00, 0x3ff] : [0x7f80, 0x7f];
    for (let i = 0; i < numel; i++) {
      const h = view.getUint16(offset + 2 * i, true);
      if ((h & expMask) === expMask) {
        if (h & mantMask) nan++;
        else inf++;
      }
    }
  } else if (dtype === 'F64') {
    for (let i = 0; i < numel; i++) {
      const hi = view.getUint32(offset + 8 * i + 4, true);
      if ((hi & 0x7ff00000) === 0x7ff00000) {
        if ((hi & 0xfffff) || view.getUint32(offset + 8 * i, true)) nan++;
        else inf++;
      }
    }
  }
  return [nan, inf];
}

export interface ParseOptions {
  /** Names the file in messages (default "model file"). */
  name?: string;
  allowed?: AllowedDTypes;
  /** Largest accepted file (default 2 GiB, the engine's limit). */
  maxFileBytes?: number;
}

/** A validated safetensors image; the bytes are kept and read on demand. */
export class SafetensorsFile {
  private readonly index = new Map<string, TensorInfo>();

  private constructor(
    readonly displayName: string,
    private readonly bytes: Uint8Array,
    private readonly dataStart: number,
    readonly tensors: readonly TensorInfo[],
    readonly metadata: ReadonlyMap<string, string>,
  ) {
    for (const t of tensors) this.index.set(t.name, t);
  }

  get fileBytes(): number {
    return this.bytes.length;
  }

  /** Validates `file` like the engine's SafetensorsFile::from_bytes. Throws ModelFileError. */
  static parse(file: ArrayBuffer | Uint8Array, opts: ParseOptions = {}): SafetensorsFile {
    const name = opts.name ?? 'model file';
    const allowed = opts.allowed ?? 'float';
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
    const fail = (msg: string): never => {
      throw new ModelFileError(`${name}: ${msg}`);
    };
    const size = bytes.length;
    const maxFile = opts.maxFileBytes ?? MAX_FILE_BYTES;
    if (size > maxFile) fail(`file is ${size} bytes, larger than the limit of ${maxFile} bytes`);
    if (size < 8) fail(`file is ${size} bytes, shorter than the 8-byte header length field (not a safetensors file)`);
    const headerLen64 = readLe64(bytes);
    if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
      fail(`header length ${headerLen64} is absurd (limit ${MAX_HEADER_BYTES} bytes; not a safetensors file?)`);
    }
    const headerLen = Number(headerLen64);
    if (headerLen > size - 8) fail(`header length ${headerLen} runs past the end of the file (${size} bytes)`);
    const dataStart = 8 + headerLen;
    const dataSize = size - dataStart;

    let header: JsonValue;
    try {
      header = parseStrictJson(bytes.subarray(8, dataStart), `${name} header`, MAX_HEADER_BYTES);
    } catch (err) {
      if (err instanceof JsonError) throw new ModelFileError(err.message);
      throw err;
    }
    if (!isJsonObject(header)) return fail(`header is a JSON ${jsonTypeName(header)}, expected an object`);

    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const metadata = new Map<string, string>();
    const tensors: TensorInfo[] = [];
    for (const [key, entry] of header) {
      if (key === '__metadata__') {
        if (!isJsonObject(entry)) fail(`__metadata__ is a ${jsonTypeName(entry)}, expected an object of strings`);
        for (const [mk, mv] of entry as Map<string, JsonValue>) {
          if (typeof mv !== 'string') fail(`__metadata__[${quotedName(mk)}] is a ${jsonTypeName(mv)}, expected a string`);
          metadata.set(mk, mv as string);
        }
        continue;
      }
      const where = `tensor ${quotedName(key)}: `;
      if (key === '') fail('a tensor has an empty name');
      if (!isJsonObject(entry)) return fail(`${where}entry is a ${jsonTypeName(entry)}, expected an object`);

      const dtypeV = entry.get('dtype');
      if (typeof dtypeV !== 'string') return fail(`${where}missing or non-string "dtype"`);
      const known = Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtypeV);
      if (!known || (allowed === 'float' && !isFloatDType(dtypeV as DType))) {
        fail(`${where}unknown dtype ${quotedName(dtypeV)}` +
          (allowed === 'float' ? ' (model tensors must be F32, F16 or BF16)' : ' (not a safetensors dtype this reader knows)'));
      }
      const dtype = dtypeV as DType;

      const shapeV = entry.get('shape');
      if (!Array.isArray(shapeV)) return fail(`${where}missing or non-array "shape"`);
      if (shapeV.length > MAX_TENSOR_RANK) fail(`${where}shape has ${shapeV.length} dimensions, more than ${MAX_TENSOR_RANK}`);
      const shape: number[] = [];
      // Products in bigint: a hostile shape must not round its way past the byte-count check.
      let numel = 1n;
      for (const d of shapeV) {
        if (!isJsonInteger(d) || d < 0) fail(`${where}shape entries must be non-negative integers <= 2^53, got ${describeJson(d)}`);
        shape.push(d as number);
        numel *= BigInt(d as number);
      }
      const need = numel * BigInt(DTYPE_SIZE[dtype]);
      if (need >= 2n ** 64n) fail(`${where}shape ${shapeString(shape)} overflows 64-bit byte counts`);

      const offs = entry.get('data_offsets');
      if (!Array.isArray(offs) || offs.length !== 2) return fail(`${where}"data_offsets" must be an array [begin, end]`);
      const [b, e] = offs as [JsonValue, JsonValue];
      if (!isJsonInteger(b) || !isJsonInteger(e) || b < 0 || e < 0) {
        fail(`${where}data_offsets must be non-negative integers <= 2^53, got [${describeJson(b)}, ${describeJson(e)}]`);
      }
      const begin = b as number;
      const end = e as number;
      const offsStr = `data_offsets [${begin}, ${end}]`;
      if (begin > end) fail(`${where}${offsStr} has begin after end`);
      if (end > dataSize) fail(`${where}${offsStr} run past the end of the data section (${dataSize} bytes)`);
      if (BigInt(end - begin) !== need) {
        fail(`${where}${offsStr} but shape ${shapeString(shape)} x ${dtype} needs ${need} bytes`);
      }
      const count = Number(numel);
      const [nanCount, infCount] = countNonFinite(view, dtype, dataStart + begin, count);
      tensors.push({ name: key, dtype, shape, numel: count, begin, end, nanCount, infCount });
    }

    // The data section must be indexed exactly: tensors back to back from byte 0 to its end, no
    // shared bytes (aliasing), no unindexed bytes (a hole), nothing after the last tensor.
    const byOffset = tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
    let covered = 0;
    for (let i = 0; i < byOffset.length; i++) {
      const cur = byOffset[i] as TensorInfo;
      const prev = byOffset[i - 1];
      if (prev && cur.begin < prev.end) {
        fail(`tensor ${quotedName(cur.name)}: data_offsets [${cur.begin}, ${cur.end}] overlap tensor ` +
          `${quotedName(prev.name)} at [${prev.begin}, ${prev.end}]`);
      }
      if (cur.begin > covered) {
        fail(`tensor ${quotedName(cur.name)}: data_offsets [${cur.begin}, ${cur.end}] leave bytes ` +
          `[${covered}, ${cur.begin}) of the data section unindexed (a hole)`);
      }
      covered = cur.end;
    }
    if (covered !== dataSize) {
      fail(`${dataSize - covered} bytes after the last tensor's data (the data section is ${dataSize} bytes; ` +
        `tensors index [0, ${covered}))`);
    }
    return new SafetensorsFile(name, bytes, dataStart, tensors, metadata);
  }

  find(name: string): TensorInfo | undefined {
    return this.index.get(name);
  }

  get(name: string): TensorInfo {
    const t = this.index.get(name);
    if (!t) throw new ModelFileError(`${this.displayName}: missing tensor ${quotedName(name)}`);
    return t;
  }

  /** The raw little-endian bytes of a tensor (a view into the file). */
  rawBytes(name: string): Uint8Array {
    const t = this.get(name);
    return this.bytes.subarray(this.dataStart + t.begin, this.dataStart + t.end);
  }

  /**
   * Tensor `name` (F32/F16/BF16) as f32, checked against the shape the caller expects. Throws
   *   <file>: missing tensor "X"
   *   <file>: tensor "X" has shape [..], the manifest implies [..]
   *   <file>: tensor "X" is U8, not a float tensor
   */
  toF32(name: string, expectedShape?: readonly number[], out?: Float32Array): Float32Array {
    const t = this.get(name);
    if (expectedShape && shapeString(t.shape) !== shapeString(expectedShape)) {
      throw new ModelFileError(`${this.displayName}: tensor ${quotedName(name)} has shape ${shapeString(t.shape)}, ` +
        `the manifest implies ${shapeString(expectedShape)}`);
    }
    if (!isFloatDType(t.dtype)) {
      throw new ModelFileError(`${this.displayName}: tensor ${quotedName(name)} is ${t.dtype}, not a float tensor`);
    }
    const dst = out ?? new Float32Array(t.numel);
    if (dst.length < t.numel) throw new RangeError(`toF32: output holds ${dst.length} floats, ${name} needs ${t.numel}`);
    const off = this.dataStart + t.begin;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    if (t.dtype === 'F32') {
      for (let i = 0; i < t.numel; i++) dst[i] = view.getFloat32(off + 4 * i, true);
    } else if (t.dtype === 'BF16') {
      for (let i = 0; i < t.numel; i++) dst[i] = bf16ToF32(view.getUint16(off + 2 * i, true));
    } else {
      for (let i = 0; i < t.numel; i++) dst[i] = f16ToF32(view.getUint16(off + 2 * i, true));
    }
    return dst;
  }

  get totalNaN(): number {
    return this.tensors.reduce((s, t) => s + t.nanCount, 0);
  }
  get totalInf(): number {
    return this.tensors.reduce((s, t) => s + t.infCount, 0);
  }
}
