// Fast multi-head self-attention for the small token counts of the latent U-Net (T = 16..64):
// one (image, head) per work item, the T x T score matrix in the worker's scratch slot; the
// per-head math (attention_head.h) is compiled once per ISA.
#include <algorithm>
#include <cmath>

#include "ops/isa_kernels.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

namespace {
size_t slot_floats(const AttentionShape& s) { return 2 * size_t(s.t) * s.t; }
}  // namespace

size_t attention_scratch_floats(const AttentionShape& s, int threads) {
  return size_t(std::max(threads, 1)) * (slot_floats(s) + ops_detail::kSlotSlack);
}

void attention(const OpCtx& ctx, const AttentionShape& s, const float* qkv, float* y) {
  ops_detail::require(s.n > 0 && s.c > 0 && s.t > 0 && s.heads > 0 && s.c % s.heads == 0,
                      "attention", "bad shape (heads must divide channels)");
  ops_detail::require_scratch(ctx, attention_scratch_floats(s, ops_detail::threads_of(ctx)),
                              "attention");
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int d = s.c / s.heads, t = s.t;
  const float scale = float(1.0 / std::sqrt(double(d)));
  ops_detail::parallel(ctx, int64_t(s.n) * s.heads, 1, [&](int64_t b, int64_t e, int worker) {
    float* sc = ops_detail::slot(ctx, slot_floats(s), worker);
    for (int64_t item = b; item < e; ++item) {
      const int n = int(item / s.heads), h = int(item % s.heads);
      const float* q = qkv + (size_t(n) * 3 * s.c + size_t(h) * d) * t;
      const float* k = q + size_t(s.c) * t;
      const float* v = k + size_t(s.c) * t;
      float* out = y + (size_t(n) * s.c + size_t(h) * d) * t;
      kt.attention_head(q, k, v, out, d, t, scale, sc);
    }
  });
}

}  // namespace fast
}  // namespace wl
