// Inner kernels compiled once per ISA (files *_avx512.cc / *_avx2.cc get their -m flags from
// CMake; the portable ones build with the baseline flags). The op drivers (conv2d.cc, ...) own
// tiling, threading and dispatch and call these through one table per ISA. Private to ops/.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/cpu_features.h"

namespace wl {
namespace kernels {

// Packed conv weights: output channels in blocks of kConvMR, each block stored as [K][kConvMR]
// (K = cin*k*k in PyTorch's (ci, ky, kx) order), so a micro-kernel broadcasts kConvMR
// consecutive scalars per k. The layout is shared by every ISA, so packing happens once at
// load whatever kernel later runs.
constexpr int kConvMR = 8;
// Widest column tile any kernel uses; conv scratch is sized with it so that the scratch a
// model reserves does not depend on the ISA picked at run time.
constexpr int kConvMaxNR = 32;
// Output width for which an indirect tile may cover two output rows (AVX-512: two zmm = two
// 16-pixel rows), so 16x16 planes need no panel either.
constexpr int kConvPairRowsWidth = 16;

// One output tile: C[i][j] = sum_k A[k][i] * B[k][j] (+ bias[i]) (+ R[i][j]) for i < rows,
// j < cols. A is a packed block ([K][kConvMR], rows beyond `rows` are zero). Row k of B starts
// at b + k * ldb, or at b + koff[k] for the indirect kernels (which read the receptive field
// straight from a padded input); every B row is readable for nr (the kernel's tile width)
// columns. C and R have row stride ldc / ldr.
struct ConvTile {
  const float* a;
  const float* b;
  size_t ldb;
  const int32_t* koff;
  // Indirect tiles only: when nonzero, the tile's v-th vector of B row k starts at
  // b + koff[k] + v * vec_pitch instead of being contiguous (two-row tiles: the padded row
  // pitch).
  size_t vec_pitch;
  // Indirect tiles of kernels whose table sets conv_flat_vec: the tile's v-th vector of B row k
  // starts at b + koff[k] + vec_off[v]. A "flat" tile is 8-pixel vectors of consecutive output
  // pixels that may wrap to the next output row (padded rows are wider than output rows, so each
  // vector has its own offset); this keeps 24-wide AVX2 tiles full on 16- and 32-pixel rows.
  int32_t vec_off[kConvMaxNR / 8];
  int k;
  int rows, cols;
  float* c;
  size_t ldc;
  const float* bias;  // bias of row 0, or null
  const float* r;     // residual of row 0, or null
  size_t ldr;
};

struct Table {
  // Two column-tile widths (<= kConvMaxNR): the wide one for most convs, the narrow one for
  // small planes (4x4 = 16 pixels) that would leave most of a wide tile empty.
  int conv_nr, conv_nr_narrow;
  void (*conv_tile)(const ConvTile& t);
  void (*conv_tile_narrow)(const ConvTile& t);
  // Wide, B rows at b + koff[k]; null where the indirect path does not pay (portable: GCC's
  // baseline SSE2 code for it measured 15x slower than the panel path).
  void (*conv_tile_indirect)(const ConvTile& t);
  // y = silu(x) elementwise.
  void (*silu)(size_t n, const float* x, float* y);
  // y = (x - m) * a + b, then SiLU when `silu`: the apply step of group norm. Subtracting the
  // mean first (rather than folding it into b) keeps near-constant groups, where a = rstd is
  // huge, free of cancellation.
  void (*scale_shift)(size_t n, const float* x, float m, float a, float b, bool silu, float* y);
  // Sum of x and sum of (x - mean)^2, in double for the final combine.
  double (*sum)(size_t n, const float* x);
  double (*sum_sq_dev)(size_t n, const float* x, float mean);
  // y[r][o] = x[r] . w[o] (+ b[o]) for r < rows (<= 4), o < outs (<= 4); x rows stride ldx,
  // w rows stride in, y rows stride ldy.
  void (*linear_block)(int rows, int outs, int in, const float* x, size_t ldx, const float* w,
                       const float* b, float* y, size_t ldy);
  void (*add)(size_t n, const float* a, const float* b, float* y);
  // One head of attention (attention_head.h): q, k, v, out are [d][t]; sc holds 2*t*t floats.
  void (*attention_head)(const float* q, const float* k, const float* v, float* out, int d, int t,
                         float scale, float* sc);
  // kConvPairRowsWidth when conv_tile_indirect honours vec_pitch with two vectors per tile, else 0.
  int conv_pair_rows_width;
  // Vector width (floats) when conv_tile_indirect reads B through ConvTile::vec_off, so that
  // stride-1 convs whose output width is a multiple of it run as flat tiles; 0 = not supported.
  int conv_flat_vec;
  // How many consecutive packed blocks conv_tile_narrow takes in one call (ConvTile::rows up to
  // 8 * this; block b's weights at a + b * k * kConvMR); 0 or 1 = one block. AVX2 takes 3, so its
  // 16-register tile can be 6 rows x 16 columns across block boundaries.
  int conv_narrow_blocks;
};

// The table for `isa`; falls back to the best compiled-in table not above it.
const Table& table(Isa isa);

namespace portable {
extern const Table kTable;
}
#if WL_HAVE_X86
namespace avx2 {
extern const Table kTable;
}
namespace avx512 {
extern const Table kTable;
}
// AVX-512 BF16 kernels (kernels_avx512bf16.cc, built with -mavx512bf16): call only where
// has_avx512_bf16(). Their data are 32-bit "pairs": two bf16 of consecutive input channels
// (channel 2p in the low half, 2p + 1 in the high half; a zero stands in for a missing odd
// channel), so one vdpbf16ps lane adds both channels' products.
namespace avx512_bf16 {
// The indirect tile of avx512::kTable (8 rows x 32 columns; vec_pitch for two-row tiles) on
// pairs: t.a is a packed block of [K/2][kConvMR] weight pairs and t.b + koff[k] a row of input
// pairs (both reinterpreted as 32-bit elements), and t.k counts pairs x k x k.
void conv_tile_indirect(const ConvTile& t);
// The panel tiles of avx512::kTable (8 x 32, and 8 x 16 for 16-pixel planes) on pairs: B row k
// at t.b + k * t.ldb (32-bit elements), as pair_panel leaves a panel.
void conv_tile_panel(const ConvTile& t);
void conv_tile_panel_narrow(const ConvTile& t);
// Turns an f32 panel [cin * taps][width] (rows in (ci, tap) order; width a multiple of 16) into
// pairs [ceil(cin / 2) * taps][width] in place: row (p, tap) from channels 2p and 2p + 1.
void pair_panel(int cin, int taps, int width, float* panel);
// dst[0, w) = pairs of lo[0, w) and hi[0, w) rounded to bf16 (to nearest even); hi null = zeros.
void pair_row(int w, const float* lo, const float* hi, uint32_t* dst);
}  // namespace avx512_bf16
#endif
#if WL_HAVE_NEON
namespace neon {
extern const Table kTable;
}
#endif

}  // namespace kernels
}  // namespace wl
