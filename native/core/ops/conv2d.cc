// Fast conv2d as a GEMM over output tiles: rows are output channels (weights pre-packed in
// blocks of kConvMR, see isa_kernels.h), columns are output pixels flattened over (n, oy, ox),
// so stores are contiguous NCHW rows. For each column tile the driver gathers the receptive
// fields into a [K][NR] panel (im2col for one tile only; it stays in L1/L2), then runs the
// ISA's register-blocked micro-kernel over every output-channel block.
// Two cases skip the panel: 1x1 stride-1 convs read the input rows directly, and stride-1
// convs whose output rows are at least a tile wide (the decoder's 32..128-pixel levels) read
// the receptive field from a zero-padded copy of the input through a table of K row offsets
// ("indirect" tiles), since there the gather would cost as much as the GEMM; on AVX-512 an
// indirect tile can also span two 16-pixel rows, which covers the 16x16 level.
// With OpCtx::conv = Bf16 on a CPU with AVX-512 BF16, both paths run on bf16 pairs of input
// channels instead (the padded copy, or the panel, holds one 32-bit pair per pixel, so the same
// offsets and tiles apply with K halved): see conv2d_runs_bf16.
#include <algorithm>
#include <cstring>

#include "ops/isa_kernels.h"
#include "ops/conv2d_internal.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

using kernels::kConvMaxNR;
using kernels::kConvMR;
using ops_detail::ceil_div;

