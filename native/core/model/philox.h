// Counter-based noise for the sampler, bit-compatible with train/philox.py: a seed plus an input
// log replays the same world. Philox-4x32-10 (Salmon et al., SC'11) keyed by the 64-bit seed with
// counter (block, step, frame_lo, frame_hi); each block of four words gives four normals by
// Box-Muller, computed in double and rounded once to f32.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wl {

struct PhiloxWords {
  uint32_t w[4];
};

PhiloxWords philox4x32_10(const uint32_t ctr[4], const uint32_t key[2]);

// Words of block `block` for (seed, frame, step).
PhiloxWords philox_block(uint64_t seed, uint64_t frame, uint32_t step, uint32_t block);

// out[0..count) = standard normals for (seed, frame, step); element i comes from block i / 4.
void philox_normals(uint64_t seed, uint64_t frame, uint32_t step, size_t count, float* out);

}  // namespace wl
