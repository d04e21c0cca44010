// Each op's arguments as one plain struct. A backend records these (the CUDA backend keys its
// graph cache on them), the dispatchers (ops/op_run.h, cuda/cuda_ops.h) hand them to ref::,
// fast:: and cuda::, and the op tests and bench_ops (native/tests/op_cases.h) bind their buffers
// through tensors(): one list per op of what each pointer holds and how many values, so a
// harness can fill, pack, upload and compare any op without knowing it.
//
// Semantics and shapes are those of ops/ops.h. Pointers named *_host in the Backend methods
// (per-world values: Euler coefficients, Fourier times, Philox keys, memory masks) are
// TensorRole::PerWorld here: host memory for the CPU, staged per frame by the CUDA backend.
#pragma once
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "ops/ops.h"
#include "ops/reproject.h"

namespace wl {

// Equality of the shape and parameter structs of ops.h, field by field: records are compared
// by value (not memcmp), so padding and float encodings never matter.
inline bool operator==(const ConvShape& a, const ConvShape& b) {
  return std::tie(a.n, a.cin, a.h, a.w, a.cout, a.k, a.stride, a.pad) ==
         std::tie(b.n, b.cin, b.h, b.w, b.cout, b.k, b.stride, b.pad);
}
inline bool operator==(const ConvEpilogue& a, const ConvEpilogue& b) {
  return a.bias == b.bias && a.residual == b.residual;
}
inline bool operator==(const GroupNormShape& a, const GroupNormShape& b) {
  return std::tie(a.n, a.c, a.hw, a.groups, a.eps) == std::tie(b.n, b.c, b.hw, b.groups, b.eps);
}
inline bool operator==(const GroupNormParams& a, const GroupNormParams& b) {
  return std::tie(a.gamma, a.beta, a.scale, a.shift, a.silu) ==
         std::tie(b.gamma, b.beta, b.scale, b.shift, b.silu);
}
inline bool operator==(const AttentionShape& a, const AttentionShape& b) {
  return std::tie(a.n, a.c, a.t, a.heads) == std::tie(b.n, b.c, b.t, b.heads);
}

inline bool operator==(const PinholeCamera& a, const PinholeCamera& b) {
  if (std::tie(a.width, a.height, a.fx, a.fy, a.cx, a.cy) !=
      std::tie(b.width, b.height, b.fx, b.fy, b.cx, b.cy))
    return false;
  for (int i = 0; i < 12; ++i)
    if (a.world_to_camera[i] != b.world_to_camera[i]) return false;
  return true;
}
inline bool operator==(const SplatParams& a, const SplatParams& b) {
  return a.near_z == b.near_z && a.max_footprint == b.max_footprint;
}

enum class TensorRole {
  In,          // read
  Out,         // written (compared by the tests)
  ConvWeight,  // [cout, cin, k, k]; each backend packs it into its own layout
  PerWorld,    // [batch] host scalars per world (see above)
};

struct TensorDesc {
  const char* name;
  size_t count;  // elements
  TensorRole role;
  int cout = 0, cin = 0, k = 0;  // ConvWeight only
};

// tensors(f) calls f(TensorDesc, pointer field&) for every pointer argument, optional ones
// included (a null pointer means "absent").

struct Conv2dArgs {
  ConvShape s;
  const float* x;
  const float* w;
  ConvEpilogue ep;
  float* y;
  auto fields() const { return std::tie(s, x, w, ep, y); }
  size_t out_count() const { return size_t(s.n) * s.cout * s.out_h() * s.out_w(); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(s.n) * s.cin * s.h * s.w, TensorRole::In}, x);
    f(TensorDesc{"w", size_t(s.cout) * s.cin * s.k * s.k, TensorRole::ConvWeight, s.cout, s.cin,
                 s.k},
      w);
    f(TensorDesc{"bias", size_t(s.cout), TensorRole::In}, ep.bias);
    f(TensorDesc{"residual", out_count(), TensorRole::In}, ep.residual);
    f(TensorDesc{"y", out_count(), TensorRole::Out}, y);
  }
};

