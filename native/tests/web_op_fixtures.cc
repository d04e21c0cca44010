// web_op_fixtures <dir>: writes the WebGPU kernels' parity fixtures, ref:: outputs of seeded
// random op calls, for the browser test (test/web/kernels.test.ts).
//
// <dir>/cases.json lists every case: its op, its shape and parameters in the field names of
// src/web/backend.ts (OpCall), and its tensors, each with its role ("in", "weight", "world",
// "out"), element type ("f32" or "u8"), element count and byte offset into <dir>/cases.bin. The
// inputs come from op_cases.h's bind() (the same seeded data the CPU and CUDA op tests use), the
// outputs from ref::. The cases cover every op of the web backend and every variant its kernels
// branch on (optional tensors, k 1/3/5, stride 1/2, pad 0/1/2, batches, the kernels' tile
// edges), at the default model's shapes or smaller ones of the same class; the whole set stays
// a few MB.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "op_cases.h"

namespace {

using namespace wl;
using namespace wl_test;

// The default model's convolutions keep outputs O(1): weights scaled by 1/sqrt(fan-in).
OpCase scaled(OpCase c, const ConvShape& s) {
  const float ws = 1.0f / std::sqrt(float(s.cin * s.k * s.k));
  c.ranges.push_back({"x", -2.0f, 2.0f});
  c.ranges.push_back({"w", -ws, ws});
  return c;
}

OpCase conv(const ConvShape& s, bool bias, bool residual) {
  return scaled(conv_case(s, bias, residual), s);
}

// GN -> SiLU -> conv; the adaptive scale/shift are optional here (the autoencoder has none).
OpCase gn_conv(const ConvShape& s, bool affine, bool adaptive, bool bias, bool residual) {
  OpCase c = scaled(gn_silu_conv_case(s, affine, bias, residual), s);
  if (!adaptive) {
    auto& a = std::get<GnSiluConv2dArgs>(c.call);
    a.gp.scale = nullptr;
    a.gp.shift = nullptr;
    c.detail += " no-adaptive";
  }
  return c;
}

std::vector<OpCase> web_cases() {
  std::vector<OpCase> v;
  auto add = [&](OpCase c) { v.push_back(std::move(c)); };

  // conv2d: the default model's denoiser (latent 16x16, channels 64/128/192, 1x1 qkv and skip
  // convs, stride-2 downsampling) and decoder (up to 128x128, 16 channels, RGB head), then tile
  // edges: odd sizes, channel counts off the tiles, batches, pad 0, k 5.
  add(conv({1, 72, 16, 16, 64, 3, 1, 1}, true, false));
  add(conv({1, 64, 16, 16, 64, 3, 1, 1}, true, true));
  add(conv({1, 64, 16, 16, 64, 3, 2, 1}, true, false));
  add(conv({1, 128, 8, 8, 384, 1, 1, 0}, true, false));
  add(conv({1, 192, 4, 4, 576, 1, 1, 0}, true, false));
  add(conv({1, 384, 4, 4, 64, 3, 1, 1}, true, true));
  add(conv({1, 256, 8, 8, 128, 3, 1, 1}, true, false));
  add(conv({1, 8, 16, 16, 128, 3, 1, 1}, true, false));
  add(conv({1, 32, 32, 32, 16, 3, 1, 1}, true, false));
  add(conv({1, 16, 64, 64, 16, 3, 1, 1}, true, true));
  add(conv({1, 16, 32, 32, 3, 3, 1, 1}, true, false));
  add(conv({2, 8, 15, 13, 17, 3, 1, 1}, false, false));
  add(conv({3, 40, 9, 11, 70, 3, 2, 1}, false, true));
  add(conv({2, 33, 16, 16, 65, 1, 1, 0}, true, true));
  add(conv({1, 64, 16, 16, 128, 1, 2, 0}, false, false));
  add(conv({1, 16, 10, 10, 24, 3, 1, 0}, true, false));
  add(conv({17, 20, 7, 5, 31, 3, 2, 1}, true, true));
  add(conv({4, 96, 4, 4, 96, 3, 1, 1}, true, true));
  add(conv({1, 6, 11, 12, 16, 5, 1, 2}, true, false));
  add(conv({1, 3, 1, 1, 1, 1, 1, 0}, false, false));

  // gn_silu_conv2d: the denoiser's ResBlocks (adaptive scale/shift), the decoder's (affine, no
  // adaptive), then edges: stride 2, 1x1, pad 0, batches, groups of one channel.
  add(gn_conv({1, 64, 16, 16, 64, 3, 1, 1}, true, true, true, false));
  add(gn_conv({1, 128, 8, 8, 128, 3, 1, 1}, true, true, true, true));
  add(gn_conv({1, 192, 4, 4, 192, 3, 1, 1}, true, true, true, false));
  add(gn_conv({1, 128, 16, 16, 128, 3, 1, 1}, true, false, true, false));
  add(gn_conv({1, 64, 32, 32, 64, 3, 1, 1}, true, false, true, true));
  add(gn_conv({1, 16, 128, 128, 16, 3, 1, 1}, true, false, true, false));
  add(gn_conv({2, 8, 15, 13, 17, 3, 1, 1}, false, true, true, true));
  add(gn_conv({3, 40, 9, 11, 70, 3, 2, 1}, true, true, false, false));
  add(gn_conv({2, 33, 16, 16, 65, 1, 1, 0}, false, false, true, true));
  add(gn_conv({1, 16, 10, 10, 24, 3, 1, 0}, true, true, false, true));
  add(gn_conv({4, 96, 4, 4, 96, 3, 1, 1}, true, true, true, false));
  add(gn_conv({1, 8, 9, 9, 5, 3, 1, 1}, false, false, false, false));

  // group_norm: every combination of the optional steps, offset inputs (near-constant groups
  // relative to the mean), the decoder's 128x128 planes, one-pixel planes, batches.
  {
    struct G {
      GroupNormShape s;
      bool affine, adaptive, silu;
      float offset;
    };
    const G cases[] = {
        {{1, 64, 256, 8, 1e-5f}, true, true, true, 0.0f},
        {{3, 6, 49, 3, 1e-5f}, false, false, false, 0.0f},
        {{2, 128, 64, 32, 1e-5f}, true, false, true, 0.0f},
        {{3, 12, 7, 3, 1e-5f}, true, true, true, 10.0f},
        {{5, 12, 1, 4, 1e-5f}, false, true, true, 0.0f},
        {{1, 16, 4096, 8, 1e-5f}, false, false, true, 0.0f},
        {{2, 192, 16, 8, 1e-6f}, true, true, false, 0.0f},
        {{4, 8, 17, 1, 1e-5f}, true, false, false, 0.0f},
    };
    for (const G& g : cases) add(group_norm_case(g.s, g.affine, g.adaptive, g.silu, g.offset));
  }

  // Elementwise: lengths off the workgroup size, SiLU's far tails (the head of x).
  for (size_t n : {size_t(1), size_t(1000), size_t(4097)}) add(silu_case(n));
  for (size_t n : {size_t(7), size_t(4097)}) add(add_case(n));

  // linear: the conditioning MLP's shapes (Fourier 64 -> 256 -> 256), batches, no bias.
  for (const auto& l : {std::array<int, 4>{1, 64, 256, 1}, std::array<int, 4>{1, 256, 256, 1},
                        std::array<int, 4>{33, 256, 256, 1}, std::array<int, 4>{2, 17, 3, 1},
                        std::array<int, 4>{5, 33, 17, 0}, std::array<int, 4>{4, 40, 1000, 1}}) {
    OpCase c = linear_case(l[0], l[1], l[2], l[3] != 0);
    c.ranges = {{"w", -0.1f, 0.1f}};
    add(c);
  }

  for (const auto& s : {std::array<int, 4>{1, 8, 24, 256}, std::array<int, 4>{3, 13, 64, 16},
                        std::array<int, 4>{2, 1, 3, 15}})
    add(concat_case(s[0], s[1], s[2], s[3]));
  for (const auto& s : {std::array<int, 4>{1, 5, 7, 9}, std::array<int, 4>{3, 16, 8, 8},
                        std::array<int, 4>{1, 64, 16, 16}})
    add(upsample_case(s[0], s[1], s[2], s[3]));

  // attention: the default model's levels (8x8 x 128 and 4x4 x 192, 4 heads), batches, one
  // token, long sequences, head dims that are not powers of two.
  for (const AttentionShape& s :
       {AttentionShape{1, 128, 64, 4}, AttentionShape{1, 192, 16, 4}, AttentionShape{2, 128, 64, 4},
        AttentionShape{3, 12, 5, 3}, AttentionShape{1, 8, 1, 2}, AttentionShape{1, 64, 256, 1},
        AttentionShape{3, 96, 70, 2}, AttentionShape{2, 40, 5, 5}})
    add(attention_case(s));

  // The sampler's per-world ops: more worlds than one call's parameter block holds (the backend
  // splits those calls).
  add(scale_add_case(5, 8 * 16 * 16 + 3, true));
  add(scale_add_case(5, 8 * 16 * 16 + 3, false));
  add(scale_add_case(1, 1, true));
  add(scale_add_case(300, 5, true));
  add(fourier_case(5, 32));
  add(fourier_case(1, 3));
  add(fourier_case(300, 4));

  add(rgb_to_u8_case(3, 5, 7));
  add(rgb_to_u8_case(1, 128, 128));
  add(rgb_to_f32_case(3, 5, 7));
  add(rgb_to_f32_case(2, 128, 128));
  return v;
}

// ---- JSON of a call's shape and parameters, in src/web/backend.ts's names ----

struct Json {
  std::string s;
  void key(const char* k) {
    if (!s.empty() && s.back() != '{' && s.back() != '[') s += ',';
    s += '"';
    s += k;
    s += "\":";
  }
  void num(const char* k, double v) {
    key(k);
    char b[40];
    std::snprintf(b, sizeof b, "%.9g", v);
    s += b;
  }
  void boolean(const char* k, bool v) {
    key(k);
    s += v ? "true" : "false";
  }
  void str(const char* k, const std::string& v) {
    key(k);
    s += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  void open(const char* k) {
    key(k);
    s += '{';
  }
  void close() { s += '}'; }
};

void conv_shape(Json& j, const char* k, const ConvShape& s) {
  j.open(k);
  j.num("n", s.n), j.num("cin", s.cin), j.num("h", s.h), j.num("w", s.w);
  j.num("cout", s.cout), j.num("k", s.k), j.num("stride", s.stride), j.num("pad", s.pad);
  j.close();
}
void gn_shape(Json& j, const char* k, const GroupNormShape& s) {
  j.open(k);
  j.num("n", s.n), j.num("c", s.c), j.num("hw", s.hw), j.num("groups", s.groups);
  j.num("eps", double(s.eps));
  j.close();
}

void call_params(Json& j, const OpCall& call) {
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, Conv2dArgs>) {
          conv_shape(j, "s", a.s);
        } else if constexpr (std::is_same_v<A, GroupNormArgs>) {
          gn_shape(j, "s", a.s);
          j.boolean("silu", a.p.silu);
        } else if constexpr (std::is_same_v<A, GnSiluConv2dArgs>) {
          gn_shape(j, "gs", a.gs);
          conv_shape(j, "cs", a.cs);
        } else if constexpr (std::is_same_v<A, SiluArgs> || std::is_same_v<A, AddArgs>) {
          j.num("n", double(a.n));
        } else if constexpr (std::is_same_v<A, LinearArgs>) {
          j.num("n", a.n), j.num("in", a.in), j.num("out", a.out);
        } else if constexpr (std::is_same_v<A, ConcatChannelsArgs>) {
          j.num("n", a.n), j.num("ca", a.ca), j.num("cb", a.cb), j.num("hw", a.hw);
        } else if constexpr (std::is_same_v<A, UpsampleNearest2xArgs>) {
          j.num("n", a.n), j.num("c", a.c), j.num("h", a.h), j.num("w", a.w);
        } else if constexpr (std::is_same_v<A, AttentionArgs>) {
          j.open("s");
          j.num("n", a.s.n), j.num("c", a.s.c), j.num("t", a.s.t), j.num("heads", a.s.heads);
          j.close();
        } else if constexpr (std::is_same_v<A, ScaleAddArgs>) {
          j.num("batch", a.batch), j.num("per", double(a.per));
        } else if constexpr (std::is_same_v<A, FourierArgs>) {
          j.num("batch", a.batch), j.num("half", a.half);
        } else if constexpr (std::is_same_v<A, RgbF32ToU8Args> ||
                             std::is_same_v<A, RgbU8ToF32Args>) {
          j.num("n", a.n), j.num("h", a.h), j.num("w", a.w);
        } else {
          throw std::runtime_error("web_op_fixtures: no web kernel for this op");
        }
      },
      call);
}

