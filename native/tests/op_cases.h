// The op case table: every shape the op tests and bench_ops run, once. test_ops runs each case
// marked kUseCpu with fast:: on every ISA and thread count against ref::, test_cuda_ops each case
// marked kUseCuda with cuda:: (both precisions for the convolutions) against ref::, and bench_ops
// times each case marked kUseBench with fast::. A case is an op call (ops/op_table.h) whose
// pointers say only which optional tensors exist (present<T>() or null); bind() gives every
// tensor seeded random values, so a case reproduces bit for bit on every machine.
//
// Adding an op: add its cases here (docs/kernels.md has the whole checklist); test_ops and
// test_cuda_ops fail while an op of the table has no case for a backend it claims.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/op_describe.h"
#include "ops/op_run.h"
#include "ops/op_table.h"
#include "test_util.h"

namespace wl_test {

enum CaseUse : unsigned {
  kUseCpu = 1u,    // test_ops: fast vs ref
  kUseCuda = 2u,   // test_cuda_ops: cuda vs ref
  kUseBench = 4u,  // bench_ops: timed
};

// Marks an optional tensor as present in a case's call; bind() replaces every marker it visits.
inline unsigned char g_present_marker[8];
template <class T>
T* present() {
  return reinterpret_cast<T*>(g_present_marker);
}

// True when a pointer field of `args` (fields(), looking into the epilogue and norm parameters)
// still holds the marker: a pointer its tensors() does not visit.
inline bool is_marker(const void* p) { return p == g_present_marker; }
inline bool has_marker(const wl::ConvEpilogue& e) {
  return is_marker(e.bias) || is_marker(e.residual);
}
inline bool has_marker(const wl::GroupNormParams& p) {
  return is_marker(p.gamma) || is_marker(p.beta) || is_marker(p.scale) || is_marker(p.shift);
}
template <class T>
bool has_marker(T* p) {
  return is_marker(p);
}
template <class T>
bool has_marker(const T&) {
  return false;  // shapes and scalars
}
template <class A>
bool unvisited_pointer(const A& args) {
  return std::apply([](const auto&... f) { return (has_marker(f) || ...); }, args.fields());
}

struct InputRange {
  std::string tensor;
  float lo, hi;
};

struct OpCase {
  wl::OpCall call;
  unsigned use;
  std::string label;   // what bench_ops prints as "op" (the table's name unless set)
  std::string shape;   // what bench_ops prints as "shape"
  std::string detail;  // more for failure messages (padding, optional tensors)
  double flops = 0;    // per call, a multiply-add = 2; 0 = memory-bound (bench prints ms only)
  bool exact = false;  // outputs must equal ref bit for bit
  float lo = -1.0f, hi = 1.0f;     // inputs are uniform in [lo, hi] ...
  std::vector<InputRange> ranges;  // ... unless named here (gamma defaults to [0.5, 1.5])
  std::vector<std::pair<std::string, std::vector<float>>> head;  // first values of a tensor

  wl::OpId op() const { return wl::op_id(call); }
  std::string name() const { return label + " " + shape + detail; }
};

// ---- binding a case to host buffers ----

struct HostTensor {
  wl::TensorDesc desc;
  size_t elem_bytes = 0;
  std::vector<uint64_t> storage;  // 8-byte aligned
  void* data() { return storage.data(); }
  const void* data() const { return storage.data(); }
  size_t bytes() const { return desc.count * elem_bytes; }
  void allocate(size_t count, size_t elem) {
    elem_bytes = elem;
    storage.assign((count * elem + 7) / 8 + 1, 0);
  }
  template <class T>
  T* as() {
    return static_cast<T*>(data());
  }
  std::vector<float> floats() const {
    std::vector<float> v(desc.count);
    std::memcpy(v.data(), data(), v.size() * sizeof(float));
    return v;
  }
};

template <class Field>
using Pointee = std::remove_cv_t<std::remove_pointer_t<std::decay_t<Field>>>;

// A case with host tensors: `call`'s pointers point at `tensors` (in tensors() order; absent
// optional tensors keep a null pointer and an empty HostTensor).
struct BoundCase {
  wl::OpCall call;
  std::vector<HostTensor> tensors;
};

// Outputs start as NaN (bytes as 7): an element a kernel never writes cannot pass.
template <class T>
void poison(T* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, float>) {
      p[i] = NAN;
    } else {
      p[i] = T(7);
    }
  }
}

inline float input_bound(const OpCase& c, const char* name, bool hi) {
  for (const InputRange& r : c.ranges)
    if (r.tensor == name) return hi ? r.hi : r.lo;
  if (std::string(name) == "gamma") return hi ? 1.5f : 0.5f;
  return hi ? c.hi : c.lo;
}

