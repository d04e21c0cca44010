// The sampler's counter-based noise, bit-identical to the engine's native/core/model/philox.cc
// (and train/philox.py): Philox-4x32-10 keyed by the 64-bit seed with counter (block, step,
// frame_lo, frame_hi); each block of four words gives four normals by Box-Muller in double,
// rounded once to f32. A seed plus an input log therefore replays the same world in the page.
//
// JavaScript numbers are doubles, so the 32x32 -> 64-bit products are split: the low word is
// Math.imul's, the high word is assembled from two exact 16x32-bit partial products.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_32 = 4294967296;

/** High 32 bits of the 64-bit product of two u32 values. */
export function mulHi32(a: number, b: number): number {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const pHi = aHi * b; // < 2^48, exact
  const pLo = aLo * b; // < 2^48, exact
  // a * b = pHi * 2^16 + pLo; split pHi so every sum stays below 2^53.
  const carry = Math.floor(((pHi % 65536) * 65536 + pLo) / TWO_32);
  return (Math.floor(pHi / 65536) + carry) >>> 0;
}

/** Philox-4x32-10 of one counter under one key; returns the four output words. */
export function philox4x32_10(ctr: readonly [number, number, number, number], key: readonly [number, number]): Uint32Array {
  let [c0, c1, c2, c3] = ctr;
  let [k0, k1] = key;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulHi32(c0 >>> 0, M0);
    const lo0 = Math.imul(c0, M0) >>> 0;
    const hi1 = mulHi32(c2 >>> 0, M1);
    const lo1 = Math.imul(c2, M1) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

const U64 = (1n << 64n) - 1n;

function checkU64(v: bigint, what: string): bigint {
  if (v < 0n || v > U64) throw new RangeError(`${what}: ${v} is outside the u64 range`);
  return v;
}

/** Words of block `block` for (seed, frame, step). */
export function philoxBlock(seed: bigint, frame: bigint, step: number, block: number): Uint32Array {
  checkU64(seed, 'seed');
  checkU64(frame, 'frame');
  const ctr: [number, number, number, number] = [
    block >>> 0,
    step >>> 0,
    Number(frame & 0xffffffffn),
    Number(frame >> 32n),
  ];
  const key: [number, number] = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  return philox4x32_10(ctr, key);
}

// 24 high bits, centred in their bucket: (0, 1) exclusive, so log() never sees 0.
function unit(w: number): number {
  return ((w >>> 8) + 0.5) * (1 / 16777216);
}

const TWO_PI = 6.283185307179586;

/** out[0..count) = standard normals for (seed, frame, step); element i comes from block i / 4. */
export function philoxNormals(seed: bigint, frame: bigint, step: number, count: number, out?: Float32Array): Float32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count: ${count} is not a non-negative integer`);
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new RangeError(`step: ${step} is outside the u32 range`);
  const y = out ?? new Float32Array(count);
  if (y.length < count) throw new RangeError(`out holds ${y.length} floats, ${count} requested`);
  checkU64(seed, 'seed');
  checkU64(frame, 'frame');
  const key: [number, number] = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  const frameLo = Number(frame & 0xffffffffn);
  const frameHi = Number(frame >> 32n);
  for (let i = 0; i < count; i += 4) {
    const p = philox4x32_10([(i / 4) >>> 0, step, frameLo, frameHi], key);
    for (let pair = 0; pair < 2; pair++) {
      const r = Math.sqrt(-2 * Math.log(unit(p[2 * pair] as number)));
      const t = TWO_PI * unit(p[2 * pair + 1] as number);
      if (i + 2 * pair < count) y[i + 2 * pair] = r * Math.cos(t);
      if (i + 2 * pair + 1 < count) y[i + 2 * pair + 1] = r * Math.sin(t);
    }
  }
  return y;
}
