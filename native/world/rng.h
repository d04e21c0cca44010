// Integer random numbers for the world: everything derived from a seed goes through these, so
// levels, textures and the explorer are identical on every machine, build and thread count.
#pragma once
#include <cstdint>

namespace wl::world {

// SplitMix64 step: also used to derive independent sub-seeds ("streams") from one seed.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Stateless hash of (seed, a, b): texture noise and per-cell variation without carried state.
inline uint32_t hash3(uint64_t seed, uint32_t a, uint32_t b) {
  uint64_t s = seed ^ (uint64_t(a) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(b) * 0xC2B2AE3D27D4EB4Full);
  return uint32_t(splitmix64(s) >> 32);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : s_(seed) {}
  uint64_t next() { return splitmix64(s_); }
  uint32_t u32() { return uint32_t(next() >> 32); }
  // Uniform integer in [lo, hi] (inclusive); lo <= hi.
  int range(int lo, int hi) {
    uint64_t span = uint64_t(int64_t(hi) - int64_t(lo) + 1);
    return lo + int((next() >> 11) % span);
  }
  // Uniform float in [0, 1) from 24 bits (exact in float).
  float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  bool chance(float p) { return uniform() < p; }
  uint64_t state() const { return s_; }
  void set_state(uint64_t s) { s_ = s; }

 private:
  uint64_t s_;
};

// Independent stream for a named purpose: derive(seed, 1) for the level, 2 for textures, ...
inline uint64_t derive(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  splitmix64(s);
  return splitmix64(s);
}

}  // namespace wl::world