// Fills the inputs from `rng` (outputs with NaN) and points the call at them.
inline BoundCase bind(const OpCase& c, Rng& rng) {
  BoundCase b;
  b.call = c.call;
  std::visit(
      [&](auto& args) {
        args.tensors([&](const wl::TensorDesc& d, auto& field) {
          using T = Pointee<decltype(field)>;
          HostTensor t;
          t.desc = d;
          if (field) {
            t.allocate(d.count, sizeof(T));
            T* p = t.as<T>();
            if (d.role == wl::TensorRole::Out) {
              poison(p, d.count);
            } else if constexpr (std::is_same_v<T, float>) {
              const float lo = input_bound(c, d.name, false), hi = input_bound(c, d.name, true);
              for (size_t i = 0; i < d.count; ++i) p[i] = rng.uniform(lo, hi);
              for (const auto& h : c.head)
                if (h.first == d.name)
                  for (size_t i = 0; i < h.second.size() && i < d.count; ++i) p[i] = h.second[i];
            } else {
              for (size_t i = 0; i < d.count; ++i) p[i] = T(rng.next());
            }
            field = p;
          }
          b.tensors.push_back(std::move(t));
        });
      },
      b.call);
  return b;
}

// Calls f(HostTensor&, field&) for each tensor of `call` that `bound` has (same order as bind).
template <class F>
void each_tensor(BoundCase& bound, wl::OpCall& call, F&& f) {
  size_t i = 0;
  std::visit(
      [&](auto& args) {
        args.tensors([&](const wl::TensorDesc&, auto& field) {
          HostTensor& t = bound.tensors[i++];
          if (field) f(t, field);
        });
      },
      call);
}

// ref:: outputs of a bound case, one vector of bytes per output tensor.
inline std::vector<HostTensor> ref_outputs(BoundCase& b) {
  std::visit([](const auto& args) { wl::ref::run(args); }, b.call);
  std::vector<HostTensor> out;
  for (const HostTensor& t : b.tensors)
    if (t.desc.role == wl::TensorRole::Out && t.elem_bytes) out.push_back(t);
  return out;
}

// Error of `got` against `want` for one output tensor: the normalised error for floats (see
// test_util.h), 0 or infinity for bytes and for exact cases.
inline double output_error(const OpCase& c, const HostTensor& want, const void* got) {
  if (want.elem_bytes != sizeof(float) || c.exact)
    return std::memcmp(want.data(), got, want.bytes()) == 0 ? 0.0 : INFINITY;
  std::vector<float> g(want.desc.count);
  std::memcpy(g.data(), got, g.size() * sizeof(float));
  return norm_err(want.floats(), g);
}

// ---- the cases ----

inline unsigned cuda_conv_ok(const wl::ConvShape& s, unsigned use) {
  // The CUDA convolution takes k 1 or 3 (host_bad_shapes_are_errors).
  return (s.k == 1 || s.k == 3) ? use : use & ~unsigned(kUseCuda);
}

inline OpCase conv_case(const wl::ConvShape& s, bool bias, bool residual,
                        unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::Conv2dArgs{s, present<const float>(), present<const float>(),
                          wl::ConvEpilogue{bias ? present<const float>() : nullptr,
                                           residual ? present<const float>() : nullptr},
                          present<float>()};
  c.use = cuda_conv_ok(s, use);
  c.label = "conv2d";
  c.shape = wl::op_shape_text(c.call);
  c.detail = " p" + std::to_string(s.pad) + (bias ? " bias" : "") + (residual ? " res" : "");
  c.flops = wl::op_flops(c.call);
  return c;
}

inline int groups_for(int c) {
  for (int g : {8, 4, 2, 1})
    if (c % g == 0) return g;
  return 1;
}

inline OpCase gn_silu_conv_case(const wl::ConvShape& s, bool affine, bool bias, bool residual,
                                unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  const wl::GroupNormShape gs{s.n, s.cin, s.h * s.w, groups_for(s.cin), 1e-5f};
  wl::GroupNormParams gp;
  if (affine) {
    gp.gamma = present<const float>();
    gp.beta = present<const float>();
  }
  gp.scale = present<const float>();
  gp.shift = present<const float>();
  gp.silu = true;
  c.call = wl::GnSiluConv2dArgs{gs,
                                gp,
                                s,
                                present<const float>(),
                                present<const float>(),
                                wl::ConvEpilogue{bias ? present<const float>() : nullptr,
                                                 residual ? present<const float>() : nullptr},
                                present<float>()};
  c.use = cuda_conv_ok(s, use);
  c.label = "gn_silu_conv2d";
  c.shape = wl::op_shape_text(c.call);
  c.detail = " p" + std::to_string(s.pad) + " g" + std::to_string(gs.groups) +
             (affine ? " affine" : "") + (bias ? " bias" : "") + (residual ? " res" : "");
  c.flops = wl::op_flops(c.call);
  c.ranges = {{"beta", -0.5f, 0.5f}, {"scale", -0.5f, 0.5f}, {"shift", -0.5f, 0.5f}};
  return c;
}

