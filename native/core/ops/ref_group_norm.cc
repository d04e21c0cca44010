// Reference group norm: nn.GroupNorm (biased variance, eps inside the sqrt), then the affine
// gamma/beta, then the adaptive *(1 + scale) + shift, then SiLU — in that order.
#include <cmath>

#include "ops/ops.h"

namespace wl {
namespace ref {

void group_norm(const GroupNormShape& s, const float* x, const GroupNormParams& p, float* y) {
  const int cpg = s.c / s.groups;
  const size_t count = size_t(cpg) * s.hw;
  for (int n = 0; n < s.n; ++n) {
    for (int g = 0; g < s.groups; ++g) {
      const size_t base = (size_t(n) * s.c + size_t(g) * cpg) * s.hw;
      double sum = 0;
      for (size_t i = 0; i < count; ++i) sum += x[base + i];
      const double mean = sum / double(count);
      double sq = 0;
      for (size_t i = 0; i < count; ++i) {
        const double d = x[base + i] - mean;
        sq += d * d;
      }
      const double rstd = 1.0 / std::sqrt(sq / double(count) + double(s.eps));
      for (int cc = 0; cc < cpg; ++cc) {
        const int c = g * cpg + cc;
        for (int i = 0; i < s.hw; ++i) {
          const size_t o = base + size_t(cc) * s.hw + i;
          double v = (x[o] - mean) * rstd;
          if (p.gamma) v *= p.gamma[c];
          if (p.beta) v += p.beta[c];
          if (p.scale) v *= 1.0 + p.scale[size_t(n) * s.c + c];
          if (p.shift) v += p.shift[size_t(n) * s.c + c];
          if (p.silu) v = v / (1.0 + std::exp(-v));
          y[o] = float(v);
        }
      }
    }
  }
}

}  // namespace ref
}  // namespace wl
