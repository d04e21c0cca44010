// Fast group norm: per (image, group) item, exact two-pass statistics (mean, then centred sum
// of squares, both accumulated in double), then one fused pass per channel
// y = x * a + b (+ SiLU) with gamma/beta and the adaptive scale/shift folded into a and b.
#include <algorithm>
#include <cmath>

#include "ops/isa_kernels.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

void group_norm(const OpCtx& ctx, const GroupNormShape& s, const float* x,
                const GroupNormParams& p, float* y) {
  ops_detail::require(s.n > 0 && s.c > 0 && s.hw > 0 && s.groups > 0 && s.c % s.groups == 0 &&
                          s.eps >= 0.0f,
                      "group_norm", "bad shape (groups must divide channels)");
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int cpg = s.c / s.groups;
  const size_t count = size_t(cpg) * s.hw;
  // ~16k values per chunk: below that the hand-off to a worker costs more than it saves.
  const int64_t grain = std::max<int64_t>(1, int64_t(16384 / count));
  ops_detail::parallel(ctx, int64_t(s.n) * s.groups, grain, [&](int64_t b, int64_t e, int) {
    for (int64_t item = b; item < e; ++item) {
      const int n = int(item / s.groups), g = int(item % s.groups);
      const size_t base = (size_t(n) * s.c + size_t(g) * cpg) * s.hw;
      const float mean = float(kt.sum(count, x + base) / double(count));
      const double var = kt.sum_sq_dev(count, x + base, mean) / double(count);
      const float rstd = float(1.0 / std::sqrt(var + double(s.eps)));
      for (int cc = 0; cc < cpg; ++cc) {
        const int c = g * cpg + cc;
        float a = rstd * (p.gamma ? p.gamma[c] : 1.0f);
        float bb = p.beta ? p.beta[c] : 0.0f;
        if (p.scale) {
          const float s1 = 1.0f + p.scale[size_t(n) * s.c + c];
          a *= s1;
          bb *= s1;
        }
        if (p.shift) bb += p.shift[size_t(n) * s.c + c];
        const size_t off = base + size_t(cc) * s.hw;
        kt.scale_shift(size_t(s.hw), x + off, mean, a, bb, p.silu, y + off);
      }
    }
  });
}

}  // namespace fast
}  // namespace wl
