// AVX2 + FMA inner kernels (16 ymm registers, no mask registers: tails use maskload/maskstore).
#include <immintrin.h>

#include <cstddef>

// Comparisons do not trap here; saying so lets GCC vectorise the clamps of exp_approx in the
// plain-C++ attention head (the intrinsics code is unaffected).
#pragma GCC optimize("no-trapping-math")
#include "ops/attention_head.h"
#include "ops/isa_kernels.h"

namespace wl {
namespace kernels {
namespace avx2 {
namespace {

// Passes of 4 rows x 8*NV columns: NV = 3 gives 12 accumulators + 3 B + 1 broadcast = all 16
// ymm registers; NV = 2 is the narrow tile for 16-pixel planes.
constexpr int kRows = 4;
static_assert(24 <= kConvMaxNR, "conv scratch is sized for kConvMaxNR");

// Lanes [0, n) set, for maskload/maskstore.
inline __m256i tail_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// e^x as in the portable exp_approx: clamp to [-87, 88] so 2^n is a normal float built in
// the exponent bits; NaN passes the clamps (operand order) and poisons r.
inline __m256 exp_ps(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
}

inline __m256 silu_ps(__m256 x) {
  const __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x)));
  return _mm256_div_ps(x, d);
}

// Rows [row0, row0 + kR) of the packed block against the whole B tile (kR = 4; 3 for the
// 3-channel RGB head, whose fourth row would be padding: 9 accumulators still cover the FMA
// latency, and no FMA is spent on it).
// How far ahead of the weights in use the conv tiles prefetch (the AVX-512 kernel's distance).
constexpr size_t kConvPrefetchFloats = 1024;

template <int kNV, bool kIndirect, int kR = kRows>
inline void conv_half(const ConvTile& t, int row0) {
  constexpr int kNR = 8 * kNV;
  __m256 acc[kR][kNV];
#pragma GCC unroll 4
  for (int i = 0; i < kR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[i][v] = _mm256_setzero_ps();
  const float* a = t.a + row0;
  const float* b = t.b;
  // Indirect tiles read their vectors at per-vector offsets (flat tiles wrap output rows);
  // held in locals so they stay in general registers through the k loop.
  ptrdiff_t voff[kNV];
#pragma GCC unroll 4
  for (int v = 0; v < kNV; ++v) voff[v] = kIndirect ? t.vec_off[v] : 8 * v;
#pragma GCC unroll 2
  for (int k = 0; k < t.k; ++k, a += kConvMR, b += t.ldb) {
    // The packed weights stream from memory at the 8x8 and 4x4 levels: the AVX-512 kernel's
    // prefetch (kernels_avx512.cc), a line per two k, 4 KiB ahead.
    if ((k & 1) == 0)
      _mm_prefetch(reinterpret_cast<const char*>(a + kConvPrefetchFloats), _MM_HINT_T0);
    const float* row = kIndirect ? t.b + t.koff[k] : b;
    __m256 bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) bv[v] = _mm256_loadu_ps(row + voff[v]);
#pragma GCC unroll 4
    for (int i = 0; i < kR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  const bool full = t.cols >= kNR;
  __m256i mask[kNV];
#pragma GCC unroll 4
  for (int v = 0; v < kNV; ++v) mask[v] = tail_mask(t.cols - 8 * v);
#pragma GCC unroll 4
  for (int i = 0; i < kR; ++i) {
    const int row = row0 + i;
    if (row >= t.rows) break;
    const __m256 bias = t.bias ? _mm256_set1_ps(t.bias[row]) : _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) {
      __m256 o = _mm256_add_ps(acc[i][v], bias);
      float* c = t.c + row * t.ldc + 8 * v;
      if (full) {
        if (t.r) o = _mm256_add_ps(o, _mm256_loadu_ps(t.r + row * t.ldr + 8 * v));
        _mm256_storeu_ps(c, o);
      } else {
        if (t.r) o = _mm256_add_ps(o, _mm256_maskload_ps(t.r + row * t.ldr + 8 * v, mask[v]));
        _mm256_maskstore_ps(c, mask[v], o);
      }
    }
  }
}

template <int kNV, bool kIndirect>
void conv_tile(const ConvTile& t) {
  if (t.rows == 3) {
    conv_half<kNV, kIndirect, 3>(t, 0);
    return;
  }
  conv_half<kNV, kIndirect>(t, 0);
  if (t.rows > kRows) conv_half<kNV, kIndirect>(t, kRows);
}

// Narrow tiles (16-pixel planes: the 4x4 level) take up to kNarrowBlocks packed blocks per call
// and run passes of kR rows x 16 columns whose rows may come from two blocks: 6 rows give 12
// accumulators + 2 B + 1 broadcast = 15 registers, the classic 6x16 shape, where one block's 8
// rows would allow only 4x16 (8 accumulators: just enough to cover the FMA latency, and B is
// reloaded for every 4 rows instead of every 6).
constexpr int kNarrowBlocks = 3;

template <int kR>
inline void narrow_pass(const ConvTile& t, int row0) {
  const size_t block = size_t(t.k) * kConvMR;
  const float* ap[kR];
#pragma GCC unroll 6
  for (int i = 0; i < kR; ++i) ap[i] = t.a + ((row0 + i) / kConvMR) * block + (row0 + i) % kConvMR;
  __m256 acc[kR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  const float* b = t.b;
#pragma GCC unroll 2
  for (size_t kk = 0; kk < size_t(t.k) * kConvMR; kk += kConvMR, b += t.ldb) {
    // A pass's rows span one or two packed blocks: prefetch both streams (see conv_half).
    if ((kk & kConvMR) == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(ap[0] + kk + kConvPrefetchFloats), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(ap[kR - 1] + kk + kConvPrefetchFloats),
                   _MM_HINT_T0);
    }
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ap[i] + kk);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const bool full = t.cols >= 16;
  const __m256i mask[2] = {tail_mask(t.cols), tail_mask(t.cols - 8)};
#pragma GCC unroll 6
  for (int i = 0; i < kR; ++i) {
    const int row = row0 + i;
    if (row >= t.rows) break;
    const __m256 bias = t.bias ? _mm256_set1_ps(t.bias[row]) : _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int v = 0; v < 2; ++v) {
      __m256 o = _mm256_add_ps(acc[i][v], bias);
      float* c = t.c + row * t.ldc + 8 * v;
      if (full) {
        if (t.r) o = _mm256_add_ps(o, _mm256_loadu_ps(t.r + row * t.ldr + 8 * v));
        _mm256_storeu_ps(c, o);
      } else {
        if (t.r) o = _mm256_add_ps(o, _mm256_maskload_ps(t.r + row * t.ldr + 8 * v, mask[v]));
        _mm256_maskstore_ps(c, mask[v], o);
      }
    }
  }
}

// Passes of 6 rows, then 4 or 2 for the rest. Rows a pass reads past t.rows stay inside the
// last block (rows are padded to whole blocks and a pass never crosses a multiple of 8 beyond
// t.rows rounded up to even), and are never stored.
void conv_tile_narrow(const ConvTile& t) {
  int row0 = 0;
  for (; row0 + 6 <= t.rows; row0 += 6) narrow_pass<6>(t, row0);
  const int rest = t.rows - row0;
  if (rest > 2) {
    narrow_pass<4>(t, row0);
    row0 += 4;
  }
  if (row0 < t.rows) narrow_pass<2>(t, row0);
}

void silu(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu_ps(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(int(n - i));
    _mm256_maskstore_ps(y + i, m, silu_ps(_mm256_maskload_ps(x + i, m)));
  }
}

void scale_shift(size_t n, const float* x, float m, float a, float b, bool act, float* y) {
  const __m256 vm = _mm256_set1_ps(m), va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  size_t i = 0;
  if (act) {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(y + i, silu_ps(_mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), va, vb)));
  } else {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), va, vb));
  }
  if (i < n) {
    const __m256i k = tail_mask(int(n - i));
    __m256 o = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), vm), va, vb);
    if (act) o = silu_ps(o);
    _mm256_maskstore_ps(y + i, k, o);
  }
}

