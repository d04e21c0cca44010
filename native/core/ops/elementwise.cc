// Fast elementwise and data-movement ops, threaded in chunks large enough to pay for the
// hand-off to a worker.
#include <algorithm>
#include <cstring>

#include "ops/isa_kernels.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

namespace {
// Work items of 4k floats, one per chunk at least: handing a chunk to a spinning worker costs
// well under a microsecond (measured), less than 4k floats of SiLU.
constexpr int64_t kBlock = 4096;
constexpr int64_t kGrain = 1;
}  // namespace

void silu(const OpCtx& ctx, size_t n, const float* x, float* y) {
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int64_t items = int64_t(ops_detail::ceil_div(n, kBlock));
  ops_detail::parallel(ctx, items, kGrain, [&](int64_t b, int64_t e, int) {
    const size_t lo = size_t(b) * kBlock, hi = std::min(n, size_t(e) * kBlock);
    kt.silu(hi - lo, x + lo, y + lo);
  });
}

void add(const OpCtx& ctx, size_t n, const float* a, const float* b, float* y) {
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int64_t items = int64_t(ops_detail::ceil_div(n, kBlock));
  ops_detail::parallel(ctx, items, kGrain, [&](int64_t bi, int64_t ei, int) {
    const size_t lo = size_t(bi) * kBlock, hi = std::min(n, size_t(ei) * kBlock);
    kt.add(hi - lo, a + lo, b + lo, y + lo);
  });
}

void concat_channels(const OpCtx& ctx, int n, int ca, int cb, int hw, const float* a,
                     const float* b, float* y) {
  ops_detail::require(n > 0 && ca >= 0 && cb >= 0 && hw > 0, "concat_channels", "bad shape");
  const size_t sa = size_t(ca) * hw, sb = size_t(cb) * hw;
  // Item 2i copies a[i], item 2i+1 copies b[i].
  ops_detail::parallel(ctx, int64_t(n) * 2, std::max<int64_t>(1, 2 * 4096 / int64_t(sa + sb + 1)),
                       [&](int64_t bi, int64_t ei, int) {
                         for (int64_t it = bi; it < ei; ++it) {
                           const size_t i = size_t(it / 2);
                           float* out = y + i * (sa + sb);
                           // memcpy with a null source is undefined even for 0 bytes.
                           if (it % 2 == 0) {
                             if (sa) std::memcpy(out, a + i * sa, sizeof(float) * sa);
                           } else {
                             if (sb) std::memcpy(out + sa, b + i * sb, sizeof(float) * sb);
                           }
                         }
                       });
}

void upsample_nearest2x(const OpCtx& ctx, int n, int c, int h, int w, const float* x, float* y) {
  ops_detail::require(n > 0 && c > 0 && h > 0 && w > 0, "upsample_nearest2x", "bad shape");
  const int64_t rows = int64_t(n) * c * h;  // input rows; each makes two output rows
  ops_detail::parallel(ctx, rows, std::max<int64_t>(1, 4096 / (4 * w)),
                       [&](int64_t b, int64_t e, int) {
                         for (int64_t r = b; r < e; ++r) {
                           const float* src = x + size_t(r) * w;
                           float* dst = y + size_t(r) * 4 * w;
                           for (int i = 0; i < w; ++i) dst[2 * i] = dst[2 * i + 1] = src[i];
                           std::memcpy(dst + 2 * w, dst, sizeof(float) * 2 * w);
                         }
                       });
}

}  // namespace fast
}  // namespace wl
