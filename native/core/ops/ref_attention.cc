// Reference multi-head self-attention on channel-major tokens (see ops.h for the layout).
#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace wl {
namespace ref {

void attention(const AttentionShape& s, const float* qkv, float* y) {
  const int d = s.c / s.heads;
  const double scale = 1.0 / std::sqrt(double(d));
  std::vector<double> p(s.t);
  for (int n = 0; n < s.n; ++n) {
    const float* q = qkv + size_t(n) * 3 * s.c * s.t;
    const float* k = q + size_t(s.c) * s.t;
    const float* v = k + size_t(s.c) * s.t;
    float* out = y + size_t(n) * s.c * s.t;
    for (int h = 0; h < s.heads; ++h) {
      const size_t c0 = size_t(h) * d;
      for (int i = 0; i < s.t; ++i) {
        double mx = -INFINITY;
        for (int j = 0; j < s.t; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += double(q[(c0 + c) * s.t + i]) * k[(c0 + c) * s.t + j];
          p[j] = dot * scale;
          if (p[j] > mx) mx = p[j];
        }
        double sum = 0;
        for (int j = 0; j < s.t; ++j) {
          p[j] = std::exp(p[j] - mx);
          sum += p[j];
        }
        for (int c = 0; c < d; ++c) {
          double acc = 0;
          for (int j = 0; j < s.t; ++j) acc += p[j] * v[(c0 + c) * s.t + j];
          out[(c0 + c) * s.t + i] = float(acc / sum);
        }
      }
    }
  }
}

}  // namespace ref
}  // namespace wl