const char* role_name(TensorRole r) {
  switch (r) {
    case TensorRole::In: return "in";
    case TensorRole::Out: return "out";
    case TensorRole::ConvWeight: return "weight";
    case TensorRole::PerWorld: return "world";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: web_op_fixtures <output dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<uint8_t> bin;
  Json j;
  j.s = "{\"cases\":[";
  bool first = true;
  uint64_t seed = 1;
  for (const OpCase& c : web_cases()) {
    Rng rng(seed++);
    BoundCase b = bind(c, rng);
    ref_outputs(b);  // fills b's output tensors in place
    if (!first) j.s += ',';
    first = false;
    j.s += '{';
    j.str("name", c.name());
    j.str("op", op_name(c.op()));
    call_params(j, b.call);
    j.key("tensors");
    j.s += '[';
    bool first_tensor = true;
    for (const HostTensor& t : b.tensors) {
      if (!t.elem_bytes) continue;  // an absent optional tensor
      while (bin.size() % 4) bin.push_back(0);
      if (!first_tensor) j.s += ',';
      first_tensor = false;
      j.s += '{';
      j.str("name", t.desc.name);
      j.str("role", role_name(t.desc.role));
      j.str("type", t.elem_bytes == 1 ? "u8" : "f32");
      j.num("count", double(t.desc.count));
      j.num("offset", double(bin.size()));
      if (t.desc.role == TensorRole::ConvWeight)
        j.num("cout", t.desc.cout), j.num("cin", t.desc.cin), j.num("k", t.desc.k);
      j.s += '}';
      const auto* p = static_cast<const uint8_t*>(t.data());
      bin.insert(bin.end(), p, p + t.bytes());
    }
    j.s += "]}";
  }
  j.s += "]}\n";
  const std::vector<uint8_t> json(j.s.begin(), j.s.end());
  const std::pair<const char*, const std::vector<uint8_t>*> files[] = {{"cases.json", &json},
                                                                       {"cases.bin", &bin}};
  for (const auto& [name, bytes] : files) {
    if (!write_file(dir + "/" + name, *bytes)) {
      std::fprintf(stderr, "web_op_fixtures: cannot write %s/%s: %s\n", dir.c_str(), name,
                   std::strerror(errno));
      return 1;
    }
  }
  std::printf("web_op_fixtures: %zu bytes of tensors in %s\n", bin.size(), dir.c_str());
  return 0;
}
