// Fast linear (nn.Linear layout): 4 x 4 blocks of (rows, outputs) so each weight row is read
// once per 4 input rows; threaded over output blocks (the weights dominate the traffic).
#include <algorithm>

#include "ops/isa_kernels.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

void linear(const OpCtx& ctx, int n, int in, int out, const float* x, const float* w,
            const float* b, float* y) {
  ops_detail::require(n > 0 && in > 0 && out > 0, "linear", "bad shape");
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int64_t oblocks = (out + 3) / 4;
  // >= ~8k multiply-adds per chunk, so the n = 1 adaptive-norm projections split too.
  const int64_t grain = std::max<int64_t>(1, 8192 / (int64_t(4) * in * n));
  ops_detail::parallel(ctx, oblocks, grain, [&](int64_t bb, int64_t be, int) {
    for (int64_t ob = bb; ob < be; ++ob) {
      const int o0 = int(ob * 4), outs = std::min(4, out - o0);
      for (int r0 = 0; r0 < n; r0 += 4) {
        kt.linear_block(std::min(4, n - r0), outs, in, x + size_t(r0) * in, size_t(in),
                        w + size_t(o0) * in, b ? b + o0 : nullptr, y + size_t(r0) * out + o0,
                        size_t(out));
      }
    }
  });
}

}  // namespace fast
}  // namespace wl