inline void acc_pd(__m256d& lo, __m256d& hi, __m256 v) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

inline double hsum(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

double sum(size_t n, const float* x) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) acc_pd(lo, hi, _mm256_loadu_ps(x + i));
  if (i < n) acc_pd(lo, hi, _mm256_maskload_ps(x + i, tail_mask(int(n - i))));
  return hsum(_mm256_add_pd(lo, hi));
}

double sum_sq_dev(size_t n, const float* x, float mean) {
  const __m256 m = _mm256_set1_ps(mean);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
    acc_pd(lo, hi, _mm256_mul_ps(d, d));
  }
  if (i < n) {
    const __m256i k = tail_mask(int(n - i));
    // Masked-off lanes load 0 and must not contribute (0 - mean)^2: zero them after the subtract.
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), m), _mm256_castsi256_ps(k));
    acc_pd(lo, hi, _mm256_mul_ps(d, d));
  }
  return hsum(_mm256_add_pd(lo, hi));
}

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// Two x rows at a time against up to four weight rows: 8 accumulators + 6 loads fit in 16 ymm.
// R rows (1 or 2) x 4 outputs; per output the same FMA chain and reduction whatever R. The
// prefetch two blocks ahead is the AVX-512 kernel's (see there): the weights stream from memory.
template <int R>
void linear_rows(int outs, int in, const float* x, size_t ldx, const float* w, const float* b,
                 float* y, size_t ldy) {
  __m256 acc[R][4];
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) acc[r][o] = _mm256_setzero_ps();
  const float* ahead = w + size_t(8) * in;
  for (int i = 0; i < in; i += 8) {
    const __m256i m = tail_mask(in - i);
    __m256 wv[4], xv[R];
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o) {
      // One line of 16 floats per two iterations.
      if ((i & 15) == 0)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + size_t(o) * in + i), _MM_HINT_T0);
      wv[o] = o < outs ? _mm256_maskload_ps(w + size_t(o) * in + i, m) : _mm256_setzero_ps();
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) xv[r] = _mm256_maskload_ps(x + r * ldx + i, m);
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int o = 0; o < 4; ++o) acc[r][o] = _mm256_fmadd_ps(xv[r], wv[o], acc[r][o]);
  }
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int o = 0; o < 4; ++o)
      if (o < outs) y[r * ldy + o] = hsum_ps(acc[r][o]) + (b ? b[o] : 0.0f);
}

