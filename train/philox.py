"""Counter-based noise, bit-compatible with native/core/model/philox.cc.

Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) keyed by the
64-bit world seed; the counter is (block, step, frame_lo, frame_hi), where block = element // 4.
Each block's four 32-bit words become four normals by Box-Muller on pairs (w0,w1), (w2,w3):
  u = ((w >> 8) + 0.5) * 2^-24             (in (0,1), never 0)
  r = sqrt(-2 ln u_a), theta = 2 pi u_b
  n0 = r cos theta, n1 = r sin theta
computed in double and rounded once to f32, so C++ (libm) and numpy agree on the f32 results.
"""
import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint32(0x9E3779B9)
W1 = np.uint32(0xBB67AE85)
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """ctr: uint32 [..., 4], key: uint32 [..., 2] (broadcastable) -> uint32 [..., 4]."""
    c = [np.asarray(ctr[..., i], dtype=np.uint32) for i in range(4)]
    k0 = np.asarray(key[..., 0], dtype=np.uint32)
    k1 = np.asarray(key[..., 1], dtype=np.uint32)
    with np.errstate(over="ignore"):
        for r in range(10):
            p0 = c[0].astype(np.uint64) * M0
            p1 = c[2].astype(np.uint64) * M1
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & MASK).astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & MASK).astype(np.uint32)
            c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
            if r < 9:
                k0 = (k0 + W0).astype(np.uint32)
                k1 = (k1 + W1).astype(np.uint32)
    return np.stack(c, axis=-1)


def raw_blocks(seed, frame, step, blocks):
    """The uint32 words [blocks, 4] for (seed, frame, step)."""
    seed, frame = int(seed), int(frame)
    ctr = np.zeros((blocks, 4), dtype=np.uint32)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint64).astype(np.uint32)
    ctr[:, 1] = np.uint32(step & 0xFFFFFFFF)
    ctr[:, 2] = np.uint32(frame & 0xFFFFFFFF)
    ctr[:, 3] = np.uint32((frame >> 32) & 0xFFFFFFFF)
    key = np.array([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF], dtype=np.uint32)
    return philox4x32_10(ctr, key[None, :])


def normals(seed, frame, step, count):
    """count standard normals (float32) for (seed, frame, step)."""
    blocks = (count + 3) // 4
    w = raw_blocks(seed, frame, step, blocks).astype(np.float64)
    u = (np.floor(w / 256.0) + 0.5) * (2.0 ** -24)
    r0 = np.sqrt(-2.0 * np.log(u[:, 0]))
    t0 = 2.0 * np.pi * u[:, 1]
    r1 = np.sqrt(-2.0 * np.log(u[:, 2]))
    t1 = 2.0 * np.pi * u[:, 3]
    out = np.stack([r0 * np.cos(t0), r0 * np.sin(t0), r1 * np.cos(t1), r1 * np.sin(t1)], axis=1)
    return out.reshape(-1)[:count].astype(np.float32)