namespace {

// A worker's slot: the [K][NR] panel, then the tile's gather table (k*k*NR int64 offsets).
size_t panel_floats(const ConvShape& s) {
  return size_t(s.cin) * s.k * s.k * kConvMaxNR + 2 * size_t(s.k) * s.k * kConvMaxNR;
}

// Narrowest wide tile of the ISAs that have indirect kernels (AVX2: 24): convs with output
// rows this wide may take the indirect path, so their scratch includes the padded input.
constexpr int kMinWideNR = 24;

// Output widths that are a multiple of this may run as flat tiles (AVX2: vectors of 8).
constexpr int kFlatVec = 8;

bool may_use_rows(const ConvShape& s) {
  return s.stride == 1 && !(s.k == 1 && s.pad == 0) &&
         (s.out_w() >= kMinWideNR || s.out_w() == kernels::kConvPairRowsWidth ||
          s.out_w() % kFlatVec == 0);
}

// Floats past the padded input that the last tile may read (never stored, must be finite):
// a wide tile reads up to kConvMaxNR - 1 past its row; a two-row tile on an odd last row
// reads one padded row further, i.e. up to k - 1 + 16 past the plane.
size_t rows_slack(const ConvShape& s) { return kConvMaxNR + size_t(s.k) + 16; }

size_t padded_floats(const ConvShape& s) {
  return size_t(s.n) * s.cin * (s.h + 2 * s.pad) * (s.w + 2 * s.pad);
}

// Scratch layout: [padded input + rows_slack][K row offsets][panel + gather table per worker]
size_t rows_floats(const ConvShape& s) {
  if (!may_use_rows(s)) return 0;
  return padded_floats(s) + rows_slack(s) + size_t(s.cin) * s.k * s.k + 2 * ops_detail::kSlotSlack;
}

// Two-row indirect tiles: output rows exactly kConvPairRowsWidth wide, narrower than a tile.
bool pairs_rows(const kernels::Table& kt, const ConvShape& s) {
  return kt.conv_pair_rows_width > 0 && s.out_w() == kt.conv_pair_rows_width &&
         s.out_w() < kt.conv_nr;
}

// Flat indirect tiles: nr consecutive output pixels of one image, in vectors that each lie
// within one output row (the width is a multiple of the vector), so a tile may wrap rows and
// no tile column is wasted on rows narrower than, or not a multiple of, the tile.
bool flat_rows(const kernels::Table& kt, const ConvShape& s) {
  return kt.conv_flat_vec > 0 && s.out_w() % kt.conv_flat_vec == 0 && s.out_w() % kFlatVec == 0;
}

bool uses_rows(const kernels::Table& kt, const ConvShape& s) {
  return kt.conv_tile_indirect && may_use_rows(s) &&
         (s.out_w() >= kt.conv_nr || pairs_rows(kt, s) || flat_rows(kt, s));
}

// Banded rows: a large stride-1 conv at full resolution (the decoder's 64x64 and 128x128
// levels, megabytes of padded input) runs as bands of output rows, each worker padding the
// input rows its band reads into its own buffer and convolving them there. Padding the whole
// input first splits it by channel across the workers and convolves it by rows, so each
// worker read half its input from the other core, through L3, and two threads were no faster
// than one. A band's buffer (kBandFloats) stays in the worker's L2. Same tiles, same sums.
constexpr size_t kBandMinFloats = size_t(1) << 16;  // padded input above this (256 KB): bands
constexpr size_t kBandFloats = size_t(1) << 16;     // aim for 256 KB of padded rows per band

bool banded_rows(const kernels::Table& kt, const ConvShape& s, int threads) {
  const size_t padded = size_t(s.cin) * (s.h + 2 * s.pad) * (s.w + 2 * s.pad);
  if (threads <= 1 || !uses_rows(kt, s)) return false;
  // Two-row tiles (the 16x16 level on AVX-512): small inputs, but the same cross-core reads.
  if (pairs_rows(kt, s)) return s.out_h() >= 8;
  return s.out_w() >= kt.conv_nr && padded > kBandMinFloats;
}

// Output rows per band: within kBandFloats of padded rows where possible, and a multiple of 4
// bands per image so that 2 or 4 workers share them evenly.
int band_rows(const ConvShape& s) {
  const size_t row = size_t(s.cin) * (s.w + 2 * s.pad);
  const int fit = std::max(1, int(kBandFloats / row) - (s.k - 1));
  const int oh = s.out_h();
  int bands = int(ceil_div(size_t(oh), size_t(fit)));
  bands = int(ceil_div(size_t(bands), 4)) * 4;
  const int rows = int(ceil_div(size_t(oh), size_t(bands)));
  return rows + (rows & 1);  // even, for two-row tiles
}

// A worker's band buffer: [Cin][band + k - 1][W + 2p], the tiles' over-read, then the K row
// offsets (int32).
size_t band_floats(const ConvShape& s) {
  const size_t bh = size_t(band_rows(s)) + s.k - 1;
  return size_t(s.cin) * bh * (s.w + 2 * s.pad) + kConvMaxNR + size_t(s.k) + 16 +
         size_t(s.cin) * s.k * s.k;
}

// Channel pairs of the bf16 path: each padded "plane" of it holds two input channels.
int pair_planes(int cin) { return (cin + 1) / 2; }

// Every conv of a bf16 context runs in bf16 where the AVX-512 kernels and the BF16 extension
// do (both the indirect path and the panel path have bf16 tiles).
bool runs_bf16(const OpCtx& ctx) {
#if WL_HAVE_X86
  return ctx.conv == ConvPrecision::Bf16 && cap_isa(ctx.isa) == Isa::Avx512 && has_avx512_bf16();
#else
  (void)ctx;
  return false;
#endif
}

#if WL_HAVE_X86
// The bf16 path's padded input: xp[n][p][hp][wp] of 32-bit pairs (channels 2p, 2p + 1 rounded to
// bf16), zero borders. It is no larger than the f32 copy, so it lives in the same scratch.
void pad_input_pairs(const OpCtx& ctx, const ConvShape& s, const float* x, float* xp) {
  const int hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  const int planes = pair_planes(s.cin);
  const size_t hw = size_t(s.h) * s.w;
  ops_detail::parallel(ctx, int64_t(s.n) * planes, std::max(1, 4096 / (hp * wp)),
                       [&](int64_t b, int64_t e, int) {
                         for (int64_t plane = b; plane < e; ++plane) {
                           const int n = int(plane / planes), p = int(plane % planes);
                           const float* lo = x + (size_t(n) * s.cin + 2 * p) * hw;
                           const float* hi = 2 * p + 1 < s.cin ? lo + hw : nullptr;
                           float* dst = xp + size_t(plane) * hp * wp;
                           std::memset(dst, 0, sizeof(float) * size_t(s.pad) * wp);
                           for (int iy = 0; iy < s.h; ++iy) {
                             float* row = dst + size_t(iy + s.pad) * wp;
                             for (int q = 0; q < s.pad; ++q) row[q] = row[s.pad + s.w + q] = 0.0f;
                             kernels::avx512_bf16::pair_row(
                                 s.w, lo + size_t(iy) * s.w, hi ? hi + size_t(iy) * s.w : nullptr,
                                 reinterpret_cast<uint32_t*>(row + s.pad));
                           }
                           std::memset(dst + size_t(s.h + s.pad) * wp, 0, sizeof(float) * size_t(s.pad) * wp);
                         }
                       });
}
#endif

// bf16 to nearest even (the rounding vcvtneps2bf16 does); NaN stays NaN.
uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

void pad_input(const OpCtx& ctx, const ConvShape& s, const float* x, float* xp) {
  const int hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  ops_detail::parallel(ctx, int64_t(s.n) * s.cin, std::max(1, 4096 / (hp * wp)),
                       [&](int64_t b, int64_t e, int) {
                         for (int64_t plane = b; plane < e; ++plane) {
                           const float* src = x + size_t(plane) * s.h * s.w;
                           float* dst = xp + size_t(plane) * hp * wp;
                           std::memset(dst, 0, sizeof(float) * size_t(s.pad) * wp);
                           for (int iy = 0; iy < s.h; ++iy) {
                             float* row = dst + size_t(iy + s.pad) * wp;
                             // The side pads are a float or two: loops, not library calls.
                             for (int p = 0; p < s.pad; ++p) row[p] = row[s.pad + s.w + p] = 0.0f;
                             std::memcpy(row + s.pad, src + size_t(iy) * s.w, sizeof(float) * s.w);
                           }
                           std::memset(dst + size_t(s.h + s.pad) * wp, 0, sizeof(float) * size_t(s.pad) * wp);
                         }
                       });
}

void check_shape(const ConvShape& s) {
  ops_detail::require(s.n > 0 && s.cin > 0 && s.h > 0 && s.w > 0 && s.cout > 0 && s.k > 0 &&
                          s.stride > 0 && s.pad >= 0,
                      "conv2d", "bad shape");
  ops_detail::require(s.h + 2 * s.pad >= s.k && s.w + 2 * s.pad >= s.k, "conv2d",
                      "kernel larger than the padded input");
}

// Gathers columns [j0, j0 + nr) of the im2col matrix into panel[K][nr_stride], zero-filling
// padding and the columns past nr. `table` is room for k*k*nr_stride offsets.
void build_panel(const ConvShape& s, const float* x, int64_t j0, int nr, int nr_stride,
                 float* panel, int64_t* table) {
  const int oh = s.out_h(), ow = s.out_w();
  const int64_t plane = int64_t(oh) * ow;
  // A tile is a few runs of consecutive pixels within one output row.
  struct Run {
    int n, oy, ox0, len, col0;
  } runs[kConvMaxNR];
  int nruns = 0;
  for (int col = 0; col < nr;) {
    const int64_t j = j0 + col;
    const int n = int(j / plane);
    const int p = int(j % plane);
    const int oy = p / ow, ox = p % ow;
    const int len = std::min(ow - ox, nr - col);
    runs[nruns++] = {n, oy, ox, len, col};
    col += len;
  }
  const size_t hw = size_t(s.h) * s.w;
  if (nruns * 8 > nr) {
    // Short runs (4x4 and 8x8 planes, stride 2 on small inputs): the per-run bookkeeping
    // would cost more than the copy, so tabulate each (ky, kx, column)'s offset in the input
    // (-1 = padding) once per tile and gather every channel through the table.
    int64_t* tab = table;
    for (int ky = 0; ky < s.k; ++ky) {
      for (int kx = 0; kx < s.k; ++kx, tab += nr_stride) {
        for (int r = 0; r < nruns; ++r) {
          const Run& run = runs[r];
          const int iy = run.oy * s.stride - s.pad + ky;
          for (int t = 0; t < run.len; ++t) {
            const int ix = (run.ox0 + t) * s.stride - s.pad + kx;
            tab[run.col0 + t] = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                                    ? int64_t(run.n) * s.cin * hw + int64_t(iy) * s.w + ix
                                    : -1;
          }
        }
        for (int t = nr; t < nr_stride; ++t) tab[t] = -1;
      }
    }
    const int kk = s.k * s.k;
    float* dst = panel;
    for (int ci = 0; ci < s.cin; ++ci) {
      const float* xc = x + size_t(ci) * hw;
      tab = table;
      for (int e = 0; e < kk; ++e, dst += nr_stride, tab += nr_stride) {
        for (int t = 0; t < nr_stride; ++t) dst[t] = tab[t] >= 0 ? xc[tab[t]] : 0.0f;
      }
    }
    return;
  }
  float* dst = panel;
  for (int ci = 0; ci < s.cin; ++ci) {
    for (int ky = 0; ky < s.k; ++ky) {
      for (int kx = 0; kx < s.k; ++kx, dst += nr_stride) {
        for (int r = 0; r < nruns; ++r) {
          const Run& run = runs[r];
          float* d = dst + run.col0;
          const int iy = run.oy * s.stride - s.pad + ky;
          // Runs are at most kConvMaxNR floats: plain loops beat memcpy/memset calls here.
          if (iy < 0 || iy >= s.h) {
            for (int t = 0; t < run.len; ++t) d[t] = 0.0f;
            continue;
          }
          const float* src = x + (size_t(run.n) * s.cin + ci) * hw + size_t(iy) * s.w;
          const int ix0 = run.ox0 * s.stride - s.pad + kx;
          if (s.stride == 1) {
            const int lo = std::min(run.len, std::max(0, -ix0));
            const int hi = std::max(lo, std::min(run.len, s.w - ix0));
            for (int t = 0; t < lo; ++t) d[t] = 0.0f;
            const float* from = src + ix0;
            for (int t = lo; t < hi; ++t) d[t] = from[t];
            for (int t = hi; t < run.len; ++t) d[t] = 0.0f;
          } else {
            for (int t = 0; t < run.len; ++t) {
              const int ix = ix0 + t * s.stride;
              d[t] = (ix >= 0 && ix < s.w) ? src[ix] : 0.0f;
            }
          }
        }
        for (int t = nr; t < nr_stride; ++t) dst[t] = 0.0f;
      }
    }
  }
}

float* padded_input_of(const OpCtx& ctx) { return ops_detail::slot(ctx, 0, 0); }

// Runs output-channel blocks [cb0, cb1) of tile t (its B side set) whose first output pixel is
// p0 of image n's plane: weights, bias, output and residual per block.
void run_blocks(kernels::ConvTile& t, void (*tile_fn)(const kernels::ConvTile&),
                const ConvShape& s, const float* packed_w, int k_len, const ConvEpilogue& ep,
                float* y, int n, size_t p0, int cb0, int cb1) {
  const size_t plane = size_t(s.out_h()) * s.out_w();
  for (int cb = cb0; cb < cb1; ++cb) {
    const int co0 = cb * kConvMR;
    const size_t off = (size_t(n) * s.cout + co0) * plane + p0;
    t.a = packed_w + size_t(cb) * k_len * kConvMR;
    t.rows = std::min(kConvMR, s.cout - co0);
    t.bias = ep.bias ? ep.bias + co0 : nullptr;
    t.c = y + off;
    t.ldc = plane;
    t.r = ep.residual ? ep.residual + off : nullptr;
    t.ldr = plane;
    tile_fn(t);
  }
}

// The indirect path: tiles run along output rows; B row k of the tile at (n, oy, ox0) is
// xp[n][ci][oy + ky][ox0 + kx ...], i.e. base + koff[k]. xp (borders included) is filled.
// bf16: xp holds channel pairs (pad_input_pairs), so ci runs over pairs, and the weights are
// the bf16 pack that follows the f32 one.
void conv2d_rows(const OpCtx& ctx, const ConvShape& s, const float* packed_w,
                 const ConvEpilogue& ep, float* y, const kernels::Table& kt, int threads,
                 bool bf16) {
  const int hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  const int oh = s.out_h(), ow = s.out_w();
  const int64_t plane = int64_t(oh) * ow;
  const int nr = kt.conv_nr;
  const int planes = bf16 ? pair_planes(s.cin) : s.cin;
  const int k_len = planes * s.k * s.k;
  void (*tile_fn)(const kernels::ConvTile&) = kt.conv_tile_indirect;
  if (bf16) {
#if WL_HAVE_X86
    packed_w += conv2d_packed_floats(s.cout, s.cin, s.k);
    tile_fn = kernels::avx512_bf16::conv_tile_indirect;
#endif
  }
  float* xp = padded_input_of(ctx);
  int32_t* koff =
      reinterpret_cast<int32_t*>(xp + padded_floats(s) + rows_slack(s) + ops_detail::kSlotSlack);
  // (The pair copy is the f32 one's size or less: its slack starts where its planes end.)
  std::memset(xp + size_t(s.n) * planes * hp * wp, 0, sizeof(float) * rows_slack(s));
  for (int ci = 0, e = 0; ci < planes; ++ci)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) koff[e++] = int32_t((ci * hp + ky) * wp + kx);
  // A tile is `tile_rows` output rows of up to nr pixels: one row segment, or (pairs) two
  // whole rows of 16 whose B vectors sit one padded row apart.
  const bool pairs = pairs_rows(kt, s);
  const bool flat = flat_rows(kt, s);
  const int tile_rows = pairs ? 2 : 1;
  const int tiles_per_row = pairs ? 1 : int(ceil_div(size_t(ow), size_t(nr)));
  const int row_groups = int(ceil_div(size_t(oh), size_t(tile_rows)));
  // Flat: tiles of nr consecutive pixels per image (the last one of an image may be partial).
  const int64_t flat_tiles = int64_t(ceil_div(size_t(plane), size_t(nr)));
  const int64_t tiles =
      flat ? int64_t(s.n) * flat_tiles : int64_t(s.n) * row_groups * tiles_per_row;
  const int vec = kt.conv_flat_vec;
  const int blocks = int(ceil_div(size_t(s.cout), kConvMR));
  // With threads, every (tile, output-channel block) pair is an item: here B is read in place,
  // so splitting a tile's blocks costs nothing, and the fine items let the pool's chunks divide
  // evenly (a 16x16 plane is 11 AVX2 tiles, which two threads would share 6:5). Consecutive
  // items are the blocks of one tile, so a chunk still reuses its B rows from cache.
  const int splits = threads > 1 ? blocks : 1;
  const int blocks_per_split = threads > 1 ? 1 : blocks;
  ops_detail::parallel(ctx, tiles * splits, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t tile = item / splits;
      const int split = int(item % splits);
      kernels::ConvTile t{};
      int n;
      size_t p0;  // first output pixel of the tile within its image's plane
      if (flat) {
        n = int(tile / flat_tiles);
        p0 = size_t(tile % flat_tiles) * nr;
        t.b = xp + size_t(n) * planes * hp * wp;
        t.cols = int(std::min<int64_t>(nr, plane - int64_t(p0)));
        // Vectors past the tile's end repeat its last one: readable, and never stored.
        const int valid = int(ceil_div(size_t(t.cols), size_t(vec)));
        for (int v = 0; v < nr / vec; ++v) {
          const size_t p = p0 + size_t(std::min(v, valid - 1)) * vec;
          t.vec_off[v] = int32_t((p / ow) * wp + p % ow);
        }
      } else {
        const int tx = int(tile % tiles_per_row);
        const int64_t group = tile / tiles_per_row;  // n * row_groups + row group
        n = int(group / row_groups);
        const int oy = int(group % row_groups) * tile_rows;
        const int ox0 = tx * nr;
        p0 = size_t(oy) * ow + ox0;
        t.b = xp + (size_t(n) * planes * hp + oy) * wp + ox0;
        t.vec_pitch = pairs ? size_t(wp) : 0;
        t.cols = pairs ? std::min(tile_rows, oh - oy) * ow : std::min(nr, ow - ox0);
        for (int v = 0; vec > 0 && v < nr / vec; ++v) t.vec_off[v] = v * vec;
      }
      t.koff = koff;
      t.k = k_len;
      const int cb_end = std::min(blocks, (split + 1) * blocks_per_split);
      run_blocks(t, tile_fn, s, packed_w, k_len, ep, y, n, p0, split * blocks_per_split, cb_end);
    }
  });
}

