// src/crc32.ts (the plain-TypeScript CRC-32 the browser page's recorder and PNG share) gives
// node:zlib's crc32 for every length and offset, so recordings written in the page carry the
// checksums the engine's reader verifies.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../src/crc32.js';

describe('crc32', () => {
  it('equals node:zlib on many lengths and ranges', () => {
    const bytes = Uint8Array.from({ length: 4099 }, (_, i) => (i * 131 + (i >> 3)) & 255);
    for (const n of [0, 1, 2, 3, 7, 64, 1000, 4099]) expect(crc32(bytes.subarray(0, n)), `length ${n}`).toBe(zlibCrc32(bytes.subarray(0, n)) >>> 0);
    expect(crc32(bytes, 5, 900)).toBe(zlibCrc32(bytes.subarray(5, 900)) >>> 0);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
