/**
 * Small PNG codec on node:zlib: encodes RGB8/RGBA8 images and decodes the common 8-bit PNGs
 * (grey, grey+alpha, RGB, RGBA, palette; 16-bit is reduced to 8) into RGB8. Used for
 * screenshots, headless renders, contact sheets and start-from-image. The decoder treats the
 * file as untrusted: every chunk length, CRC, header field and the decompressed size is checked,
 * and errors name the chunk or field.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { FormatError, InvalidArgumentError } from '../errors.js';
import { crc32 } from '../crc32.js';

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
/** Decoded images larger than this many pixels are refused (a PNG header can claim anything). */
export const MAX_PNG_PIXELS = 64 * 1024 * 1024;

export interface RgbImage {
  width: number;
  height: number;
  /** RGB8, row-major, width*height*3 bytes. */
  rgb: Uint8Array;
}


function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/**
 * Encodes an 8-bit RGB (channels 3) or RGBA (channels 4) image. Rows use the "up" filter, which
 * compresses rendered frames well and costs one subtraction per byte.
 */
export function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  channels: 3 | 4 = 3,
): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`encodePng: size must be positive integers; got ${width}x${height}`);
  }
  if (width * height > MAX_PNG_PIXELS) {
    throw new InvalidArgumentError(`encodePng: ${width}x${height} exceeds ${MAX_PNG_PIXELS} pixels`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new InvalidArgumentError(
      `encodePng: expected ${stride * height} bytes for ${width}x${height}x${channels}; got ${pixels.length}`,
    );
  }
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const row = y * stride;
    if (y === 0) {
      raw[o] = 0;
      raw.set(pixels.subarray(row, row + stride), o + 1);
    } else {
      raw[o] = 2;
      for (let i = 0; i < stride; i++) raw[o + 1 + i] = (pixels[row + i]! - pixels[row - stride + i]!) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const parts = [
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(deflateSync(raw, { level: 6 }))),
    chunk('IEND', new Uint8Array(0)),
  ];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Decodes a PNG file to RGB8 (alpha is composited over black). */
export function decodePng(file: Uint8Array, name = 'PNG'): RgbImage {
  const fail = (msg: string): never => {
    throw new FormatError(`${name}: ${msg}`);
  };
  if (file.length < 8 || SIGNATURE.some((b, i) => file[i] !== b)) fail('not a PNG file (bad signature)');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (pos < file.length) {
    if (pos + 12 > file.length) fail(`truncated chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(file[pos + 4]!, file[pos + 5]!, file[pos + 6]!, file[pos + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) fail(`bad chunk type at byte ${pos}`);
    if (len > file.length - pos - 12) fail(`chunk ${type} at byte ${pos} claims ${len} bytes past the end of the file`);
    const dataStart = pos + 8;
    const dataEnd = dataStart + len;
    if (view.getUint32(dataEnd) !== crc32(file, pos + 4, dataEnd)) fail(`chunk ${type} at byte ${pos}: CRC mismatch`);
    const data = file.subarray(dataStart, dataEnd);
    if (type === 'IHDR') {
      if (len !== 13) fail(`IHDR has length ${len}, expected 13`);
      width = view.getUint32(dataStart);
      height = view.getUint32(dataStart + 4);
      depth = data[8]!;
      colorType = data[9]!;
      if (data[10] !== 0) fail(`IHDR compression method ${data[10]} is not 0`);
      if (data[11] !== 0) fail(`IHDR filter method ${data[11]} is not 0`);
      if (data[12] !== 0) fail('interlaced (Adam7) PNGs are not supported; re-save without interlacing');
      if (width < 1 || height < 1) fail(`IHDR size ${width}x${height} is empty`);
      if (width * height > MAX_PNG_PIXELS) fail(`IHDR size ${width}x${height} exceeds ${MAX_PNG_PIXELS} pixels`);
      if (!(colorType in CHANNELS)) fail(`IHDR colour type ${colorType} is not a PNG colour type`);
      const okDepth = colorType === 3 ? [8] : [8, 16];
      if (!okDepth.includes(depth)) {
        fail(`IHDR bit depth ${depth} with colour type ${colorType} is not supported (8-bit${colorType === 3 ? '' : ' or 16-bit'} only)`);
      }
    } else if (type === 'PLTE') {
      if (len % 3 !== 0 || len === 0 || len > 768) fail(`PLTE length ${len} is not 3..768 and a multiple of 3`);
      palette = data;
    } else if (type === 'IDAT') {
      if (colorType < 0) fail('IDAT before IHDR');
      idat.push(data);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    pos = dataEnd + 4;
  }
  if (colorType < 0) fail('missing IHDR chunk');
  if (idat.length === 0) fail('missing IDAT chunk');
  if (!sawEnd) fail('missing IEND chunk (file truncated?)');
  if (colorType === 3 && !palette) fail('palette image without a PLTE chunk');
  const ch = CHANNELS[colorType]!;
  const bpp = (ch * depth) / 8; // bytes per pixel
  const stride = width * bpp;
  const expected = (stride + 1) * height;
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 }));
  } catch (err) {
    return fail(`IDAT data does not inflate: ${(err as Error).message}`);
  }
  if (raw.length !== expected) fail(`IDAT inflates to ${raw.length} bytes, expected ${expected} for ${width}x${height}`);
  // Unfilter in place: each row's filter byte is followed by `stride` bytes.
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const f = raw[o]!;
    const prev = o - (stride + 1);
    for (let i = 0; i < stride; i++) {
      const p = o + 1 + i;
      const a = i >= bpp ? raw[p - bpp]! : 0;
      const b = y > 0 ? raw[prev + 1 + i]! : 0;
      const c = y > 0 && i >= bpp ? raw[prev + 1 + i - bpp]! : 0;
      switch (f) {
        case 0: break;
        case 1: raw[p] = (raw[p]! + a) & 0xff; break;
        case 2: raw[p] = (raw[p]! + b) & 0xff; break;
        case 3: raw[p] = (raw[p]! + ((a + b) >> 1)) & 0xff; break;
        case 4: raw[p] = (raw[p]! + paeth(a, b, c)) & 0xff; break;
        default: fail(`row ${y} has unknown filter type ${f}`);
      }
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  const step = depth / 8; // 16-bit samples: take the high byte
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    for (let x = 0; x < width; x++) {
      const s = row + x * bpp;
      const sample = (k: number) => raw[s + k * step]!;
      let r: number, g: number, b: number, alpha = 255;
      if (colorType === 0 || colorType === 4) {
        r = g = b = sample(0);
        if (colorType === 4) alpha = sample(1);
      } else if (colorType === 3) {
        const idx = sample(0);
        if (idx * 3 + 2 >= palette!.length) fail(`pixel (${x},${y}) uses palette index ${idx} past the PLTE's ${palette!.length / 3} entries`);
        r = palette![idx * 3]!;
        g = palette![idx * 3 + 1]!;
        b = palette![idx * 3 + 2]!;
      } else {
        r = sample(0);
        g = sample(1);
        b = sample(2);
        if (colorType === 6) alpha = sample(3);
      }
      const d = (y * width + x) * 3;
      if (alpha === 255) {
        rgb[d] = r;
        rgb[d + 1] = g;
        rgb[d + 2] = b;
      } else {
        rgb[d] = Math.round((r * alpha) / 255);
        rgb[d + 1] = Math.round((g * alpha) / 255);
        rgb[d + 2] = Math.round((b * alpha) / 255);
      }
    }
  }
  return { width, height, rgb };
}