// The banded rows path (banded_rows): items are (image, band); a worker pads the input rows of
// its band into its slot and runs the indirect tiles of the band's output rows on them.
// coeffs (optional): normalise each row on the way in (conv2d_banded_normed).
void conv2d_bands(const OpCtx& ctx, const ConvShape& s, const float* x, const float* packed_w,
                  const ConvEpilogue& ep, float* y, const kernels::Table& kt,
                  const float* coeffs = nullptr, bool silu = false) {
  const int wp = s.w + 2 * s.pad, oh = s.out_h(), ow = s.out_w();
  const int band = band_rows(s), bh = band + s.k - 1;
  const int bands = int(ceil_div(size_t(oh), size_t(band)));
  const int nr = kt.conv_nr, vec = kt.conv_flat_vec;
  const bool flat = flat_rows(kt, s), pairs = pairs_rows(kt, s);
  const int tiles_per_row = int(ceil_div(size_t(ow), size_t(nr)));
  const int k_len = s.cin * s.k * s.k;
  const int blocks = int(ceil_div(size_t(s.cout), kConvMR));
  const size_t buf_floats = size_t(s.cin) * bh * wp;
  const size_t slot_floats = band_floats(s);
  OpCtx slot_ctx = ctx;  // the bands live after the (unused here) padded-input region
  slot_ctx.scratch = ctx.scratch + rows_floats(s);
  ops_detail::parallel(ctx, int64_t(s.n) * bands, 1, [&](int64_t begin, int64_t end, int worker) {
    float* buf = ops_detail::slot(slot_ctx, slot_floats, worker);
    const size_t slack = kConvMaxNR + size_t(s.k) + 16;
    std::memset(buf + buf_floats, 0, sizeof(float) * slack);
    int32_t* koff = reinterpret_cast<int32_t*>(buf + buf_floats + slack);
    for (int ci = 0, e = 0; ci < s.cin; ++ci)
      for (int ky = 0; ky < s.k; ++ky)
        for (int kx = 0; kx < s.k; ++kx) koff[e++] = int32_t((ci * bh + ky) * wp + kx);
    for (int64_t item = begin; item < end; ++item) {
      const int n = int(item / bands);
      const int oy0 = int(item % bands) * band;
      const int rows = std::min(band, oh - oy0);
      // Padded rows oy0 .. oy0 + rows + k - 2 of every channel (input row = padded row - pad).
      for (int ci = 0; ci < s.cin; ++ci) {
        const float* src = x + (size_t(n) * s.cin + ci) * s.h * s.w;
        const float* mab = coeffs ? coeffs + 3 * (size_t(n) * s.cin + ci) : nullptr;
        for (int r = 0; r < rows + s.k - 1; ++r) {
          float* row = buf + (size_t(ci) * bh + r) * wp;
          const int iy = oy0 + r - s.pad;
          if (iy < 0 || iy >= s.h) {
            std::memset(row, 0, sizeof(float) * wp);
            continue;
          }
          for (int p = 0; p < s.pad; ++p) row[p] = row[s.pad + s.w + p] = 0.0f;
          if (mab)
            kt.scale_shift(size_t(s.w), src + size_t(iy) * s.w, mab[0], mab[1], mab[2], silu,
                           row + s.pad);
          else
            std::memcpy(row + s.pad, src + size_t(iy) * s.w, sizeof(float) * s.w);
        }
      }
      kernels::ConvTile t{};
      t.koff = koff;
      t.k = k_len;
      auto run_tile = [&](size_t p0) {  // p0: the tile's first output pixel in the plane
        run_blocks(t, kt.conv_tile_indirect, s, packed_w, k_len, ep, y, n, p0, 0, blocks);
      };
      if (flat) {
        // Flat tiles over the band's pixels, as conv2d_rows runs them (vectors within a row).
        const int pixels = rows * ow;
        t.b = buf;
        for (int q0 = 0; q0 < pixels; q0 += nr) {
          t.cols = std::min(nr, pixels - q0);
          const int valid = int(ceil_div(size_t(t.cols), size_t(vec)));
          for (int v = 0; v < nr / vec; ++v) {
            const int q = q0 + std::min(v, valid - 1) * vec;
            t.vec_off[v] = int32_t((q / ow) * wp + q % ow);
          }
          run_tile(size_t(oy0) * ow + q0);
        }
        continue;
      }
      for (int v = 0; vec > 0 && v < nr / vec; ++v) t.vec_off[v] = v * vec;
      if (pairs) {
        // Two whole rows per tile, their vectors one padded row apart (as conv2d_rows).
        t.vec_pitch = size_t(wp);
        for (int r = 0; r < rows; r += 2) {
          t.b = buf + size_t(r) * wp;
          t.cols = std::min(2, rows - r) * ow;
          run_tile(size_t(oy0 + r) * ow);
        }
        continue;
      }
      for (int r = 0; r < rows; ++r) {
        for (int tx = 0; tx < tiles_per_row; ++tx) {
          const int ox0 = tx * nr;
          t.b = buf + size_t(r) * wp + ox0;
          t.cols = std::min(nr, ow - ox0);
          run_tile(size_t(oy0 + r) * ow + ox0);
        }
      }
    }
  });
}

}  // namespace

