/**
 * Start a world from a picture: a PNG or JPEG is scaled to cover the model's frame size, the
 * centre is cropped out, and the result becomes the K opening frames (the same picture K times,
 * as if the player stood still looking at it). PNGs are decoded by src/image/png.ts; JPEGs by
 * ffmpeg when it is installed, converted to PNG on a pipe so one decoder checks both.
 *
 * Downscaling averages every source pixel under an output pixel (no aliasing on large photos);
 * upscaling interpolates bilinearly.
 */
import { readInputFile } from './input_file.js';
import { spawnSync } from 'node:child_process';
import { decodePng, type RgbImage } from './image/png.js';
import { FormatError, InvalidArgumentError, UnsupportedError, WorldloopError } from './errors.js';
import type { OpeningProvider } from './model_world.js';

/** Image files larger than this are refused before decoding. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}
function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** Decodes a JPEG by piping it through ffmpeg into PNG. */
export function decodeJpegWithFfmpeg(bytes: Uint8Array, name: string, ffmpeg = process.env.WL_FFMPEG ?? 'ffmpeg'): RgbImage {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'jpeg_pipe', '-i', 'pipe:0', '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', 'pipe:1'], {
    input: bytes,
    maxBuffer: 512 * 1024 * 1024,
    timeout: 60_000,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UnsupportedError(`${name}: decoding JPEG needs ffmpeg, which is not installed (apt-get install ffmpeg), or convert the image to PNG`);
    }
    throw new WorldloopError('WL_IO', `${name}: running ffmpeg failed: ${r.error.message}`);
  }
  if (r.status !== 0 || r.stdout.length === 0) {
    const msg = r.stderr.toString().trim().split('\n').slice(-2).join(' ');
    throw new FormatError(`${name}: ffmpeg could not decode the JPEG${msg ? ` (${msg})` : ''}`);
  }
  return decodePng(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length), `${name} (via ffmpeg)`);
}

/** Reads a PNG or JPEG file into RGB8. */
export function readImage(path: string): RgbImage {
  const bytes = readInputFile(path, 'image', MAX_IMAGE_FILE_BYTES);
  if (isPng(bytes)) return decodePng(bytes, path);
  if (isJpeg(bytes)) return decodeJpegWithFfmpeg(bytes, path);
  throw new FormatError(`${path}: not a PNG or JPEG image (unrecognised first bytes)`);
}

/** Scales `img` to cover width x height and crops the centre. */
export function coverCrop(img: RgbImage, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`coverCrop: target size must be positive integers; got ${width}x${height}`);
  }
  if (img.rgb.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new InvalidArgumentError(`coverCrop: image of ${img.width}x${img.height} has ${img.rgb.length} bytes`);
  }
  // Source pixels per output pixel, the same on both axes (aspect kept), chosen to cover.
  const scale = Math.min(img.width / width, img.height / height);
  const x0 = (img.width - width * scale) / 2;
  const y0 = (img.height - height * scale) / 2;
  const out = new Uint8Array(width * height * 3);
  const src = img.rgb;
  const W = img.width;
  const H = img.height;
  for (let oy = 0; oy < height; oy++) {
    for (let ox = 0; ox < width; ox++) {
      const o = (oy * width + ox) * 3;
      if (scale > 1) {
        // Box filter: area-weighted mean of the source pixels under this output pixel.
        const sx0 = x0 + ox * scale;
        const sy0 = y0 + oy * scale;
        const sx1 = sx0 + scale;
        const sy1 = sy0 + scale;
        let r = 0;
        let g = 0;
        let b = 0;
        let wsum = 0;
        for (let y = Math.floor(sy0); y < Math.min(H, Math.ceil(sy1)); y++) {
          const wy = Math.min(sy1, y + 1) - Math.max(sy0, y);
          if (wy <= 0) continue;
          for (let x = Math.floor(sx0); x < Math.min(W, Math.ceil(sx1)); x++) {
            const wx = Math.min(sx1, x + 1) - Math.max(sx0, x);
            if (wx <= 0) continue;
            const w = wx * wy;
            const i = (y * W + x) * 3;
            r += src[i]! * w;
            g += src[i + 1]! * w;
            b += src[i + 2]! * w;
            wsum += w;
          }
        }
        out[o] = Math.round(r / wsum);
        out[o + 1] = Math.round(g / wsum);
        out[o + 2] = Math.round(b / wsum);
      } else {
        // Bilinear at the output pixel's centre.
        const fx = Math.min(W - 1, Math.max(0, x0 + (ox + 0.5) * scale - 0.5));
        const fy = Math.min(H - 1, Math.max(0, y0 + (oy + 0.5) * scale - 0.5));
        const ix = Math.floor(fx);
        const iy = Math.floor(fy);
        const ax = fx - ix;
        const ay = fy - iy;
        const ix1 = Math.min(W - 1, ix + 1);
        const iy1 = Math.min(H - 1, iy + 1);
        for (let c = 0; c < 3; c++) {
          const p00 = src[(iy * W + ix) * 3 + c]!;
          const p10 = src[(iy * W + ix1) * 3 + c]!;
          const p01 = src[(iy1 * W + ix) * 3 + c]!;
          const p11 = src[(iy1 * W + ix1) * 3 + c]!;
          out[o + c] = Math.round((p00 * (1 - ax) + p10 * ax) * (1 - ay) + (p01 * (1 - ax) + p11 * ax) * ay);
        }
      }
    }
  }
  return out;
}

/** The opening frames for a model world started from an image: the picture, K times. */
export function imageOpening(path: string, width: number, height: number, k: number): { frame: Uint8Array; opening: OpeningProvider } {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`imageOpening: context length must be a positive integer; got ${k}`);
  const frame = coverCrop(readImage(path), width, height);
  return { frame, opening: async () => Array.from({ length: k }, () => frame.slice()) };
}
