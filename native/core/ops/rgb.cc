// Fast RGB conversion, bit-identical to ref (same float expression; the rounding below equals
// std::round on the clamped range [0, 255]: adding the largest float below 0.5 and truncating
// rounds halves up and everything else to nearest, with no libm call; checked for every float
// in [0, 255] by test_ops).
#include <algorithm>

#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

namespace {
inline uint8_t to_u8(float x) {
  float v = (x + 1.0f) * 127.5f;
  v = v > 0.0f ? v : 0.0f;  // NaN -> 0, as ref
  v = v < 255.0f ? v : 255.0f;
  return uint8_t(int(v + 0.49999997f));
}
}  // namespace

void rgb_f32_to_u8(const OpCtx& ctx, int n, int h, int w, const float* x, uint8_t* y) {
  ops_detail::require(n > 0 && h > 0 && w > 0, "rgb_f32_to_u8", "bad shape");
  const size_t hw = size_t(h) * w;
  ops_detail::parallel(ctx, int64_t(n) * h, std::max(1, 2048 / w), [&](int64_t b, int64_t e, int) {
    for (int64_t row = b; row < e; ++row) {
      const size_t i = size_t(row / h), p0 = size_t(row % h) * w;
      const float* r = x + i * 3 * hw + p0;
      const float* g = r + hw;
      const float* bl = g + hw;
      uint8_t* out = y + (i * hw + p0) * 3;
      for (int px = 0; px < w; ++px) {
        out[3 * px] = to_u8(r[px]);
        out[3 * px + 1] = to_u8(g[px]);
        out[3 * px + 2] = to_u8(bl[px]);
      }
    }
  });
}

void rgb_u8_to_f32(const OpCtx& ctx, int n, int h, int w, const uint8_t* x, float* y) {
  ops_detail::require(n > 0 && h > 0 && w > 0, "rgb_u8_to_f32", "bad shape");
  const size_t hw = size_t(h) * w;
  ops_detail::parallel(ctx, int64_t(n) * h, std::max(1, 2048 / w), [&](int64_t b, int64_t e, int) {
    for (int64_t row = b; row < e; ++row) {
      const size_t i = size_t(row / h), p0 = size_t(row % h) * w;
      const uint8_t* in = x + (i * hw + p0) * 3;
      float* r = y + i * 3 * hw + p0;
      for (int px = 0; px < w; ++px) {
        r[px] = float(in[3 * px]) / 127.5f - 1.0f;
        r[hw + px] = float(in[3 * px + 1]) / 127.5f - 1.0f;
        r[2 * hw + px] = float(in[3 * px + 2]) / 127.5f - 1.0f;
      }
    }
  });
}

}  // namespace fast
}  // namespace wl