size_t conv2d_packed_floats(int cout, int cin, int k, ConvPrecision p) {
  const size_t rows = ceil_div(size_t(cout), kConvMR) * kConvMR;
  const size_t f32 = rows * size_t(cin) * k * k;
  return p == ConvPrecision::Bf16 ? f32 + rows * size_t(pair_planes(cin)) * k * k : f32;
}

void conv2d_pack(int cout, int cin, int k, const float* w, float* packed, ConvPrecision p) {
  const size_t kk = size_t(cin) * k * k;
  const size_t blocks = ceil_div(size_t(cout), kConvMR);
  for (size_t cb = 0; cb < blocks; ++cb) {
    for (size_t e = 0; e < kk; ++e) {
      for (int i = 0; i < kConvMR; ++i) {
        const size_t co = cb * kConvMR + i;
        packed[(cb * kk + e) * kConvMR + i] = co < size_t(cout) ? w[co * kk + e] : 0.0f;
      }
    }
  }
  if (p != ConvPrecision::Bf16) return;
  // Then the bf16 pack: blocks of [pair, ky, kx][kConvMR] 32-bit pairs, channel 2p in the low
  // half (as pad_input_pairs puts the input), zeros past cout and for a missing odd channel.
  float* pairs = packed + conv2d_packed_floats(cout, cin, k);
  const size_t taps = size_t(k) * k, pk = size_t(pair_planes(cin)) * taps;
  for (size_t cb = 0; cb < blocks; ++cb) {
    for (size_t e = 0; e < pk; ++e) {
      const size_t ci = 2 * (e / taps), tap = e % taps;
      for (int i = 0; i < kConvMR; ++i) {
        const size_t co = cb * kConvMR + i;
        uint32_t v = 0;
        if (co < size_t(cout)) {
          v = bf16_bits(w[co * kk + ci * taps + tap]);
          if (ci + 1 < size_t(cin)) v |= uint32_t(bf16_bits(w[co * kk + (ci + 1) * taps + tap])) << 16;
        }
        std::memcpy(pairs + (cb * pk + e) * kConvMR + i, &v, sizeof v);
      }
    }
  }
}

