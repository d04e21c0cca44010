// AArch64 Advanced SIMD (NEON) inner kernels: 32 registers of 4 floats, FMA by vector lane, no
// masked loads or stores (partial tiles go through a small stack buffer). Built only for
// AArch64, where NEON is baseline; checked against ref under qemu-user (scripts/test_arm.sh).
// Nobody has timed these on ARM hardware yet: the blocking follows the register count, not a
// measurement.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

// Comparisons do not trap here; saying so lets GCC vectorise the clamps of exp_approx in the
// plain-C++ attention head (the intrinsics code is unaffected).
#pragma GCC optimize("no-trapping-math")
#include "ops/attention_head.h"
#include "ops/isa_kernels.h"

namespace wl {
namespace kernels {
namespace neon {
namespace {

// Wide tile: all 8 rows of a packed block x 12 columns in one pass: 24 accumulators + 3 B
// vectors + 2 A vectors (the block's 8 weights, used by lane) = 29 of 32 registers; per k 5
// loads and 24 FMAs. Narrow tile (16-pixel planes): two passes of 4 rows x 16 columns (16
// accumulators + 4 B + 1 A).
constexpr int kWideRows = 8, kWideNV = 3;
constexpr int kNarrowRows = 4, kNarrowNV = 4;
static_assert(4 * kWideNV <= kConvMaxNR && 4 * kNarrowNV <= kConvMaxNR,
              "conv scratch is sized for kConvMaxNR");
static_assert(kWideNV <= kConvMaxNR / 8, "ConvTile::vec_off holds the wide tile's vectors");

// acc[v] += b[v] * a[lane]; the lane must be a compile-time constant for FMLA (by element).
template <int kLane, int kNV>
inline void fma_lane(float32x4_t* acc, const float32x4_t* b, float32x4_t a) {
#pragma GCC unroll 4
  for (int v = 0; v < kNV; ++v) acc[v] = vfmaq_laneq_f32(acc[v], b[v], a, kLane);
}

// Rows [row0, row0 + kRows) of the packed block against the whole B tile.
template <int kRows, int kNV, bool kIndirect>
inline void conv_pass(const ConvTile& t, int row0) {
  static_assert(kRows == 4 || kRows == 8, "rows come in whole A vectors");
  constexpr int kNR = 4 * kNV;
  float32x4_t acc[kRows][kNV];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[i][v] = vdupq_n_f32(0.0f);
  // Indirect tiles read their vectors at per-vector offsets (flat tiles wrap output rows).
  ptrdiff_t voff[kNV];
#pragma GCC unroll 4
  for (int v = 0; v < kNV; ++v) voff[v] = kIndirect ? t.vec_off[v] : 4 * v;
  const float* a = t.a + row0;
  const float* b = t.b;
#pragma GCC unroll 2
  for (int k = 0; k < t.k; ++k, a += kConvMR, b += t.ldb) {
    const float* row = kIndirect ? t.b + t.koff[k] : b;
    float32x4_t bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) bv[v] = vld1q_f32(row + voff[v]);
    const float32x4_t a0 = vld1q_f32(a);
    fma_lane<0, kNV>(acc[0], bv, a0);
    fma_lane<1, kNV>(acc[1], bv, a0);
    fma_lane<2, kNV>(acc[2], bv, a0);
    fma_lane<3, kNV>(acc[3], bv, a0);
    if constexpr (kRows == 8) {
      const float32x4_t a1 = vld1q_f32(a + 4);
      fma_lane<0, kNV>(acc[4], bv, a1);
      fma_lane<1, kNV>(acc[5], bv, a1);
      fma_lane<2, kNV>(acc[6], bv, a1);
      fma_lane<3, kNV>(acc[7], bv, a1);
    }
  }
  const bool full = t.cols >= kNR;
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    const int r = row0 + i;
    if (r >= t.rows) break;
    const float32x4_t bias = vdupq_n_f32(t.bias ? t.bias[r] : 0.0f);
    float* c = t.c + size_t(r) * t.ldc;
    const float* res = t.r ? t.r + size_t(r) * t.ldr : nullptr;
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) {
      float32x4_t o = vaddq_f32(acc[i][v], bias);
      const int lanes = full ? 4 : t.cols - 4 * v;
      if (lanes >= 4) {
        if (res) o = vaddq_f32(o, vld1q_f32(res + 4 * v));
        vst1q_f32(c + 4 * v, o);
      } else if (lanes > 0) {
        // Partial vector: only `lanes` columns of C (and R) exist.
        float tmp[4];
        vst1q_f32(tmp, o);
        for (int j = 0; j < lanes; ++j) c[4 * v + j] = tmp[j] + (res ? res[4 * v + j] : 0.0f);
      }
    }
  }
}

template <bool kIndirect>
void conv_tile_wide(const ConvTile& t) {
  conv_pass<kWideRows, kWideNV, kIndirect>(t, 0);
}

void conv_tile_narrow(const ConvTile& t) {
  conv_pass<kNarrowRows, kNarrowNV, false>(t, 0);
  if (t.rows > kNarrowRows) conv_pass<kNarrowRows, kNarrowNV, false>(t, kNarrowRows);
}

// e^x as in the portable exp_approx: clamp to [-87, 88] so 2^n is a normal float built in the
// exponent bits; FMAX/FMIN return NaN for a NaN input, so NaN poisons the result.
inline float32x4_t exp_ps(float32x4_t x) {
  x = vmaxq_f32(vdupq_n_f32(-87.0f), x);
  x = vminq_f32(vdupq_n_f32(88.0f), x);
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  const float32x4_t e = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(e, vreinterpretq_f32_s32(bits));
}

inline float32x4_t silu_ps(float32x4_t x) {
  return vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), exp_ps(vnegq_f32(x))));
}

