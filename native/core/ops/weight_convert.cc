// Storage-dtype conversion at model load (bf16 / IEEE half -> f32), bit-exact.
#include <cstring>

#include "ops/ops.h"

namespace wl {

void bf16_to_f32(size_t n, const uint16_t* x, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(x[i]) << 16;
    std::memcpy(&y[i], &bits, 4);
  }
}

void f16_to_f32(size_t n, const uint16_t* x, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t h = x[i];
    const uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
      bits = sign | 0x7f800000u | (man << 13);  // inf / NaN (payload kept)
    } else if (exp != 0) {
      bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
      bits = sign;  // signed zero
    } else {
      // Subnormal half: shift the mantissa up until its leading 1 becomes the implicit bit.
      exp = 113;
      while (!(man & 0x400)) {
        man <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    std::memcpy(&y[i], &bits, 4);
  }
}

}  // namespace wl
