// Scalar exp for the portable kernels, written so compilers vectorise loops over it (no libm
// call, no branches): Cody-Waite range reduction x = n ln2 + r, a degree-7 polynomial for e^r
// (relative error ~2 ulp), 2^n assembled in the exponent bits. Inputs are clamped to
// [-87, 88] so 2^n stays a normal float: e^-87 = 1.6e-38 stands in for anything smaller, which
// is harmless for SiLU and softmax (the only users). NaN propagates (the clamps keep it, and
// r carries it into the result). Static: it is compiled into files with different -m flags
// (see attention_head.h).
#pragma once
#include <cstdint>
#include <cstring>

namespace wl {

static inline float exp_approx(float x) {
  float c = x < -87.0f ? -87.0f : x;
  c = c > 88.0f ? 88.0f : c;
  // Adding 1.5 * 2^23 rounds c * log2(e) to an integer that lands in the low mantissa bits:
  // round-to-nearest without a float->int conversion (which would be undefined for NaN).
  const float magic = 12582912.0f;
  const float shifted = c * 1.44269504088896341f + magic;
  const float fn = shifted - magic;
  uint32_t s_bits, m_bits;
  std::memcpy(&s_bits, &shifted, 4);
  std::memcpy(&m_bits, &magic, 4);
  const uint32_t n = s_bits - m_bits;  // two's complement of round(c log2 e), in [-126, 127]
  const float r = (c - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const uint32_t bits = (n + 127u) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return e * scale;
}

}  // namespace wl