inline OpCase group_norm_case(const wl::GroupNormShape& s, bool affine, bool adaptive, bool silu,
                              float offset = 0.0f, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  wl::GroupNormParams p;
  if (affine) {
    p.gamma = present<const float>();
    p.beta = present<const float>();
  }
  if (adaptive) {
    p.scale = present<const float>();
    p.shift = present<const float>();
  }
  p.silu = silu;
  c.call = wl::GroupNormArgs{s, present<const float>(), p, present<float>()};
  c.use = use;
  c.label = "group_norm";
  c.shape = wl::op_shape_text(c.call);
  c.detail = " g" + std::to_string(s.groups) + (affine ? " affine" : "") +
             (adaptive ? " adaptive" : "") + (silu ? " silu" : "") +
             (offset != 0.0f ? " offset" + std::to_string(int(offset)) : "");
  // Inputs around an offset: near-constant groups relative to their mean (see group_norm.cc).
  c.ranges = {{"x", offset - 1.0f, offset + 1.0f}};
  return c;
}

inline OpCase silu_case(size_t n, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::SiluArgs{n, present<const float>(), present<float>()};
  c.use = use;
  c.label = "silu";
  c.shape = wl::op_shape_text(c.call);
  c.lo = -20.0f;
  c.hi = 20.0f;
  // The far tails of exp: clamped ranges must still give finite, right values.
  if (n > 20) c.head = {{"x", {-100.0f, 100.0f, -88.5f, 0.0f}}};
  return c;
}

inline OpCase add_case(size_t n, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::AddArgs{n, present<const float>(), present<const float>(), present<float>()};
  c.use = use;
  c.label = "add";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  return c;
}

inline OpCase linear_case(int n, int in, int out, bool bias, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::LinearArgs{n,
                          in,
                          out,
                          present<const float>(),
                          present<const float>(),
                          bias ? present<const float>() : nullptr,
                          present<float>()};
  c.use = use;
  c.label = "linear";
  c.shape = wl::op_shape_text(c.call);
  c.detail = bias ? " bias" : "";
  c.flops = wl::op_flops(c.call);
  return c;
}

inline OpCase concat_case(int n, int ca, int cb, int hw, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::ConcatChannelsArgs{
      n, ca, cb, hw, present<const float>(), present<const float>(), present<float>()};
  c.use = use;
  c.label = "concat_channels";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  return c;
}

inline OpCase upsample_case(int n, int ch, int h, int w, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::UpsampleNearest2xArgs{n, ch, h, w, present<const float>(), present<float>()};
  c.use = use;
  c.label = "upsample_nearest2x";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  return c;
}

inline OpCase attention_case(const wl::AttentionShape& s, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::AttentionArgs{s, present<const float>(), present<float>()};
  // The CUDA kernel takes head dims up to 128 (host_bad_shapes_are_errors).
  c.use = s.c / s.heads <= 128 ? use : use & ~unsigned(kUseCuda);
  c.label = "attention";
  c.shape = wl::op_shape_text(c.call);
  c.flops = wl::op_flops(c.call);
  // Scaled up so the softmax is peaked, not nearly uniform.
  c.lo = -3.0f;
  c.hi = 3.0f;
  return c;
}

inline OpCase rgb_to_u8_case(int n, int h, int w, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::RgbF32ToU8Args{n, h, w, present<const float>(), present<uint8_t>()};
  c.use = use;
  c.label = "rgb_f32_to_u8";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  c.lo = -1.3f;
  c.hi = 1.3f;
  // NaN, infinities, the exact ends and a rounding tie ((x + 1) * 127.5 = 0.5).
  c.head = {{"x", {NAN, INFINITY, -INFINITY, -1.0f, 1.0f, 0.5f / 127.5f - 1.0f}}};
  return c;
}

inline OpCase rgb_to_f32_case(int n, int h, int w, unsigned use = kUseCpu | kUseCuda) {
  OpCase c;
  c.call = wl::RgbU8ToF32Args{n, h, w, present<const uint8_t>(), present<float>()};
  c.use = use;
  c.label = "rgb_u8_to_f32";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  return c;
}

inline OpCase scale_add_case(int batch, size_t per, bool with_z, unsigned use = kUseCuda) {
  OpCase c;
  c.call = wl::ScaleAddArgs{batch,
                            per,
                            present<const float>(),
                            present<const float>(),
                            with_z ? present<const float>() : nullptr,
                            with_z ? present<const float>() : nullptr,
                            present<float>()};
  c.use = use;
  c.label = "scale_add";
  c.shape = wl::op_shape_text(c.call);
  c.detail = with_z ? " z" : "";
  c.ranges = {{"a", -2.0f, 2.0f}, {"c", -3.0f, 3.0f}};
  return c;
}