bool conv2d_runs_bf16(const OpCtx& ctx, const ConvShape&) { return runs_bf16(ctx); }

size_t conv2d_scratch_floats(const ConvShape& s, int threads) {
  // (band_floats is counted for every shape that may take the banded path on some ISA.)
  const size_t slot = may_use_rows(s) && s.stride == 1 ? std::max(panel_floats(s), band_floats(s))
                                                        : panel_floats(s);
  return rows_floats(s) + size_t(std::max(threads, 1)) * (slot + ops_detail::kSlotSlack);
}

void conv2d(const OpCtx& ctx, const ConvShape& s, const float* x, const float* packed_w,
            const ConvEpilogue& ep, float* y) {
  check_shape(s);
  const int threads = ops_detail::threads_of(ctx);
  ops_detail::require_scratch(ctx, conv2d_scratch_floats(s, threads), "conv2d");
  const kernels::Table& kt = kernels::table(ctx.isa);
  const int64_t plane = int64_t(s.out_h()) * s.out_w();
  const bool narrow = plane <= kt.conv_nr_narrow;
  const int nr_max = narrow ? kt.conv_nr_narrow : kt.conv_nr;
  auto tile_fn = narrow ? kt.conv_tile_narrow : kt.conv_tile;
  const int k_len = s.cin * s.k * s.k;
  // bf16: panels of channel pairs (pair_panel after each build) against the bf16 weight pack.
  const bool bf16 = runs_bf16(ctx);
  const int a_len = bf16 ? pair_planes(s.cin) * s.k * s.k : k_len;
  const float* a_base = packed_w;
#if WL_HAVE_X86
  if (bf16) {
    tile_fn = narrow ? kernels::avx512_bf16::conv_tile_panel_narrow
                     : kernels::avx512_bf16::conv_tile_panel;
    a_base = packed_w + conv2d_packed_floats(s.cout, s.cin, s.k);
  }
#endif
  const int64_t cols = int64_t(s.n) * plane;
  const int64_t tiles = int64_t(ceil_div(size_t(cols), size_t(nr_max)));
  const int blocks = int(ceil_div(size_t(s.cout), kConvMR));
  // Few column tiles (the 4x4 and 8x8 levels): split the output channels too, just enough
  // that the items divide evenly among the threads, and hand each thread one contiguous run
  // of items so that the splits of a tile on the same thread share its panel.
  int splits = 1;
  int64_t grain = 1;
  if (threads > 1 && tiles < 4 * threads) {
    while (splits < blocks && (tiles * splits) % threads != 0) ++splits;
    const int blocks_per_split = int(ceil_div(size_t(blocks), size_t(splits)));
    splits = int(ceil_div(size_t(blocks), size_t(blocks_per_split)));
    grain = std::max<int64_t>(1, tiles * splits / threads);
  }
  const int blocks_per_split = int(ceil_div(size_t(blocks), size_t(splits)));
  const bool direct = s.k == 1 && s.stride == 1 && s.pad == 0;
  const size_t slot_floats = panel_floats(s);
  if (conv2d_runs_banded(ctx, s)) {
    conv2d_bands(ctx, s, x, packed_w, ep, y, kt);
    return;
  }
  if (uses_rows(kt, s)) {
#if WL_HAVE_X86
    if (bf16) pad_input_pairs(ctx, s, x, padded_input_of(ctx));
#endif
    if (!bf16) pad_input(ctx, s, x, padded_input_of(ctx));
    conv2d_rows(ctx, s, packed_w, ep, y, kt, threads, bf16);
    return;
  }
  OpCtx panel_ctx = ctx;  // the panels live after the (unused here) padded-input region
  panel_ctx.scratch = ctx.scratch + rows_floats(s);

  ops_detail::parallel(ctx, tiles * splits, grain, [&](int64_t begin, int64_t end, int worker) {
    float* panel = ops_detail::slot(panel_ctx, slot_floats, worker);
    alignas(64) float tmp[kConvMR * kConvMaxNR];
    int64_t built = -1;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t tile = item / splits;
      const int split = int(item % splits);
      const int64_t j0 = tile * nr_max;
      const int nr = int(std::min<int64_t>(nr_max, cols - j0));
      const int n0 = int(j0 / plane);
      const int64_t p0 = j0 % plane;
      const bool one_image = p0 + nr <= plane;
      kernels::ConvTile t{};
      if (direct && one_image && nr == nr_max && !bf16) {
        t.b = x + size_t(n0) * s.cin * plane + p0;
        t.ldb = size_t(plane);
      } else {
        if (built != tile) {
          build_panel(s, x, j0, nr, nr_max, panel,
                      reinterpret_cast<int64_t*>(panel + size_t(k_len) * kConvMaxNR));
#if WL_HAVE_X86
          if (bf16) kernels::avx512_bf16::pair_panel(s.cin, s.k * s.k, nr_max, panel);
#endif
          built = tile;
        }
        t.b = panel;
        t.ldb = size_t(nr_max);
      }
      t.k = a_len;
      t.cols = nr;
      const int cb_end = std::min(blocks, (split + 1) * blocks_per_split);
      // Narrow kernels may take several blocks per call (AVX2: 6-row passes across blocks);
      // a tile that straddles images goes through the one-block stack tile below.
      const int group = narrow && one_image && !bf16 ? std::max(1, kt.conv_narrow_blocks) : 1;
      for (int cb = split * blocks_per_split; cb < cb_end; cb += group) {
        const int co0 = cb * kConvMR;
        t.a = a_base + size_t(cb) * a_len * kConvMR;
        t.rows = std::min(std::min(group, cb_end - cb) * kConvMR, s.cout - co0);
        t.bias = ep.bias ? ep.bias + co0 : nullptr;
        if (one_image) {
          const size_t off = (size_t(n0) * s.cout + co0) * plane + p0;
          t.c = y + off;
          t.ldc = size_t(plane);
          t.r = ep.residual ? ep.residual + off : nullptr;
          t.ldr = size_t(plane);
          tile_fn(t);
        } else {
          // The tile straddles images: compute into a local tile, then scatter.
          t.c = tmp;
          t.ldc = kConvMaxNR;
          t.r = nullptr;
          tile_fn(t);
          for (int i = 0; i < t.rows; ++i) {
            for (int col = 0; col < nr; ++col) {
              const int64_t j = j0 + col;
              const size_t o = (size_t(j / plane) * s.cout + co0 + i) * plane + size_t(j % plane);
              y[o] = tmp[i * kConvMaxNR + col] + (ep.residual ? ep.residual[o] : 0.0f);
            }
          }
        }
      }
    }
  });
}

