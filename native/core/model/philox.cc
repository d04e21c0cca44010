#include "model/philox.h"

#include <cmath>

namespace wl {

PhiloxWords philox4x32_10(const uint32_t ctr[4], const uint32_t key[2]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

PhiloxWords philox_block(uint64_t seed, uint64_t frame, uint32_t step, uint32_t block) {
  const uint32_t ctr[4] = {block, step, uint32_t(frame), uint32_t(frame >> 32)};
  const uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)};
  return philox4x32_10(ctr, key);
}

namespace {
// 24 high bits, centred in their bucket: (0, 1) exclusive, so log() never sees 0.
inline double unit(uint32_t w) { return (double(w >> 8) + 0.5) * (1.0 / 16777216.0); }
}  // namespace

void philox_normals(uint64_t seed, uint64_t frame, uint32_t step, size_t count, float* out) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (size_t i = 0; i < count; i += 4) {
    const PhiloxWords p = philox_block(seed, frame, step, uint32_t(i / 4));
    double n[4];
    for (int pair = 0; pair < 2; ++pair) {
      const double r = std::sqrt(-2.0 * std::log(unit(p.w[2 * pair])));
      const double t = kTwoPi * unit(p.w[2 * pair + 1]);
      n[2 * pair] = r * std::cos(t);
      n[2 * pair + 1] = r * std::sin(t);
    }
    for (size_t j = 0; j < 4 && i + j < count; ++j) out[i + j] = float(n[j]);
  }
}

}  // namespace wl
