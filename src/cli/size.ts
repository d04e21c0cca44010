/** Parses a --size WxH flag (e.g. 128x128, 640x360) within the world's supported range. */
import { InvalidArgumentError } from '../errors.js';

export function parseSize(command: string, raw: string | undefined, fallback: [number, number]): [number, number] {
  if (raw === undefined) return fallback;
  const m = /^(\d+)x(\d+)$/i.exec(raw.trim());
  if (!m) throw new InvalidArgumentError(`${command}: --size must look like WxH (e.g. 128x128); got '${raw}'`);
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w < 16 || h < 16 || w > 1024 || h > 1024) {
    throw new InvalidArgumentError(`${command}: --size ${w}x${h} is outside 16x16..1024x1024`);
  }
  return [w, h];
}