struct GroupNormArgs {
  GroupNormShape s;
  const float* x;
  GroupNormParams p;
  float* y;
  auto fields() const { return std::tie(s, x, p, y); }
  template <class F>
  void tensors(F&& f) {
    const size_t total = size_t(s.n) * s.c * s.hw;
    f(TensorDesc{"x", total, TensorRole::In}, x);
    f(TensorDesc{"gamma", size_t(s.c), TensorRole::In}, p.gamma);
    f(TensorDesc{"beta", size_t(s.c), TensorRole::In}, p.beta);
    f(TensorDesc{"scale", size_t(s.n) * s.c, TensorRole::In}, p.scale);
    f(TensorDesc{"shift", size_t(s.n) * s.c, TensorRole::In}, p.shift);
    f(TensorDesc{"y", total, TensorRole::Out}, y);
  }
};

// gp.silu is implied (the op is GN -> SiLU -> conv); backends ignore the field.
struct GnSiluConv2dArgs {
  GroupNormShape gs;
  GroupNormParams gp;
  ConvShape cs;
  const float* x;
  const float* w;
  ConvEpilogue ep;
  float* y;
  auto fields() const { return std::tie(gs, gp, cs, x, w, ep, y); }
  size_t out_count() const { return size_t(cs.n) * cs.cout * cs.out_h() * cs.out_w(); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(cs.n) * cs.cin * cs.h * cs.w, TensorRole::In}, x);
    f(TensorDesc{"gamma", size_t(gs.c), TensorRole::In}, gp.gamma);
    f(TensorDesc{"beta", size_t(gs.c), TensorRole::In}, gp.beta);
    f(TensorDesc{"scale", size_t(gs.n) * gs.c, TensorRole::In}, gp.scale);
    f(TensorDesc{"shift", size_t(gs.n) * gs.c, TensorRole::In}, gp.shift);
    f(TensorDesc{"w", size_t(cs.cout) * cs.cin * cs.k * cs.k, TensorRole::ConvWeight, cs.cout,
                 cs.cin, cs.k},
      w);
    f(TensorDesc{"bias", size_t(cs.cout), TensorRole::In}, ep.bias);
    f(TensorDesc{"residual", out_count(), TensorRole::In}, ep.residual);
    f(TensorDesc{"y", out_count(), TensorRole::Out}, y);
  }
};

struct SiluArgs {
  size_t n;
  const float* x;
  float* y;
  auto fields() const { return std::tie(n, x, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", n, TensorRole::In}, x);
    f(TensorDesc{"y", n, TensorRole::Out}, y);
  }
};

struct AddArgs {
  size_t n;
  const float* a;
  const float* b;
  float* y;
  auto fields() const { return std::tie(n, a, b, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"a", n, TensorRole::In}, a);
    f(TensorDesc{"b", n, TensorRole::In}, b);
    f(TensorDesc{"y", n, TensorRole::Out}, y);
  }
};

// w is [out, in] unpacked (PyTorch layout) on every backend.
struct LinearArgs {
  int n, in, out;
  const float* x;
  const float* w;
  const float* b;
  float* y;
  auto fields() const { return std::tie(n, in, out, x, w, b, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(n) * in, TensorRole::In}, x);
    f(TensorDesc{"w", size_t(out) * in, TensorRole::In}, w);
    f(TensorDesc{"b", size_t(out), TensorRole::In}, b);
    f(TensorDesc{"y", size_t(n) * out, TensorRole::Out}, y);
  }
};

struct ConcatChannelsArgs {
  int n, ca, cb, hw;
  const float* a;
  const float* b;
  float* y;
  auto fields() const { return std::tie(n, ca, cb, hw, a, b, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"a", size_t(n) * ca * hw, TensorRole::In}, a);
    f(TensorDesc{"b", size_t(n) * cb * hw, TensorRole::In}, b);
    f(TensorDesc{"y", size_t(n) * (ca + cb) * hw, TensorRole::Out}, y);
  }
};

struct UpsampleNearest2xArgs {
  int n, c, h, w;
  const float* x;
  float* y;
  auto fields() const { return std::tie(n, c, h, w, x, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(n) * c * h * w, TensorRole::In}, x);
    f(TensorDesc{"y", size_t(n) * c * 4 * h * w, TensorRole::Out}, y);
  }
};

struct AttentionArgs {
  AttentionShape s;
  const float* qkv;
  float* y;
  auto fields() const { return std::tie(s, qkv, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"qkv", size_t(s.n) * 3 * s.c * s.t, TensorRole::In}, qkv);
    f(TensorDesc{"y", size_t(s.n) * s.c * s.t, TensorRole::Out}, y);
  }
};

