// The op table: every op the networks are built from, once. Each row names the op, its argument
// struct (ops/op_args.h) and which implementations it has. From it come the op ids, OpCall (the
// one record type both backends take through Backend::run and the CUDA backend replays), the
// names in logs and profiles, and the per-backend dispatch (ops/op_run.h, cuda/cuda_ops.h).
//
// The impls column must tell the truth, and tests hold it to that: test_ops
// (op_table_matches_implementations) fails when the ref or fast column differs from the
// ref::run / fast::run overloads that exist, test_cuda_ops (host_op_table_matches_cuda, runs
// without a GPU) when the cuda column differs from the cuda::run overloads. A CPU backend runs
// an op without a fast version on its ref version. Adding an op: docs/kernels.md.
#pragma once
#include <type_traits>
#include <utility>
#include <variant>

#include "ops/op_args.h"

namespace wl {

enum OpImpl : unsigned {
  kImplRef = 1u,   // ref::  plain loops, the definition (ops/ref_*.cc)
  kImplFast = 2u,  // fast:: AVX-512 / AVX2 / NEON / portable tables, threaded
  kImplCuda = 4u,  // cuda:: the GPU twin (native/cuda/)
};

// X(id, name, args struct, implementations)
#define WL_OP_TABLE(X)                                                                       \
  X(Conv2d, "conv2d", Conv2dArgs, kImplRef | kImplFast | kImplCuda)                          \
  X(GroupNorm, "group_norm", GroupNormArgs, kImplRef | kImplFast | kImplCuda)                \
  X(GnSiluConv2d, "gn_silu_conv2d", GnSiluConv2dArgs, kImplRef | kImplFast | kImplCuda)      \
  X(Silu, "silu", SiluArgs, kImplRef | kImplFast | kImplCuda)                                \
  X(Add, "add", AddArgs, kImplRef | kImplFast | kImplCuda)                                   \
  X(Linear, "linear", LinearArgs, kImplRef | kImplFast | kImplCuda)                          \
  X(ConcatChannels, "concat_channels", ConcatChannelsArgs, kImplRef | kImplFast | kImplCuda) \
  X(UpsampleNearest2x, "upsample_nearest2x", UpsampleNearest2xArgs,                          \
    kImplRef | kImplFast | kImplCuda)                                                        \
  X(Attention, "attention", AttentionArgs, kImplRef | kImplFast | kImplCuda)                 \
  X(RgbF32ToU8, "rgb_f32_to_u8", RgbF32ToU8Args, kImplRef | kImplFast | kImplCuda)           \
  X(RgbU8ToF32, "rgb_u8_to_f32", RgbU8ToF32Args, kImplRef | kImplFast | kImplCuda)           \
  /* The sampler's per-world arithmetic: a few thousand values per frame, so no fast:: */    \
  X(ScaleAdd, "scale_add", ScaleAddArgs, kImplRef | kImplCuda)                               \
  X(Fourier, "fourier", FourierArgs, kImplRef | kImplCuda)                                   \
  X(NormalNoise, "normal_noise", NormalNoiseArgs, kImplRef | kImplCuda)                      \
  /* Reprojection (ops/reproject.h): the point cache's, not the networks' */                 \
  X(Unproject, "unproject", UnprojectArgs, kImplRef | kImplFast | kImplCuda)                 \
  X(Splat, "splat", SplatArgs, kImplRef | kImplFast | kImplCuda)

enum class OpId : int {
#define WL_OP_ID(id, name, args, impls) id,
  WL_OP_TABLE(WL_OP_ID)
#undef WL_OP_ID
};

struct OpInfo {
  OpId id;
  const char* name;
  unsigned impls;  // OpImpl bits
};

inline constexpr OpInfo kOps[] = {
#define WL_OP_INFO(id, name, args, impls) {OpId::id, name, impls},
    WL_OP_TABLE(WL_OP_INFO)
#undef WL_OP_INFO
};
inline constexpr int kOpCount = int(sizeof(kOps) / sizeof(kOps[0]));

inline const OpInfo& op_info(OpId id) { return kOps[int(id)]; }
inline const char* op_name(OpId id) { return kOps[int(id)].name; }

namespace op_detail {
template <class First, class... Rest>
struct VariantOfRest {
  using type = std::variant<Rest...>;
};
template <class T, class V>
struct IndexOf;
template <class T, class... A>
struct IndexOf<T, std::variant<A...>> {
  static constexpr int value = [] {
    int i = 0;
    bool found = false;
    ((found = found || std::is_same_v<T, A>, i += found ? 0 : 1), ...);
    return i;
  }();
  static_assert(value < int(sizeof...(A)), "not an op's argument struct");
};
}  // namespace op_detail

// One op call: the alternative's index is its OpId.
#define WL_OP_ARGS(id, name, args, impls) , args
using OpCall = op_detail::VariantOfRest<void WL_OP_TABLE(WL_OP_ARGS)>::type;
#undef WL_OP_ARGS

static_assert(std::variant_size_v<OpCall> == size_t(kOpCount), "one OpCall alternative per row");

inline OpId op_id(const OpCall& call) { return OpId(call.index()); }

template <class A>
constexpr OpId op_id_of() {
  return OpId(op_detail::IndexOf<A, OpCall>::value);
}

// Two calls of the same op are equal when every argument is (record comparison).
template <class A, class = decltype(std::declval<const A&>().fields())>
bool operator==(const A& a, const A& b) {
  return a.fields() == b.fields();
}

}  // namespace wl