// Loads the last n < 4 floats into a zero-padded vector (no masked loads on NEON).
inline float32x4_t load_tail(const float* x, size_t n) {
  float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t j = 0; j < n; ++j) tmp[j] = x[j];
  return vld1q_f32(tmp);
}

inline void store_tail(float* y, size_t n, float32x4_t v) {
  float tmp[4];
  vst1q_f32(tmp, v);
  for (size_t j = 0; j < n; ++j) y[j] = tmp[j];
}

void silu(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, silu_ps(vld1q_f32(x + i)));
  if (i < n) store_tail(y + i, n - i, silu_ps(load_tail(x + i, n - i)));
}

void scale_shift(size_t n, const float* x, float m, float a, float b, bool act, float* y) {
  const float32x4_t vm = vdupq_n_f32(m), va = vdupq_n_f32(a), vb = vdupq_n_f32(b);
  // The same vector code for the tail keeps its rounding identical to the body's.
  auto f = [&](float32x4_t v) {
    const float32x4_t o = vfmaq_f32(vb, vsubq_f32(v, vm), va);
    return act ? silu_ps(o) : o;
  };
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i)));
  if (i < n) store_tail(y + i, n - i, f(load_tail(x + i, n - i)));
}

// Adds the 4 floats of v to two double accumulators (group-norm statistics are combined in
// double so that 16k-element groups do not lose the mean to float rounding).
inline void acc_pd(float64x2_t& lo, float64x2_t& hi, float32x4_t v) {
  lo = vaddq_f64(lo, vcvt_f64_f32(vget_low_f32(v)));
  hi = vaddq_f64(hi, vcvt_high_f64_f32(v));
}

double sum(size_t n, const float* x) {
  float64x2_t lo = vdupq_n_f64(0.0), hi = vdupq_n_f64(0.0);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) acc_pd(lo, hi, vld1q_f32(x + i));
  if (i < n) acc_pd(lo, hi, load_tail(x + i, n - i));
  return vaddvq_f64(vaddq_f64(lo, hi));
}

double sum_sq_dev(size_t n, const float* x, float mean) {
  const float32x4_t m = vdupq_n_f32(mean);
  float64x2_t lo = vdupq_n_f64(0.0), hi = vdupq_n_f64(0.0);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t d = vsubq_f32(vld1q_f32(x + i), m);
    acc_pd(lo, hi, vmulq_f32(d, d));
  }
  // Scalar tail: a zero-padded vector would add (0 - mean)^2 for the missing lanes.
  double tail = 0.0;
  for (; i < n; ++i) {
    const float d = x[i] - mean;
    tail += double(d * d);
  }
  return vaddvq_f64(vaddq_f64(lo, hi)) + tail;
}

// R (1..4) x rows against up to 4 weight rows: per output the same FMA chain whatever R. The
// weights stream from memory in play, so each step prefetches the same bytes two blocks ahead
// (the x86 kernels' reason, kernels_avx512.cc).
template <int R>
void linear_rows(int outs, int in, const float* x, size_t ldx, const float* w, const float* b,
                 float* y, size_t ldy) {
  float32x4_t acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) acc[r][o] = vdupq_n_f32(0.0f);
  // Missing outputs read weight row 0 again (always present) and are never stored.
  const float* xr[R];
  const float* wr[4];
  for (int r = 0; r < R; ++r) xr[r] = x + size_t(r) * ldx;
  for (int o = 0; o < 4; ++o) wr[o] = w + size_t(o < outs ? o : 0) * in;
  const float* ahead = w + size_t(8) * in;
  int i = 0;
  for (; i + 4 <= in; i += 4) {
    float32x4_t xv[R], wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = vld1q_f32(xr[r] + i);
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) {
      if ((i & 15) == 0) __builtin_prefetch(ahead + size_t(o) * in + i);
      wv[o] = vld1q_f32(wr[o] + i);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int o = 0; o < 4; ++o) acc[r][o] = vfmaq_f32(acc[r][o], xv[r], wv[o]);
  }
  for (int r = 0; r < R; ++r) {
    for (int o = 0; o < outs; ++o) {
      float s = vaddvq_f32(acc[r][o]);
      for (int j = i; j < in; ++j) s += xr[r][j] * wr[o][j];
      y[size_t(r) * ldy + o] = s + (b ? b[o] : 0.0f);
    }
  }
}

void linear_block(int rows, int outs, int in, const float* x, size_t ldx, const float* w,
                  const float* b, float* y, size_t ldy) {
  switch (rows) {
    case 1: return linear_rows<1>(outs, in, x, ldx, w, b, y, ldy);
    case 2: return linear_rows<2>(outs, in, x, ldx, w, b, y, ldy);
    case 3: return linear_rows<3>(outs, in, x, ldx, w, b, y, ldy);
    default: return linear_rows<4>(outs, in, x, ldx, w, b, y, ldy);
  }
}

void add(size_t n, const float* a, const float* b, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
  for (; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace

const Table kTable = {4 * kWideNV,
                      4 * kNarrowNV,
                      conv_tile_wide<false>,
                      conv_tile_narrow,
                      conv_tile_wide<true>,
                      silu,
                      scale_shift,
                      sum,
                      sum_sq_dev,
                      linear_block,
                      add,
                      attention_head_impl,
                      0,
                      4,
                      1};

}  // namespace neon
}  // namespace kernels
}  // namespace wl
