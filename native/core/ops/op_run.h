// The CPU side of the op table's dispatch: ref::run and fast::run take an op's argument struct
// and call its kernel. An overload here is what "this op has a ref / fast implementation"
// means: the CPU backend and the op tests find them by overload resolution (has_ref / has_fast),
// and test_ops checks them against the table's impls column. fast:: conv weights are the packed
// ones (fast::conv2d_pack), ref:: ones are PyTorch's [Cout, Cin, k, k].
#pragma once
#include <algorithm>
#include <type_traits>
#include <utility>

#include "ops/op_table.h"
#include "ops/ops.h"

namespace wl {

namespace ref {
inline void run(const Conv2dArgs& a) { conv2d(a.s, a.x, a.w, a.ep, a.y); }
inline void run(const GroupNormArgs& a) { group_norm(a.s, a.x, a.p, a.y); }
inline void run(const GnSiluConv2dArgs& a) {
  gn_silu_conv2d(a.gs, a.gp, a.cs, a.x, a.w, a.ep, a.y);
}
inline void run(const SiluArgs& a) { silu(a.n, a.x, a.y); }
inline void run(const AddArgs& a) { add(a.n, a.a, a.b, a.y); }
inline void run(const LinearArgs& a) { linear(a.n, a.in, a.out, a.x, a.w, a.b, a.y); }
inline void run(const ConcatChannelsArgs& a) {
  concat_channels(a.n, a.ca, a.cb, a.hw, a.a, a.b, a.y);
}
inline void run(const UpsampleNearest2xArgs& a) {
  upsample_nearest2x(a.n, a.c, a.h, a.w, a.x, a.y);
}
inline void run(const AttentionArgs& a) { attention(a.s, a.qkv, a.y); }
inline void run(const RgbF32ToU8Args& a) { rgb_f32_to_u8(a.n, a.h, a.w, a.x, a.y); }
inline void run(const RgbU8ToF32Args& a) { rgb_u8_to_f32(a.n, a.h, a.w, a.x, a.y); }
inline void run(const ScaleAddArgs& a) { scale_add(a.batch, a.per, a.a, a.x, a.c, a.z, a.y); }
inline void run(const FourierArgs& a) { fourier(a.batch, a.half, a.t, a.freqs, a.y); }
inline void run(const NormalNoiseArgs& a) {
  normal_noise(a.batch, a.per, a.seed, a.frame, a.step, a.y);
}
inline void run(const UnprojectArgs& a) { unproject(a.cam, a.depth, a.xyz, a.size); }
inline void run(const SplatArgs& a) {
  splat(a.cam, a.p, a.n, a.xyz, a.size, a.rgb, a.out_rgb, a.out_depth, a.out_mask);
}
}  // namespace ref

namespace fast {
inline void run(const OpCtx& c, const Conv2dArgs& a) { conv2d(c, a.s, a.x, a.w, a.ep, a.y); }
inline void run(const OpCtx& c, const GroupNormArgs& a) { group_norm(c, a.s, a.x, a.p, a.y); }
inline void run(const OpCtx& c, const GnSiluConv2dArgs& a) {
  gn_silu_conv2d(c, a.gs, a.gp, a.cs, a.x, a.w, a.ep, a.y);
}
inline void run(const OpCtx& c, const SiluArgs& a) { silu(c, a.n, a.x, a.y); }
inline void run(const OpCtx& c, const AddArgs& a) { add(c, a.n, a.a, a.b, a.y); }
inline void run(const OpCtx& c, const LinearArgs& a) {
  linear(c, a.n, a.in, a.out, a.x, a.w, a.b, a.y);
}
inline void run(const OpCtx& c, const ConcatChannelsArgs& a) {
  concat_channels(c, a.n, a.ca, a.cb, a.hw, a.a, a.b, a.y);
}
inline void run(const OpCtx& c, const UpsampleNearest2xArgs& a) {
  upsample_nearest2x(c, a.n, a.c, a.h, a.w, a.x, a.y);
}
inline void run(const OpCtx& c, const AttentionArgs& a) { attention(c, a.s, a.qkv, a.y); }
inline void run(const OpCtx& c, const RgbF32ToU8Args& a) {
  rgb_f32_to_u8(c, a.n, a.h, a.w, a.x, a.y);
}
inline void run(const OpCtx& c, const RgbU8ToF32Args& a) {
  rgb_u8_to_f32(c, a.n, a.h, a.w, a.x, a.y);
}
inline void run(const OpCtx& c, const UnprojectArgs& a) {
  unproject(c, a.cam, a.depth, a.xyz, a.size);
}
inline void run(const OpCtx& c, const SplatArgs& a) {
  splat(c, a.cam, a.p, a.n, a.xyz, a.size, a.rgb, a.out_rgb, a.out_depth, a.out_mask);
}

// Scratch floats an op needs for a pool of `threads`; ops without an overload need none.
inline size_t scratch_floats(const Conv2dArgs& a, int threads) {
  return conv2d_scratch_floats(a.s, threads);
}
inline size_t scratch_floats(const GnSiluConv2dArgs& a, int threads) {
  return gn_silu_conv2d_scratch_floats(a.gs, a.cs, threads);
}
inline size_t scratch_floats(const AttentionArgs& a, int threads) {
  return attention_scratch_floats(a.s, threads);
}
inline size_t scratch_floats(const SplatArgs& a, int) {
  return splat_scratch_floats(a.cam.width, a.cam.height);
}
template <class A>
size_t scratch_floats(const A&, int) {
  return 0;
}
}  // namespace fast

template <class A, class = void>
struct HasRef : std::false_type {};
template <class A>
struct HasRef<A, std::void_t<decltype(ref::run(std::declval<const A&>()))>> : std::true_type {};
template <class A, class = void>
struct HasFast : std::false_type {};
template <class A>
struct HasFast<
    A, std::void_t<decltype(fast::run(std::declval<const OpCtx&>(), std::declval<const A&>()))>>
    : std::true_type {};
template <class A>
inline constexpr bool has_ref = HasRef<A>::value;
template <class A>
inline constexpr bool has_fast = HasFast<A>::value;

// The ref / fast bits each op's code actually has, in table order (checked against kOps).
inline unsigned cpu_impls(OpId id) {
  static constexpr unsigned bits[] = {
#define WL_OP_CPU(id, name, args, impls) \
  (has_ref<args> ? unsigned(kImplRef) : 0u) | (has_fast<args> ? unsigned(kImplFast) : 0u),
      WL_OP_TABLE(WL_OP_CPU)
#undef WL_OP_CPU
  };
  return bits[int(id)];
}

// Runs a call on the CPU: fast when asked for and the op has it, else ref.
inline void cpu_run(const OpCtx& ctx, bool use_fast, const OpCall& call) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (has_fast<A>) {
          if (use_fast) {
            fast::run(ctx, a);
            return;
          }
        }
        ref::run(a);
      },
      call);
}

}  // namespace wl
