// Hooks of the fast conv for fused producers (gn_silu_conv2d): when the conv reads its input
// from a zero-padded copy in scratch, a producer can write its output straight into that copy
// and skip the intermediate tensor. Private to ops/.
#pragma once
#include "ops/ops.h"

namespace wl {
namespace fast {

// Where conv2d(ctx, s, ...) would keep its zero-padded input copy ([N][Cin][H+2p][W+2p] inside
// ctx.scratch), or null when that conv does not use one on ctx.isa. When it multiplies in bf16
// (conv2d_runs_bf16) the copy holds channel pairs instead ([N][Cin/2][H+2p][W+2p] 32-bit pairs
// of bf16, channel 2i in the low half; group_norm_padded's `pairs`): *pairs says which.
float* conv2d_padded_input(const OpCtx& ctx, const ConvShape& s, bool* pairs);

// The conv, reading the padded copy that the caller filled (border zeros included).
void conv2d_from_padded(const OpCtx& ctx, const ConvShape& s, const float* packed_w,
                        const ConvEpilogue& ep, float* y);

// Whether conv2d(ctx, s, ...) runs as bands of output rows (each worker pads its band's input
// rows itself), and that path with the rows normalised on the way in: `coeffs` holds
// (mean, a, b) per (image, channel) (ops_detail::group_norm_coeffs) and each input row becomes
// scale_shift(row, mean, a, b, silu), exactly what group_norm_padded writes.
bool conv2d_runs_banded(const OpCtx& ctx, const ConvShape& s);
void conv2d_banded_normed(const OpCtx& ctx, const ConvShape& s, const float* x, const float* coeffs,
                          bool silu, const float* packed_w, const ConvEpilogue& ep, float* y);

}  // namespace fast

namespace ops_detail {
// Group-norm statistics and folded coefficients: coeffs[3 * (n * C + c) + {0, 1, 2}] =
// (mean of c's group, a, b) with y = (x - mean) * a + b (+ SiLU), as group_norm_padded applies.
void group_norm_coeffs(const OpCtx& ctx, const GroupNormShape& s, const float* x,
                       const GroupNormParams& p, float* coeffs);
// Group norm (+ affine, adaptive scale/shift, SiLU) writing each output plane into the interior
// of an [h + 2 pad][w + 2 pad] plane and zeroing its border; pad 0 is the plain layout. With
// `pairs` (AVX-512 BF16 only; channels per group even), plane i holds channels 2i and 2i + 1
// as 32-bit pairs of bf16, the bf16 conv's input.
void group_norm_padded(const OpCtx& ctx, const GroupNormShape& s, int h, int w, int pad,
                       const float* x, const GroupNormParams& p, float* y, bool pairs = false);
}  // namespace ops_detail
}  // namespace wl