void linear_block(int rows, int outs, int in, const float* x, size_t ldx, const float* w,
                  const float* b, float* y, size_t ldy) {
  int r0 = 0;
  for (; r0 + 2 <= rows; r0 += 2)
    linear_rows<2>(outs, in, x + size_t(r0) * ldx, ldx, w, b, y + size_t(r0) * ldy, ldy);
  if (r0 < rows) linear_rows<1>(outs, in, x + size_t(r0) * ldx, ldx, w, b, y + size_t(r0) * ldy, ldy);
}

// acc[r][0..1] = sum over s < n of a[r * a_row + s * a_step] * b[s * b_step + (0..15)]: the
// 4 x 16 register block (8 accumulators) both of the head's products run in.
inline void block_4x16(const float* a, ptrdiff_t a_row, ptrdiff_t a_step, const float* b,
                       ptrdiff_t b_step, int n, __m256 acc[4][2]) {
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int s = 0; s < n; ++s, a += a_step, b += b_step) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * a_row);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
}

// The head of attention_head.h in registers, where t is a multiple of 16 and d of 4 (every
// head of the shipped model): scores in blocks of 4 query rows x 16 keys and the output in
// blocks of 4 channels x 16 tokens (where the plain head adds into rows in memory), and the
// softmax 8 lanes at a time. 0.17-0.25x the plain head's op time on a Zen 3
// (docs/notes/2026-12-07-zen3-avx2.md). Other shapes take the plain head.
void attention_head(const float* q, const float* k, const float* v, float* out, int d, int t,
                    float scale, float* sc) {
  if (t % 16 != 0 || d % 4 != 0) {
    attention_head_impl(q, k, v, out, d, t, scale, sc);
    return;
  }
  float* pt = sc + size_t(t) * t;  // probabilities, transposed: pt[j][i]
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 acc[4][2];
  // Scores: sc[i][j] = scale * sum_c q[c][i] k[c][j].
  for (int i0 = 0; i0 < t; i0 += 4) {
    for (int j0 = 0; j0 < t; j0 += 16) {
      block_4x16(q + i0, 1, t, k + j0, t, d, acc);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        float* row = sc + size_t(i0 + r) * t + j0;
        _mm256_storeu_ps(row, _mm256_mul_ps(acc[r][0], vscale));
        _mm256_storeu_ps(row + 8, _mm256_mul_ps(acc[r][1], vscale));
      }
    }
  }
  for (int i = 0; i < t; ++i) {
    float* row = sc + size_t(i) * t;
    __m256 m = _mm256_loadu_ps(row);
    for (int j = 8; j < t; j += 8) m = _mm256_max_ps(_mm256_loadu_ps(row + j), m);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    const __m256 mx = _mm256_broadcastss_ps(m4);
    __m256 sum = _mm256_setzero_ps();
    for (int j = 0; j < t; j += 8) {
      const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mx));
      _mm256_storeu_ps(row + j, e);
      sum = _mm256_add_ps(sum, e);
    }
    const float inv = 1.0f / hsum_ps(sum);
    for (int j = 0; j < t; ++j) pt[size_t(j) * t + i] = row[j] * inv;
  }
  // Output: out[c][i] = sum_j v[c][j] pt[j][i].
  for (int c0 = 0; c0 < d; c0 += 4) {
    for (int i0 = 0; i0 < t; i0 += 16) {
      block_4x16(v + size_t(c0) * t, t, 1, pt + i0, t, t, acc);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        float* o = out + size_t(c0 + r) * t + i0;
        _mm256_storeu_ps(o, acc[r][0]);
        _mm256_storeu_ps(o + 8, acc[r][1]);
      }
    }
  }
}

void add(size_t n, const float* a, const float* b, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  for (; i < n; ++i) y[i] = a[i] + b[i];
}

}  // namespace

const Table kTable = {24,  16,         conv_tile<3, false>, conv_tile_narrow, conv_tile<3, true>, silu,
                      scale_shift, sum, sum_sq_dev, linear_block, add,
                      attention_head, 0, 8, kNarrowBlocks};

}  // namespace avx2
}  // namespace kernels
}  // namespace wl
