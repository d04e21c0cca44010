// Fast GroupNorm -> SiLU -> conv. Where the conv reads a zero-padded input copy (stride-1
// convs with wide rows), group norm writes straight into that copy: the normalised activation
// is produced once, in the layout the conv wants, and never exists as a separate tensor.
// Otherwise it goes to a scratch buffer (part of the model arena, so cache-resident and
// allocation-free) that the conv then gathers from. On the bf16 path group norm writes the
// conv's bf16 channel pairs directly (two channels per pass), unless a pair would straddle two
// groups (odd channels per group): then the f32 tensor, which conv2d pairs itself. The whole
// activation is normalised before the conv starts because every conv tile needs a k x k
// neighbourhood across all input channels, whose groups need statistics over the full group first.
#include "ops/conv2d_internal.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

namespace {
size_t act_floats(const GroupNormShape& gs) {
  return size_t(gs.n) * gs.c * gs.hw + ops_detail::kSlotSlack;
}
}  // namespace

size_t gn_silu_conv2d_scratch_floats(const GroupNormShape& gs, const ConvShape& cs, int threads) {
  return act_floats(gs) + conv2d_scratch_floats(cs, threads);
}

void gn_silu_conv2d(const OpCtx& ctx, const GroupNormShape& gs, const GroupNormParams& gp,
                    const ConvShape& cs, const float* x, const float* packed_w,
                    const ConvEpilogue& ep, float* y) {
  ops_detail::require(gs.n == cs.n && gs.c == cs.cin && gs.hw == cs.h * cs.w, "gn_silu_conv2d",
                      "group-norm shape does not match the conv input");
  const int threads = ops_detail::threads_of(ctx);
  ops_detail::require_scratch(ctx, gn_silu_conv2d_scratch_floats(gs, cs, threads),
                              "gn_silu_conv2d");
  GroupNormParams p = gp;
  p.silu = true;
  OpCtx conv_ctx = ctx;
  conv_ctx.scratch = ctx.scratch + act_floats(gs);
  conv_ctx.scratch_floats = ctx.scratch_floats - act_floats(gs);
  if (conv2d_runs_banded(conv_ctx, cs)) {
    // Bands normalise their own input rows: only the statistics are computed up front.
    float* coeffs = ops_detail::slot(ctx, act_floats(gs) - ops_detail::kSlotSlack, 0);
    ops_detail::group_norm_coeffs(ctx, gs, x, p, coeffs);
    conv2d_banded_normed(conv_ctx, cs, x, coeffs, true, packed_w, ep, y);
    return;
  }
  bool pairs = false;
  float* xp = conv2d_padded_input(conv_ctx, cs, &pairs);
  // bf16 pairs straight from group norm when no pair straddles two groups; else (odd channels
  // per group) through the f32 scratch tensor, which conv2d pairs itself.
  if (xp && (!pairs || (gs.c / gs.groups) % 2 == 0)) {
    ops_detail::group_norm_padded(ctx, gs, cs.h, cs.w, cs.pad, x, p, xp, pairs);
    conv2d_from_padded(conv_ctx, cs, packed_w, ep, y);
    return;
  }
  float* act = ops_detail::slot(ctx, act_floats(gs) - ops_detail::kSlotSlack, 0);
  group_norm(ctx, gs, x, p, act);
  conv2d(conv_ctx, cs, act, packed_w, ep, y);
}

}  // namespace fast
}  // namespace wl