inline OpCase fourier_case(int batch, int half, unsigned use = kUseCuda) {
  OpCase c;
  c.call = wl::FourierArgs{batch, half, present<const float>(), present<const float>(),
                           present<float>()};
  c.use = use;
  c.label = "fourier";
  c.shape = wl::op_shape_text(c.call);
  c.ranges = {{"t", -2.0f, 2.0f}, {"freqs", -3.0f, 3.0f}};
  return c;
}

inline OpCase normal_noise_case(int batch, size_t per, uint32_t step, unsigned use = kUseCuda) {
  OpCase c;
  c.call = wl::NormalNoiseArgs{
      batch, per, present<const uint64_t>(), present<const uint64_t>(), step, present<float>()};
  c.use = use;
  c.label = "normal_noise";
  c.shape = wl::op_shape_text(c.call);
  return c;
}

// A camera at the origin looking along +z (rotated a little about the vertical, so no matrix
// entry is trivially 0 or 1), w x h pixels: the reprojection cases' random points in
// [-3, 3]^3 are half in front of it.
inline wl::PinholeCamera reproject_camera(int w, int h) {
  wl::PinholeCamera c;
  c.width = w;
  c.height = h;
  c.fx = 0.9f * w;
  c.fy = 0.95f * w;
  c.cx = 0.5f * w + 0.3f;
  c.cy = 0.5f * h - 0.2f;
  const double yaw = 0.3, cs = std::cos(yaw), sn = std::sin(yaw);
  const float m[12] = {float(cs), 0,      float(-sn), 0.1f, 0,         1,
                       0,         -0.05f, float(sn),  0,    float(cs), 0.2f};
  std::memcpy(c.world_to_camera, m, sizeof(m));
  return c;
}

inline OpCase unproject_case(int w, int h, unsigned use) {
  OpCase c;
  c.call = wl::UnprojectArgs{reproject_camera(w, h), present<const float>(), present<float>(),
                             present<float>()};
  c.use = use;
  c.label = "unproject";
  c.shape = wl::op_shape_text(c.call);
  c.exact = true;
  c.ranges = {{"depth", 0.05f, 8.0f}};
  // No surface (sky), NaN, 0 and a negative depth: NaN points of size 0.
  c.head = {{"depth", {INFINITY, NAN, 0.0f, -1.0f}}};
  return c;
}

inline OpCase splat_case(int64_t n, int w, int h, float max_footprint, unsigned use) {
  OpCase c;
  wl::SplatParams p;
  p.max_footprint = max_footprint;
  c.call = wl::SplatArgs{reproject_camera(w, h),
                         p,
                         n,
                         present<const float>(),
                         present<const float>(),
                         present<const uint8_t>(),
                         present<uint8_t>(),
                         present<float>(),
                         present<uint8_t>()};
  c.use = use;
  c.label = "splat";
  c.shape = wl::op_shape_text(c.call);
  c.detail = " footprint<=" + std::to_string(int(max_footprint));
  c.exact = true;
  c.ranges = {{"xyz", -3.0f, 3.0f}, {"size", 0.001f, 0.3f}};
  // A point behind the eye, one at NaN, one of size 0 and two identical ones (a tie).
  c.head = {{"xyz", {0, 0, -1, NAN, 0, 1, 0.5f, 0.5f, 2, 0.2f, -0.1f, 1.5f, 0.2f, -0.1f, 1.5f}},
            {"size", {0.1f, 0.1f, 0.0f, 0.05f, 0.05f}}};
  return c;
}

