// Reference RGB conversion between the networks' [-1, 1] planar floats and interleaved RGB8.
// Rounding is std::round (half away from zero) of clamp((x + 1) * 127.5, 0, 255); NaN maps
// to 0 so a broken model shows black instead of undefined bytes.
#include <cmath>

#include "ops/ops.h"

namespace wl {
namespace ref {

void rgb_f32_to_u8(int n, int h, int w, const float* x, uint8_t* y) {
  const size_t hw = size_t(h) * w;
  for (int i = 0; i < n; ++i) {
    for (size_t p = 0; p < hw; ++p) {
      for (int c = 0; c < 3; ++c) {
        float v = (x[(size_t(i) * 3 + c) * hw + p] + 1.0f) * 127.5f;
        if (!(v > 0.0f)) v = 0.0f;
        if (v > 255.0f) v = 255.0f;
        y[(size_t(i) * hw + p) * 3 + c] = uint8_t(std::round(v));
      }
    }
  }
}

void rgb_u8_to_f32(int n, int h, int w, const uint8_t* x, float* y) {
  const size_t hw = size_t(h) * w;
  for (int i = 0; i < n; ++i) {
    for (size_t p = 0; p < hw; ++p) {
      for (int c = 0; c < 3; ++c) {
        y[(size_t(i) * 3 + c) * hw + p] = float(x[(size_t(i) * hw + p) * 3 + c]) / 127.5f - 1.0f;
      }
    }
  }
}

}  // namespace ref
}  // namespace wl
