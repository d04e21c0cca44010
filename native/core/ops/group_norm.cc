// Fast group norm: per (image, group) item, exact two-pass statistics (mean, then centred sum
// of squares, both accumulated in double), then one fused pass per channel
// y = x * a + b (+ SiLU) with gamma/beta and the adaptive scale/shift folded into a and b.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/conv2d_internal.h"
#include "ops/isa_kernels.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

void group_norm(const OpCtx& ctx, const GroupNormShape& s, const float* x,
                const GroupNormParams& p, float* y) {
  ops_detail::group_norm_padded(ctx, s, 1, s.hw, 0, x, p, y);
}

}  // namespace fast

namespace ops_detail {

namespace {
// y = (x - mean) * a + b for channel c of image n: gamma/beta and the adaptive scale/shift folded
// into a and b.
void channel_coeffs(const GroupNormShape& s, const GroupNormParams& p, int n, int c, float rstd,
                    float& a, float& b) {
  a = rstd * (p.gamma ? p.gamma[c] : 1.0f);
  b = p.beta ? p.beta[c] : 0.0f;
  if (p.scale) {
    const float s1 = 1.0f + p.scale[size_t(n) * s.c + c];
    a *= s1;
    b *= s1;
  }
  if (p.shift) b += p.shift[size_t(n) * s.c + c];
}

void check_group_norm(const GroupNormShape& s) {
  require(s.n > 0 && s.c > 0 && s.hw > 0 && s.groups > 0 && s.c % s.groups == 0 && s.eps >= 0.0f,
          "group_norm", "bad shape (groups must divide channels)");
}

// The grain that hands each worker >= ~2k values: handing a chunk to a spinning worker costs
// well under a microsecond (measured), so even the 16x16 levels' small group norms are worth
// splitting.
int64_t group_grain(const GroupNormShape& s) {
  return std::max<int64_t>(1, int64_t(2048 / (size_t(s.c / s.groups) * s.hw)));
}

// Exact two-pass statistics of group g of image n (both sums in double): mean and 1/std.
struct GroupStats {
  float mean, rstd;
};
GroupStats group_stats(const kernels::Table& kt, const GroupNormShape& s, const float* x, int n,
                       int g) {
  const int cpg = s.c / s.groups;
  const size_t count = size_t(cpg) * s.hw;
  const size_t base = (size_t(n) * s.c + size_t(g) * cpg) * s.hw;
  const float mean = float(kt.sum(count, x + base) / double(count));
  const double var = kt.sum_sq_dev(count, x + base, mean) / double(count);
  return {mean, float(1.0 / std::sqrt(var + double(s.eps)))};
}
}  // namespace

void group_norm_coeffs(const OpCtx& ctx, const GroupNormShape& s, const float* x,
                       const GroupNormParams& p, float* coeffs) {
  check_group_norm(s);
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int cpg = s.c / s.groups;
  parallel(ctx, int64_t(s.n) * s.groups, group_grain(s), [&](int64_t b, int64_t e, int) {
    for (int64_t item = b; item < e; ++item) {
      const int n = int(item / s.groups), g = int(item % s.groups);
      const GroupStats st = group_stats(kt, s, x, n, g);
      for (int cc = 0; cc < cpg; ++cc) {
        const int c = g * cpg + cc;
        float* out = coeffs + 3 * (size_t(n) * s.c + c);
        out[0] = st.mean;
        channel_coeffs(s, p, n, c, st.rstd, out[1], out[2]);
      }
    }
  });
}

void group_norm_padded(const OpCtx& ctx, const GroupNormShape& s, int h, int w, int pad,
                       const float* x, const GroupNormParams& p, float* y, bool pairs) {
  check_group_norm(s);
  require(h > 0 && w > 0 && size_t(h) * w == size_t(s.hw) && pad >= 0, "group_norm",
          "plane layout does not match hw");
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int cpg = s.c / s.groups;
#if WL_HAVE_X86
  require(!pairs || (cpg % 2 == 0 && has_avx512_bf16()), "group_norm",
          "bf16 pairs need an even number of channels per group and AVX-512 BF16");
#else
  require(!pairs, "group_norm", "bf16 pairs need AVX-512 BF16");
#endif
  const int hp = h + 2 * pad, wp = w + 2 * pad;
  const size_t out_plane = size_t(hp) * wp;
  parallel(ctx, int64_t(s.n) * s.groups, group_grain(s), [&](int64_t b, int64_t e, int) {
    for (int64_t item = b; item < e; ++item) {
      const int n = int(item / s.groups), g = int(item % s.groups);
      const size_t base = (size_t(n) * s.c + size_t(g) * cpg) * s.hw;
      const GroupStats st = group_stats(kt, s, x, n, g);
      auto coeffs = [&](int c, float& a, float& bb) { channel_coeffs(s, p, n, c, st.rstd, a, bb); };
#if WL_HAVE_X86
      // Pairs: two channels at a time through a short f32 staging row (L1), then rounded to
      // bf16 and interleaved into the pair plane, the layout the bf16 conv reads.
      for (int cc = 0; pairs && cc < cpg; cc += 2) {
        const int c = g * cpg + cc;
        float a0, b0, a1, b1;
        coeffs(c, a0, b0);
        coeffs(c + 1, a1, b1);
        const float* x0 = x + base + size_t(cc) * s.hw;
        const float* x1 = x0 + s.hw;
        uint32_t* yc = reinterpret_cast<uint32_t*>(y) + (size_t(n) * s.c + c) / 2 * out_plane;
        std::memset(yc, 0, sizeof(uint32_t) * size_t(pad) * wp);
        constexpr int kChunk = 128;
        alignas(64) float lo[kChunk], hi[kChunk];
        for (int iy = 0; iy < h; ++iy) {
          uint32_t* row = yc + size_t(iy + pad) * wp;
          for (int q = 0; q < pad; ++q) row[q] = row[pad + w + q] = 0;
          for (int x0i = 0; x0i < w; x0i += kChunk) {
            const int len = std::min(kChunk, w - x0i);
            const size_t at = size_t(iy) * w + x0i;
            kt.scale_shift(size_t(len), x0 + at, st.mean, a0, b0, p.silu, lo);
            kt.scale_shift(size_t(len), x1 + at, st.mean, a1, b1, p.silu, hi);
            kernels::avx512_bf16::pair_row(len, lo, hi, row + pad + x0i);
          }
        }
        std::memset(yc + size_t(h + pad) * wp, 0, sizeof(uint32_t) * size_t(pad) * wp);
      }
      if (pairs) continue;
#endif
      for (int cc = 0; cc < cpg; ++cc) {
        const int c = g * cpg + cc;
        float a, bb;
        coeffs(c, a, bb);
        const float* xc = x + base + size_t(cc) * s.hw;
        float* yc = y + (size_t(n) * s.c + c) * out_plane;
        if (pad == 0) {
          kt.scale_shift(size_t(s.hw), xc, st.mean, a, bb, p.silu, yc);
          continue;
        }
        std::memset(yc, 0, sizeof(float) * size_t(pad) * wp);
        for (int iy = 0; iy < h; ++iy) {
          float* row = yc + size_t(iy + pad) * wp;
          for (int q = 0; q < pad; ++q) row[q] = row[pad + w + q] = 0.0f;
          kt.scale_shift(size_t(w), xc + size_t(iy) * w, st.mean, a, bb, p.silu, row + pad);
        }
        std::memset(yc + size_t(h + pad) * wp, 0, sizeof(float) * size_t(pad) * wp);
      }
    }
  });
}

}  // namespace ops_detail
}  // namespace wl