// Which backends a case runs on: the cases that came from the CPU tests (odd tile edges of the
// CPU kernels) are kCpu until a GPU run has passed them; the GPU tests' own cases, the bench
// shapes (the shipped model's) and the sampler's cases run everywhere they can.
inline std::vector<OpCase> op_cases() {
  using wl::AttentionShape;
  using wl::ConvShape;
  using wl::GroupNormShape;
  constexpr unsigned kCpu = kUseCpu, kGpu = kUseCpu | kUseCuda;
  constexpr unsigned kAll = kUseCpu | kUseCuda | kUseBench;
  std::vector<OpCase> v;
  auto add = [&](OpCase c) { v.push_back(std::move(c)); };

  // ---- conv2d ----
  // The model's levels: denoiser levels, its 1x1 and stride-2 convs, the decoder levels, the
  // RGB head (bias; residual on alternate shapes).
  {
    const ConvShape shapes[] = {
        {1, 40, 16, 16, 64, 3, 1, 1}, {1, 64, 16, 16, 64, 3, 1, 1},   {1, 128, 8, 8, 128, 3, 1, 1},
        {1, 192, 4, 4, 192, 3, 1, 1}, {1, 64, 16, 16, 64, 3, 2, 1},   {1, 128, 8, 8, 384, 1, 1, 0},
        {1, 192, 4, 4, 576, 1, 1, 0}, {1, 128, 16, 16, 64, 1, 1, 0},  {1, 8, 16, 16, 128, 3, 1, 1},
        {1, 64, 32, 32, 32, 3, 1, 1}, {1, 16, 128, 128, 16, 3, 1, 1}, {1, 16, 128, 128, 3, 3, 1, 1},
        {4, 192, 4, 4, 192, 3, 1, 1}, {3, 64, 8, 8, 128, 1, 1, 0},
    };
    int i = 0;
    for (const auto& s : shapes) add(conv_case(s, true, i++ % 2 == 1, kCpu));
  }
  // 16-wide output rows go through two-row tiles on AVX-512: odd row counts, batches, pad 0.
  add(conv_case({2, 24, 7, 16, 17, 3, 1, 1}, true, true, kCpu));
  add(conv_case({1, 8, 16, 18, 8, 3, 1, 0}, false, false, kCpu));
  add(conv_case({3, 5, 1, 16, 9, 3, 1, 1}, true, false, kCpu));
  // Output widths that are multiples of 8 go through flat indirect tiles on AVX2 and NEON
  // (vectors of 8 / 4 that wrap output rows): planes that are not a multiple of the tile
  // (partial last tile per image, batches), pad 0 / 1 / 2, k 1 with padding, k 5, odd channel
  // counts (3, 11 and 19 output channels leave a 3-row block: AVX2's 3-row pass).
  {
    const ConvShape shapes[] = {
        {1, 13, 8, 8, 17, 3, 1, 1}, {3, 5, 10, 10, 9, 3, 1, 0},  {2, 7, 3, 16, 3, 3, 1, 1},
        {1, 16, 5, 24, 1, 3, 1, 1}, {2, 9, 7, 26, 7, 3, 1, 0},   {1, 33, 9, 40, 24, 3, 1, 1},
        {2, 3, 6, 6, 8, 1, 1, 1},   {1, 6, 11, 12, 16, 5, 1, 2}, {1, 4, 2, 6, 10, 3, 1, 2},
        {1, 8, 1, 48, 9, 3, 1, 1},  {5, 17, 4, 8, 40, 3, 1, 1},  {1, 5, 6, 16, 11, 3, 1, 1},
        {2, 4, 3, 27, 19, 3, 1, 1},
    };
    int i = 0;
    for (const auto& s : shapes) add(conv_case(s, i % 2 == 0, i % 3 == 0, kCpu)), ++i;
  }
  // Planes of <= 16 pixels use the narrow tile; on AVX2 it takes up to 3 packed blocks per call
  // in 6-row passes across block boundaries: channel counts that leave 1..23 rows in the last
  // group (and 4- and 2-row tail passes), thread splits that cut a group, tiles that straddle
  // images (plane 9 and 12: one block per call), 1x1 convs reading their input in place.
  {
    const ConvShape shapes[] = {
        {1, 19, 4, 4, 23, 3, 1, 1}, {1, 7, 4, 4, 48, 3, 1, 1}, {2, 5, 4, 4, 25, 3, 1, 1},
        {1, 33, 4, 4, 13, 3, 1, 1}, {3, 6, 3, 3, 30, 3, 1, 1}, {2, 9, 3, 4, 17, 3, 1, 1},
        {1, 16, 4, 4, 70, 1, 1, 0}, {4, 8, 2, 8, 21, 1, 1, 0}, {1, 11, 8, 8, 41, 3, 2, 1},
        {1, 3, 4, 4, 2, 3, 1, 1},
    };
    int i = 0;
    for (const auto& s : shapes) add(conv_case(s, i % 2 == 1, i % 3 == 1, kCpu)), ++i;
  }
  // Batched worlds.
  add(conv_case({64, 192, 4, 4, 192, 3, 1, 1}, true, true, kCpu));
  add(conv_case({17, 64, 5, 3, 24, 3, 2, 1}, false, true, kCpu));
  // Random shapes: odd sizes, channel counts off the tile sizes, stride 2, pad 0/1, k 1/3.
  {
    Rng rng(3);
    for (int iter = 0; iter < 60; ++iter) {
      ConvShape s;
      s.n = rng.pick({1, 1, 2, 3});
      s.cin = rng.pick({1, 3, 5, 8, 13, 16, 17, 33});
      s.cout = rng.pick({1, 3, 7, 8, 9, 16, 17, 24, 40});
      s.k = rng.pick({1, 3});
      s.stride = rng.pick({1, 2});
      s.pad = s.k == 3 ? rng.pick({0, 1}) : 0;
      s.h = rng.pick({1, 2, 3, 5, 7, 8, 11, 16, 19});
      s.w = rng.pick({1, 2, 3, 5, 7, 8, 11, 16, 19, 37});
      if (s.h + 2 * s.pad < s.k || s.w + 2 * s.pad < s.k) continue;
      const bool bias = rng.next() % 2 == 0, residual = rng.next() % 2 == 0;
      add(conv_case(s, bias, residual, kCpu));
    }
  }
  // GPU tile edges: channel counts that are not tile multiples, big batches, large groups for
  // the fused op's split statistics (evenly, then unevenly).
  {
    struct C {
      ConvShape s;
      bool bias, residual;
    };
    const C shapes[] = {
        {{1, 3, 16, 16, 8, 3, 1, 1}, true, false},   {{2, 8, 15, 13, 17, 3, 1, 1}, true, true},
        {{1, 192, 8, 8, 192, 3, 1, 1}, true, false}, {{3, 40, 9, 11, 70, 3, 2, 1}, false, false},
        {{2, 33, 16, 16, 65, 1, 1, 0}, true, true},  {{1, 64, 16, 16, 128, 1, 2, 0}, true, false},
        {{1, 16, 10, 10, 24, 3, 1, 0}, true, false}, {{64, 8, 16, 16, 64, 3, 1, 1}, true, false},
        {{4, 64, 32, 32, 3, 3, 1, 1}, true, false},  {{1, 128, 4, 4, 384, 1, 1, 0}, true, false},
        {{17, 20, 7, 5, 31, 3, 2, 1}, true, true},   {{1, 40, 43, 47, 12, 3, 2, 1}, true, true},
        {{1, 64, 16, 16, 64, 3, 1, 1}, true, true},  {{1, 16, 128, 128, 16, 3, 1, 1}, true, false},
    };
    for (const C& c : shapes) {
      // Weights scaled to keep outputs O(1), as a trained layer's are.
      const float ws = 1.0f / std::sqrt(float(c.s.cin * c.s.k * c.s.k));
      for (OpCase oc : {conv_case(c.s, c.bias, c.residual, kGpu),
                        gn_silu_conv_case(c.s, true, c.bias, c.residual, kGpu)}) {
        oc.ranges.push_back({"x", -2.0f, 2.0f});
        oc.ranges.push_back({"w", -ws, ws});
        add(oc);
      }
    }
  }
  // bench_ops: the default model's shapes. Denoiser (latent U-Net): conv_in on noisy + 4
  // context latents, the ResBlock convs per level, stride-2 downsampling, 1x1 skip and
  // attention qkv convs, the latent head.
  for (const ConvShape& s :
       {ConvShape{1, 40, 16, 16, 64, 3, 1, 1}, ConvShape{1, 64, 16, 16, 64, 3, 1, 1},
        ConvShape{1, 64, 16, 16, 64, 3, 2, 1}, ConvShape{1, 128, 8, 8, 128, 3, 1, 1},
        ConvShape{1, 192, 4, 4, 192, 3, 1, 1}, ConvShape{1, 64, 8, 8, 128, 1, 1, 0},
        ConvShape{1, 128, 8, 8, 384, 1, 1, 0}, ConvShape{1, 192, 4, 4, 576, 1, 1, 0},
        ConvShape{1, 64, 16, 16, 8, 3, 1, 1},
        // Decoder: latent in, then one level per resolution, RGB head.
        ConvShape{1, 8, 16, 16, 128, 3, 1, 1}, ConvShape{1, 128, 16, 16, 128, 3, 1, 1},
        ConvShape{1, 64, 32, 32, 64, 3, 1, 1}, ConvShape{1, 32, 64, 64, 32, 3, 1, 1},
        ConvShape{1, 16, 128, 128, 16, 3, 1, 1}, ConvShape{1, 16, 128, 128, 3, 3, 1, 1},
        // The shipped default model (denoiser channels 64/128/192): conv_in on noisy + 4
        // context + memory channels, the up path's concatenations.
        ConvShape{1, 72, 16, 16, 64, 3, 1, 1}, ConvShape{1, 128, 16, 16, 64, 3, 1, 1},
        ConvShape{1, 256, 8, 8, 128, 3, 1, 1}, ConvShape{1, 384, 4, 4, 192, 3, 1, 1},
        // Its decoder's upsampling convs (input already upsampled).
        ConvShape{1, 128, 32, 32, 64, 3, 1, 1}, ConvShape{1, 64, 64, 64, 32, 3, 1, 1},
        ConvShape{1, 32, 128, 128, 16, 3, 1, 1},
        // Batched worlds.
        ConvShape{64, 192, 4, 4, 192, 3, 1, 1}, ConvShape{8, 64, 16, 16, 64, 3, 1, 1}})
    add(conv_case(s, true, false, kAll));

  // ---- gn_silu_conv2d ----
  // Both CPU fused paths: GN into the conv's padded input (stride 1, rows >= a wide tile: 36
  // and 128 wide on AVX-512, also 31 on AVX2) and GN into a scratch tensor (the others).
  for (const ConvShape& s :
       {ConvShape{1, 64, 16, 16, 64, 3, 1, 1}, ConvShape{2, 24, 7, 5, 17, 3, 2, 1},
        ConvShape{1, 16, 32, 32, 8, 1, 1, 0}, ConvShape{2, 16, 10, 36, 13, 3, 1, 1},
        ConvShape{1, 8, 9, 33, 5, 3, 1, 0}, ConvShape{1, 16, 128, 128, 16, 3, 1, 1},
        ConvShape{3, 24, 8, 8, 9, 3, 1, 1}, ConvShape{1, 16, 5, 40, 3, 3, 1, 1}})
    add(gn_silu_conv_case(s, false, true, false, kCpu));
  for (const ConvShape& s :
       {ConvShape{1, 64, 16, 16, 64, 3, 1, 1}, ConvShape{1, 128, 8, 8, 128, 3, 1, 1},
        ConvShape{1, 192, 4, 4, 192, 3, 1, 1}, ConvShape{1, 128, 16, 16, 128, 3, 1, 1},
        ConvShape{1, 64, 32, 32, 64, 3, 1, 1}, ConvShape{1, 32, 64, 64, 32, 3, 1, 1},
        ConvShape{1, 16, 128, 128, 16, 3, 1, 1}})
    add(gn_silu_conv_case(s, false, true, false, kAll));

  // ---- group_norm ----
  add(group_norm_case({1, 64, 256, 8, 1e-5f}, false, true, true, 0.0f, kCpu));
  add(group_norm_case({1, 16, 16384, 8, 1e-5f}, true, false, true, 0.0f, kCpu));
  add(group_norm_case({2, 192, 16, 32, 1e-6f}, true, true, false, 0.0f, kCpu));
  add(group_norm_case({3, 12, 7, 3, 1e-5f}, true, true, true, 10.0f, kCpu));
  {
    // The GPU tests' cases: inputs in [-3, 5], adaptive scale in [-0.5, 0.5].
    struct G {
      GroupNormShape s;
      bool affine, adaptive, silu;
    };
    const G cases[] = {
        {{1, 64, 256, 32, 1e-5f}, true, true, true},
        {{3, 6, 49, 3, 1e-5f}, false, false, false},
        {{2, 128, 64, 32, 1e-5f}, true, false, true},
        {{64, 16, 256, 8, 1e-5f}, true, true, false},
        {{1, 64, 16384, 32, 1e-5f}, true, false, true},
        {{5, 12, 1, 4, 1e-5f}, false, true, true},
    };
    for (const G& g : cases) {
      OpCase c = group_norm_case(g.s, g.affine, g.adaptive, g.silu, 0.0f, kGpu);
      c.ranges = {{"x", -3.0f, 5.0f}, {"scale", -0.5f, 0.5f}};
      add(c);
    }
  }
  {
    Rng rng(4);
    for (int iter = 0; iter < 30; ++iter) {
      const int groups = rng.pick({1, 2, 3, 8});
      const int c = groups * rng.pick({1, 2, 3, 5, 8});
      const GroupNormShape s{rng.pick({1, 2, 4}), c, rng.pick({1, 3, 15, 16, 17, 64, 255}), groups,
                             1e-5f};
      const bool affine = rng.next() % 2, adaptive = rng.next() % 2, silu = rng.next() % 2;
      add(group_norm_case(s, affine, adaptive, silu, 0.0f, kCpu));
    }
  }
  for (const GroupNormShape& s :
       {GroupNormShape{1, 64, 256, 8, 1e-5f}, GroupNormShape{1, 16, 16384, 8, 1e-5f}}) {
    OpCase c = group_norm_case(s, false, false, true, 0.0f, kAll);
    c.label = "group_norm_silu";
    add(c);
  }

  // ---- elementwise ----
  for (size_t n : {size_t(7), size_t(15), size_t(16), size_t(17), size_t(100003)}) {
    add(silu_case(n, kCpu));
    add(add_case(n, kCpu));
  }
  for (size_t n : {size_t(1), size_t(1000), size_t(4097), size_t(64) * 8 * 256}) {
    OpCase c = silu_case(n, kGpu);
    c.lo = -10.0f;
    c.hi = 10.0f;
    add(c);
    add(add_case(n, kGpu));
  }

  // ---- linear ----
  {
    Rng rng(7);
    const int cpu[][3] = {{1, 256, 1024}, {64, 1024, 256}, {1, 1024, 1024},
                          {5, 33, 17},    {3, 7, 4},       {2, 1, 1}};
    for (const auto& l : cpu)
      for (bool bias : {true, false}) add(linear_case(l[0], l[1], l[2], bias, kCpu));
    for (int n : {1, 2, 33, 64})
      for (const auto& io : {std::array<int, 2>{256, 512}, std::array<int, 2>{17, 3},
                             std::array<int, 2>{512, 512}, std::array<int, 2>{40, 1000}}) {
        OpCase c = linear_case(n, io[0], io[1], true, kGpu);
        c.ranges = {{"w", -0.1f, 0.1f}};
        add(c);
      }
    for (int i = 0; i < 20; ++i) {
      const int n = rng.pick({1, 2, 3, 4, 5, 9}), in = rng.pick({1, 5, 8, 16, 17, 31, 64, 100});
      const int out = rng.pick({1, 2, 3, 4, 5, 7, 16, 33});
      add(linear_case(n, in, out, i % 2 == 0, kCpu));
    }
    for (const auto& l : {std::array<int, 3>{1, 256, 1024}, std::array<int, 3>{1, 1024, 1024},
                          std::array<int, 3>{64, 1024, 1024}})
      add(linear_case(l[0], l[1], l[2], true, kAll));
  }

  // ---- attention ----
  {
    Rng rng(8);
    for (const AttentionShape& s : {AttentionShape{1, 128, 64, 4}, AttentionShape{1, 192, 16, 4},
                                    AttentionShape{2, 128, 64, 4}, AttentionShape{3, 12, 5, 3},
                                    AttentionShape{1, 8, 1, 2}, AttentionShape{2, 16, 17, 1},
                                    // AVX2's register head (t % 16 == 0, d % 4 == 0): d 4, t 32
                                    AttentionShape{2, 8, 32, 2}})
      add(attention_case(s, kCpu));
    for (const AttentionShape& s : {AttentionShape{1, 128, 64, 4}, AttentionShape{2, 192, 16, 4},
                                    AttentionShape{1, 64, 256, 1}, AttentionShape{3, 96, 70, 2},
                                    AttentionShape{64, 64, 16, 2}, AttentionShape{1, 256, 33, 2},
                                    AttentionShape{2, 40, 5, 5}}) {
      OpCase c = attention_case(s, kGpu);
      c.lo = -2.0f;
      c.hi = 2.0f;
      add(c);
    }
    for (int i = 0; i < 10; ++i) {
      const int heads = rng.pick({1, 2, 4});
      add(attention_case(AttentionShape{rng.pick({1, 2}), heads * rng.pick({1, 3, 8, 13}),
                                        rng.pick({1, 2, 7, 16, 33}), heads},
                         kCpu));
    }
    for (const AttentionShape& s : {AttentionShape{1, 128, 64, 4}, AttentionShape{1, 192, 16, 4}})
      add(attention_case(s, kAll));
  }

  // ---- concat / upsample (pure data movement: exact) ----
  {
    Rng rng(9);
    for (int iter = 0; iter < 10; ++iter) {
      const int n = rng.pick({1, 2, 5}), ca = rng.pick({0, 1, 8, 13}), cb = rng.pick({1, 3, 64});
      const int h = rng.pick({1, 3, 16}), w = rng.pick({1, 5, 16});
      add(concat_case(n, ca, cb, h * w, kCpu));
      add(upsample_case(n, cb, h, w, kCpu));
    }
    for (int n : {1, 3, 64}) {
      add(concat_case(n, 8, 24, 256, kGpu));
      add(upsample_case(n, 5, 7, 9, kGpu));
    }
  }

  // ---- RGB conversion (exact; test_ops also sweeps every rounding midpoint) ----
  add(rgb_to_u8_case(3, 5, 7, kGpu));
  add(rgb_to_u8_case(2, 7, 13, kCpu));
  add(rgb_to_u8_case(1, 128, 128, kAll));
  add(rgb_to_f32_case(3, 5, 7, kGpu));
  add(rgb_to_f32_case(2, 7, 13, kCpu));

  // ---- the sampler's per-world ops (ref and cuda only) ----
  // 8 x 16 x 16 + 3 values per world: not a multiple of 4, so the last Philox block is partial.
  add(scale_add_case(5, 8 * 16 * 16 + 3, true));
  add(scale_add_case(5, 8 * 16 * 16 + 3, false));
  add(scale_add_case(1, 1, true));
  add(fourier_case(5, 64));
  add(fourier_case(1, 3));
  add(normal_noise_case(5, 8 * 16 * 16 + 3, 3));
  add(normal_noise_case(2, 1, 0));

  // ---- reprojection (exact: ref, fast and cuda share ops/reproject_math.h) ----
  for (const auto& wh :
       {std::array<int, 2>{1, 1}, std::array<int, 2>{7, 5}, std::array<int, 2>{64, 48}})
    add(unproject_case(wh[0], wh[1], kGpu));
  add(unproject_case(128, 128, kAll));
  for (int64_t n : {int64_t(5), int64_t(1000), int64_t(20000)})
    for (float fp : {1.0f, 8.0f}) add(splat_case(n, 33, 17, fp, kGpu));
  add(splat_case(16384, 128, 128, 8.0f, kAll));
  return v;
}

// Cases of one op with a given use.
inline std::vector<OpCase> op_cases(wl::OpId op, unsigned use) {
  std::vector<OpCase> out;
  for (OpCase& c : op_cases())
    if (c.op() == op && (c.use & use)) out.push_back(std::move(c));
  return out;
}

}  // namespace wl_test
