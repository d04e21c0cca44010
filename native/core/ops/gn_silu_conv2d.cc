// Fast GroupNorm -> SiLU -> conv: the normalised activation goes to a scratch buffer that is
// part of the model arena (so it stays cache-resident and the frame allocates nothing), then
// the conv reads it. The whole activation is normalised before the conv because every conv
// tile needs a 3x3 neighbourhood across all input channels, whose groups must be normalised
// with statistics of the full group first.
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
  float* act = ops_detail::slot(ctx, act_floats(gs) - ops_detail::kSlotSlack, 0);
  GroupNormParams p = gp;
  p.silu = true;
  group_norm(ctx, gs, x, p, act);
  OpCtx conv_ctx = ctx;
  conv_ctx.scratch = ctx.scratch + act_floats(gs);
  conv_ctx.scratch_floats = ctx.scratch_floats - act_floats(gs);
  conv2d(conv_ctx, cs, act, packed_w, ep, y);
}

}  // namespace fast
}  // namespace wl
