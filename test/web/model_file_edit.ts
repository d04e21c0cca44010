// Test-only edits of (trusted) fixture model files, to build hostile variants: read a safetensors
// image into tensors and metadata, change them, write it back.

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export interface RawFile {
  metadata: Record<string, string>;
  tensors: RawTensor[];
}

export function readRaw(bytes: Uint8Array): RawFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const base = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: RawTensor[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    tensors.push({ name, dtype: e.dtype, shape: e.shape, data: bytes.slice(base + e.data_offsets[0], base + e.data_offsets[1]) });
  }
  return { metadata, tensors };
}

/** Writes a header JSON text and a data section as a safetensors image. */
export function writeImage(headerJson: string, data: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(headerJson);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

export function writeRaw(f: RawFile): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: f.metadata };
  let offset = 0;
  for (const t of f.tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const data = new Uint8Array(offset);
  offset = 0;
  for (const t of f.tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return writeImage(JSON.stringify(header), data);
}

export function dropTensor(bytes: Uint8Array, name: string): Uint8Array {
  const f = readRaw(bytes);
  f.tensors = f.tensors.filter((t) => t.name !== name);
  return writeRaw(f);
}

/** Same bytes, another shape of the same element count. */
export function reshapeTensor(bytes: Uint8Array, name: string, shape: number[]): Uint8Array {
  const f = readRaw(bytes);
  const t = f.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  t.shape = shape;
  return writeRaw(f);
}

/** Edits the manifest JSON (parsed) and writes the file back. */
export function editManifest(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const f = readRaw(bytes);
  const m = JSON.parse(f.metadata.worldloop as string) as Record<string, unknown>;
  edit(m);
  f.metadata.worldloop = JSON.stringify(m);
  return writeRaw(f);
}
