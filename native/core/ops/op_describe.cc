#include "ops/op_describe.h"

#include <cstdio>
#include <type_traits>
#include <variant>

namespace wl {

std::string conv_shape_text(const ConvShape& s) {
  char b[128];
  std::snprintf(b, sizeof b, "n%d %dx%dx%d->%d k%d s%d", s.n, s.cin, s.h, s.w, s.cout, s.k,
                s.stride);
  return b;
}

namespace {

double conv_flops(const ConvShape& s) {
  return 2.0 * s.n * s.cout * s.out_h() * s.out_w() * double(s.cin) * s.k * s.k;
}

std::string count_text(const char* prefix, size_t n) { return prefix + std::to_string(n); }

}  // namespace

std::string op_shape_text(const OpCall& call) {
  return std::visit(
      [](const auto& a) -> std::string {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, Conv2dArgs>) {
          return conv_shape_text(a.s);
        } else if constexpr (std::is_same_v<A, GnSiluConv2dArgs>) {
          return conv_shape_text(a.cs);
        } else if constexpr (std::is_same_v<A, GroupNormArgs>) {
          return "n" + std::to_string(a.s.n) + " c" + std::to_string(a.s.c) + " hw" +
                 std::to_string(a.s.hw);
        } else if constexpr (std::is_same_v<A, LinearArgs>) {
          return "n" + std::to_string(a.n) + " " + std::to_string(a.in) + "->" +
                 std::to_string(a.out);
        } else if constexpr (std::is_same_v<A, AttentionArgs>) {
          return "n" + std::to_string(a.s.n) + " c" + std::to_string(a.s.c) + " t" +
                 std::to_string(a.s.t) + " h" + std::to_string(a.s.heads);
        } else if constexpr (std::is_same_v<A, SiluArgs> || std::is_same_v<A, AddArgs>) {
          return count_text("n", a.n);
        } else if constexpr (std::is_same_v<A, ConcatChannelsArgs>) {
          return "n" + std::to_string(a.n) + " c" + std::to_string(a.ca) + "+" +
                 std::to_string(a.cb) + " hw" + std::to_string(a.hw);
        } else if constexpr (std::is_same_v<A, UpsampleNearest2xArgs>) {
          return "n" + std::to_string(a.n) + " c" + std::to_string(a.c) + " " +
                 std::to_string(a.h) + "x" + std::to_string(a.w);
        } else if constexpr (std::is_same_v<A, RgbF32ToU8Args> ||
                             std::is_same_v<A, RgbU8ToF32Args>) {
          return "n" + std::to_string(a.n) + " " + std::to_string(a.h) + "x" + std::to_string(a.w);
        } else if constexpr (std::is_same_v<A, ScaleAddArgs> ||
                             std::is_same_v<A, NormalNoiseArgs>) {
          return "b" + std::to_string(a.batch) + " " + count_text("per", a.per);
        } else if constexpr (std::is_same_v<A, FourierArgs>) {
          return "b" + std::to_string(a.batch) + " half" + std::to_string(a.half);
        } else if constexpr (std::is_same_v<A, UnprojectArgs>) {
          return std::to_string(a.cam.width) + "x" + std::to_string(a.cam.height);
        } else if constexpr (std::is_same_v<A, SplatArgs>) {
          return count_text("n", size_t(a.n)) + " -> " + std::to_string(a.cam.width) + "x" +
                 std::to_string(a.cam.height);
        } else {
          static_assert(!sizeof(A), "op_shape_text: an op of the table has no text");
        }
      },
      call);
}

double op_flops(const OpCall& call) {
  return std::visit(
      [](const auto& a) -> double {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, Conv2dArgs>) {
          return conv_flops(a.s);
        } else if constexpr (std::is_same_v<A, GnSiluConv2dArgs>) {
          return conv_flops(a.cs);
        } else if constexpr (std::is_same_v<A, LinearArgs>) {
          return 2.0 * a.n * a.in * double(a.out);
        } else if constexpr (std::is_same_v<A, AttentionArgs>) {
          // Scores and the weighted sum: two t x t x c products per world.
          return 4.0 * a.s.n * double(a.s.t) * a.s.t * a.s.c;
        } else {
          return 0.0;
        }
      },
      call);
}

}  // namespace wl