struct RgbF32ToU8Args {
  int n, h, w;
  const float* x;
  uint8_t* y;
  auto fields() const { return std::tie(n, h, w, x, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(n) * 3 * h * w, TensorRole::In}, x);
    f(TensorDesc{"y", size_t(n) * h * w * 3, TensorRole::Out}, y);
  }
};

struct RgbU8ToF32Args {
  int n, h, w;
  const uint8_t* x;
  float* y;
  auto fields() const { return std::tie(n, h, w, x, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"x", size_t(n) * h * w * 3, TensorRole::In}, x);
    f(TensorDesc{"y", size_t(n) * 3 * h * w, TensorRole::Out}, y);
  }
};

// y[b, i] = a[b] * x[b, i] + c[b] * z[b, i]; z (and then c) may be null; y may alias x or z.
struct ScaleAddArgs {
  int batch;
  size_t per;
  const float* a;
  const float* x;
  const float* c;
  const float* z;
  float* y;
  auto fields() const { return std::tie(batch, per, a, x, c, z, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"a", size_t(batch), TensorRole::PerWorld}, a);
    f(TensorDesc{"x", size_t(batch) * per, TensorRole::In}, x);
    f(TensorDesc{"c", size_t(batch), TensorRole::PerWorld}, c);
    f(TensorDesc{"z", size_t(batch) * per, TensorRole::In}, z);
    f(TensorDesc{"y", size_t(batch) * per, TensorRole::Out}, y);
  }
};

// y[b, j] = cos(2 pi t[b] f[j]), y[b, half + j] = sin(2 pi t[b] f[j]).
struct FourierArgs {
  int batch, half;
  const float* t;
  const float* freqs;
  float* y;
  auto fields() const { return std::tie(batch, half, t, freqs, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"t", size_t(batch), TensorRole::PerWorld}, t);
    f(TensorDesc{"freqs", size_t(half), TensorRole::In}, freqs);
    f(TensorDesc{"y", size_t(batch) * 2 * half, TensorRole::Out}, y);
  }
};

// Standard normals of Philox(seed[b], frame[b], step) for world b (model/philox.h).
struct NormalNoiseArgs {
  int batch;
  size_t per;
  const uint64_t* seed;
  const uint64_t* frame;
  uint32_t step;
  float* y;
  auto fields() const { return std::tie(batch, per, seed, frame, step, y); }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"seed", size_t(batch), TensorRole::PerWorld}, seed);
    f(TensorDesc{"frame", size_t(batch), TensorRole::PerWorld}, frame);
    f(TensorDesc{"y", size_t(batch) * per, TensorRole::Out}, y);
  }
};

// A frame's depth -> the world point and patch size of every pixel (ops/reproject.h).
struct UnprojectArgs {
  PinholeCamera cam;
  const float* depth;
  float* xyz;
  float* size;
  auto fields() const { return std::tie(cam, depth, xyz, size); }
  size_t pixels() const { return size_t(cam.width) * cam.height; }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"depth", pixels(), TensorRole::In}, depth);
    f(TensorDesc{"xyz", pixels() * 3, TensorRole::Out}, xyz);
    f(TensorDesc{"size", pixels(), TensorRole::Out}, size);
  }
};

// n points -> image, depth and validity mask of a camera, z-buffered (ops/reproject.h).
struct SplatArgs {
  PinholeCamera cam;
  SplatParams p;
  int64_t n;
  const float* xyz;
  const float* size;
  const uint8_t* rgb;
  uint8_t* out_rgb;
  float* out_depth;
  uint8_t* out_mask;
  auto fields() const { return std::tie(cam, p, n, xyz, size, rgb, out_rgb, out_depth, out_mask); }
  size_t pixels() const { return size_t(cam.width) * cam.height; }
  template <class F>
  void tensors(F&& f) {
    f(TensorDesc{"xyz", size_t(n) * 3, TensorRole::In}, xyz);
    f(TensorDesc{"size", size_t(n), TensorRole::In}, size);
    f(TensorDesc{"rgb", size_t(n) * 3, TensorRole::In}, rgb);
    f(TensorDesc{"out_rgb", pixels() * 3, TensorRole::Out}, out_rgb);
    f(TensorDesc{"out_depth", pixels(), TensorRole::Out}, out_depth);
    f(TensorDesc{"out_mask", pixels(), TensorRole::Out}, out_mask);
  }
};

}  // namespace wl
