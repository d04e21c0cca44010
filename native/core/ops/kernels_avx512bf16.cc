// AVX-512 BF16 inner kernels: the bf16 variant of the AVX-512 indirect conv tile, and the f32 ->
// bf16-pair conversion of its input. Built with -mavx512bf16 (plus the AVX-512 flags) by CMake;
// only ever called where has_avx512_bf16() said the CPU and OS run it. As in every ISA file,
// helpers have internal linkage (docs/kernels.md, "ISA files").
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "ops/isa_kernels.h"

namespace wl {
namespace kernels {
namespace avx512_bf16 {
namespace {

__mmask16 tail_mask(int n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// 16 pairs from 16 floats of each channel: round each to bf16, low half from lo.
__m512i pairs(__m512 lo, __m512 hi) {
  const __m512i l = _mm512_cvtepu16_epi32(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(lo)));
  const __m512i h = _mm512_cvtepu16_epi32(reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(hi)));
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

// The f32 tiles of kernels_avx512.cc (indirect: B rows at b + koff[k]; panel: at b + k * ldb)
// with their K loop on pairs: per pair step, two 16-pixel loads
// of B and 8 broadcast weight pairs feed 16 vdpbf16ps, each adding 2 products per lane: twice
// the multiply-adds of an FMA step for the same loads and broadcasts.
template <int kNV, bool kIndirect>
void conv_tile(const ConvTile& t) {
  __m512 acc[kConvMR][kNV];
#pragma GCC unroll 8
  for (int i = 0; i < kConvMR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_setzero_ps();
  const uint32_t* a = reinterpret_cast<const uint32_t*>(t.a);
  const uint32_t* b = reinterpret_cast<const uint32_t*>(t.b);
  const size_t vstep = t.vec_pitch ? t.vec_pitch : 16;
#pragma GCC unroll 2
  for (int k = 0; k < t.k; ++k, a += kConvMR) {
    const uint32_t* row = kIndirect ? b + t.koff[k] : b + size_t(k) * t.ldb;
    __m512bh bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v)
      bv[v] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(row + vstep * v));
#pragma GCC unroll 8
    for (int i = 0; i < kConvMR; ++i) {
      const __m512bh ai = reinterpret_cast<__m512bh>(_mm512_set1_epi32(int(a[i])));
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
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

}  // namespace

void conv_tile_indirect(const ConvTile& t) { conv_tile<2, true>(t); }
void conv_tile_panel(const ConvTile& t) { conv_tile<2, false>(t); }
void conv_tile_panel_narrow(const ConvTile& t) { conv_tile<1, false>(t); }

void pair_panel(int cin, int taps, int width, float* panel) {
  uint32_t* out = reinterpret_cast<uint32_t*>(panel);
  const int n_pairs = (cin + 1) / 2;
  // Row p * taps + t <- rows (2p) * taps + t and (2p + 1) * taps + t: every row written lies at
  // or before the rows it is made from and after every row read so far, and each vector is read
  // before it is overwritten, so the pairs can replace the f32 rows in place.
  for (int p = 0; p < n_pairs; ++p) {
    for (int tap = 0; tap < taps; ++tap) {
      const float* lo = panel + (size_t(2 * p) * taps + tap) * width;
      const float* hi = 2 * p + 1 < cin ? lo + size_t(taps) * width : nullptr;
      uint32_t* dst = out + (size_t(p) * taps + tap) * width;
      for (int x = 0; x < width; x += 16) {
        const __m512 l = _mm512_loadu_ps(lo + x);
        const __m512 h = hi ? _mm512_loadu_ps(hi + x) : _mm512_setzero_ps();
        _mm512_storeu_si512(dst + x, pairs(l, h));
      }
    }
  }
}

void pair_row(int w, const float* lo, const float* hi, uint32_t* dst) {
  int x = 0;
  for (; x + 16 <= w; x += 16) {
    const __m512 h = hi ? _mm512_loadu_ps(hi + x) : _mm512_setzero_ps();
    _mm512_storeu_si512(dst + x, pairs(_mm512_loadu_ps(lo + x), h));
  }
  if (x < w) {
    const __mmask16 m = tail_mask(w - x);
    const __m512 h = hi ? _mm512_maskz_loadu_ps(m, hi + x) : _mm512_setzero_ps();
    _mm512_mask_storeu_epi32(dst + x, m, pairs(_mm512_maskz_loadu_ps(m, lo + x), h));
  }
}

}  // namespace avx512_bf16
}  // namespace kernels
}  // namespace wl
