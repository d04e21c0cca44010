// Reference elementwise and data-movement ops.
#include <cmath>

#include "ops/ops.h"

namespace wl {
namespace ref {

void silu(size_t n, const float* x, float* y) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = float(v / (1.0 + std::exp(-v)));
  }
}

void add(size_t n, const float* a, const float* b, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void concat_channels(int n, int ca, int cb, int hw, const float* a, const float* b, float* y) {
  for (int i = 0; i < n; ++i) {
    float* out = y + size_t(i) * (ca + cb) * hw;
    for (size_t e = 0; e < size_t(ca) * hw; ++e) out[e] = a[size_t(i) * ca * hw + e];
    for (size_t e = 0; e < size_t(cb) * hw; ++e) out[size_t(ca) * hw + e] = b[size_t(i) * cb * hw + e];
  }
}

void upsample_nearest2x(int n, int c, int h, int w, const float* x, float* y) {
  const size_t planes = size_t(n) * c;
  for (size_t p = 0; p < planes; ++p) {
    for (int oy = 0; oy < 2 * h; ++oy) {
      for (int ox = 0; ox < 2 * w; ++ox) {
        y[(p * 2 * h + oy) * 2 * w + ox] = x[(p * h + oy / 2) * w + ox / 2];
      }
    }
  }
}

}  // namespace ref
}  // namespace wl
