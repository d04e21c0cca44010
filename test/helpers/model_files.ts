// Test model files derived from the fixtures.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';

/** Copies a model file with one weight byte flipped near its end: the same architecture, but a
 * different file (another sha256) — what saves and recordings must refuse. */
export function copyWithOneWeightChanged(src: string, dest: string): string {
  copyFileSync(src, dest);
  const bytes = readFileSync(dest);
  bytes[bytes.length - 2]! ^= 0x01;
  writeFileSync(dest, bytes);
  return dest;
}
