// AVX-512 (F/BW/VL/DQ) inner kernels. Built with -mavx512* by CMake; only ever called after
// detect_isa() said the CPU and OS support them.
// GCC 12's AVX-512 headers build some intrinsics on _mm512_undefined_*(), which its
// (un)initialised-use analysis then reports at every inlined call site: a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

// Comparisons do not trap here; saying so lets GCC vectorise the clamps of exp_approx in the
// plain-C++ attention head (the intrinsics code is unaffected).
#pragma GCC optimize("no-trapping-math")
#include "ops/attention_head.h"
#include "ops/isa_kernels.h"

namespace wl {
namespace kernels {
namespace avx512 {
namespace {

// Tiles of 8 rows x 16*NV columns: NV = 2 (16 accumulators, 2 loads + 8 broadcasts per 16
// FMAs) for most convs, NV = 1 for 16-pixel planes.
static_assert(32 <= kConvMaxNR, "conv scratch is sized for kConvMaxNR");

// How far ahead of the weight row in use conv_tile prefetches: 4 KiB (128 k of 8 rows). 1 KiB
// measured less at the 4x4 level and nothing at 8x8 (kernels.md, "Where a frame's time goes").
constexpr size_t kConvPrefetchFloats = 1024;

inline __mmask16 tail_mask(int n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// e^x: n = round(x log2 e), r = x - n ln2 (two-part ln2), degree-7 polynomial, then
// scalef multiplies by 2^n with correct overflow / underflow. The clamp keeps r accurate for
// huge |x| (the results there are inf / 0 anyway); max/min are ordered so NaN passes through.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 e = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(e, n);
}

inline __m512 silu_ps(__m512 x) {
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x)));
  return _mm512_div_ps(x, d);
}

template <int kNV, bool kIndirect>
void conv_tile(const ConvTile& t) {
  __m512 acc[kConvMR][kNV];
#pragma GCC unroll 8
  for (int i = 0; i < kConvMR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_setzero_ps();
  const float* a = t.a;
  const float* b = t.b;
  const size_t vstep = kIndirect && t.vec_pitch ? t.vec_pitch : 16;
#pragma GCC unroll 2
  for (int k = 0; k < t.k; ++k, a += kConvMR, b += t.ldb) {
    // At the 8x8 and 4x4 levels the packed weights (megabytes per conv, 16-64 pixels to reuse
    // them on) stream from memory: fetch a line well ahead, one per two k (8 floats each).
    // Where the weights stay in cache (the decoder's full-resolution layers) it costs one
    // instruction per 16-32 FMAs.
    if ((k & 1) == 0)
      _mm_prefetch(reinterpret_cast<const char*>(a + kConvPrefetchFloats), _MM_HINT_T0);
    const float* row = kIndirect ? t.b + t.koff[k] : b;
    __m512 bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) bv[v] = _mm512_loadu_ps(row + vstep * v);
#pragma GCC unroll 8
    for (int i = 0; i < kConvMR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  __mmask16 mask[kNV];
#pragma GCC unroll 4
  for (int v = 0; v < kNV; ++v) mask[v] = t.cols > 16 * v ? tail_mask(t.cols - 16 * v) : 0;
#pragma GCC unroll 8
  for (int i = 0; i < kConvMR; ++i) {
    if (i >= t.rows) break;
    const __m512 bias = t.bias ? _mm512_set1_ps(t.bias[i]) : _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) {
      __m512 o = _mm512_add_ps(acc[i][v], bias);
      if (t.r) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(mask[v], t.r + i * t.ldr + 16 * v));
      _mm512_mask_storeu_ps(t.c + i * t.ldc + 16 * v, mask[v], o);
    }
  }
}

void silu(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu_ps(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(int(n - i));
    _mm512_mask_storeu_ps(y + i, m, silu_ps(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void scale_shift(size_t n, const float* x, float m, float a, float b, bool act, float* y) {
  const __m512 vm = _mm512_set1_ps(m), va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  size_t i = 0;
  if (act) {
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(y + i, silu_ps(_mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), va, vb)));
  } else {
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), va, vb));
  }
  if (i < n) {
    const __mmask16 k = tail_mask(int(n - i));
    __m512 o = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm), va, vb);
    if (act) o = silu_ps(o);
    _mm512_mask_storeu_ps(y + i, k, o);
  }
}

// Statistics accumulate in double lanes: a group holds up to ~10^5 values and its mean may be
// large next to its spread, where float sums would cost normalisation accuracy.
inline void acc_pd(__m512d& lo, __m512d& hi, __m512 v) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

double sum(size_t n, const float* x) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) acc_pd(lo, hi, _mm512_loadu_ps(x + i));
  if (i < n) acc_pd(lo, hi, _mm512_maskz_loadu_ps(tail_mask(int(n - i)), x + i));
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

double sum_sq_dev(size_t n, const float* x, float mean) {
  const __m512 m = _mm512_set1_ps(mean);
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), m);
    acc_pd(lo, hi, _mm512_mul_ps(d, d));
  }
  if (i < n) {
    const __mmask16 k = tail_mask(int(n - i));
    const __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + i), m);
    acc_pd(lo, hi, _mm512_mul_ps(d, d));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

// R rows (1..4) x 4 outputs. Per output the same chain of FMAs and one reduction, whatever R,
// so results do not depend on how many rows a call has. The weights stream from memory in
// play (the denoiser's projections are megabytes, read once per evaluation): each iteration
// prefetches the same lines two blocks ahead, which the short blocks and their reductions
// would otherwise leave the hardware prefetcher too little time to fetch.
template <int R>
void linear_rows(int outs, int in, const float* x, size_t ldx, const float* w, const float* b,
                 float* y, size_t ldy) {
  __m512 acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) acc[r][o] = _mm512_setzero_ps();
  const float* ahead = w + size_t(8) * in;
  for (int i = 0; i < in; i += 16) {
    const __mmask16 m = tail_mask(in - i);
    __m512 wv[4], xv[R];
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) {
      _mm_prefetch(reinterpret_cast<const char*>(ahead + size_t(o) * in + i), _MM_HINT_T0);
      wv[o] = o < outs ? _mm512_maskz_loadu_ps(m, w + size_t(o) * in + i) : _mm512_setzero_ps();
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) xv[r] = _mm512_maskz_loadu_ps(m, x + r * ldx + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int o = 0; o < 4; ++o) acc[r][o] = _mm512_fmadd_ps(xv[r], wv[o], acc[r][o]);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o)
      if (o < outs) y[r * ldy + o] = _mm512_reduce_add_ps(acc[r][o]) + (b ? b[o] : 0.0f);
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
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(int(n - i));
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

}  // namespace

const Table kTable = {32,  16,         conv_tile<2, false>, conv_tile<1, false>, conv_tile<2, true>, silu,
                      scale_shift, sum, sum_sq_dev, linear_block, add,
                      attention_head_impl, kConvPairRowsWidth, 0, 0};

}  // namespace avx512
}  // namespace kernels
}  // namespace wl
