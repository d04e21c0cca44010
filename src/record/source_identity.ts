/**
 * Identity of what generated a world, stored in recordings so a replay refuses the wrong one:
 * the SHA-256 of the model file, or "truth:<seed>" for the ground-truth world.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { WorldloopError } from '../errors.js';

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (err) {
    throw new WorldloopError('WL_IO', `cannot read '${path}' to hash it: ${(err as Error).message}`);
  }
  return h.digest('hex');
}

export async function modelSourceId(path: string): Promise<string> {
  return `sha256:${await sha256File(path)}`;
}

export function truthSourceId(seed: number): string {
  return `truth:${seed}`;
}