bool conv2d_runs_banded(const OpCtx& ctx, const ConvShape& s) {
  return !runs_bf16(ctx) && banded_rows(kernels::table(ctx.isa), s, ops_detail::threads_of(ctx));
}

void conv2d_banded_normed(const OpCtx& ctx, const ConvShape& s, const float* x,
                          const float* coeffs, bool silu, const float* packed_w,
                          const ConvEpilogue& ep, float* y) {
  check_shape(s);
  const int threads = ops_detail::threads_of(ctx);
  ops_detail::require_scratch(ctx, conv2d_scratch_floats(s, threads), "conv2d");
  ops_detail::require(conv2d_runs_banded(ctx, s), "conv2d", "this conv does not run in bands");
  conv2d_bands(ctx, s, x, packed_w, ep, y, kernels::table(ctx.isa), coeffs, silu);
}

float* conv2d_padded_input(const OpCtx& ctx, const ConvShape& s, bool* pairs) {
  const kernels::Table& kt = kernels::table(ctx.isa);
  *pairs = runs_bf16(ctx);
  return uses_rows(kt, s) ? padded_input_of(ctx) : nullptr;
}

void conv2d_from_padded(const OpCtx& ctx, const ConvShape& s, const float* packed_w,
                        const ConvEpilogue& ep, float* y) {
  const int threads = ops_detail::threads_of(ctx);
  ops_detail::require_scratch(ctx, conv2d_scratch_floats(s, threads), "conv2d");
  const kernels::Table& kt = kernels::table(ctx.isa);
  conv2d_rows(ctx, s, packed_w, ep, y, kt, threads, runs_bf16(ctx));
}

}  // namespace fast
}  // namespace wl
