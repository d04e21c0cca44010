// Reference conv2d: the definition (PyTorch nn.Conv2d cross-correlation, zero padding), plain
// loops with double accumulation so it is the most accurate thing the fast kernels meet.
#include <vector>

#include "ops/ops.h"

namespace wl {
namespace ref {

void conv2d(const ConvShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int n = 0; n < s.n; ++n) {
    for (int co = 0; co < s.cout; ++co) {
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          double acc = ep.bias ? ep.bias[co] : 0.0;
          for (int ci = 0; ci < s.cin; ++ci) {
            for (int ky = 0; ky < s.k; ++ky) {
              const int iy = oy * s.stride - s.pad + ky;
              if (iy < 0 || iy >= s.h) continue;
              for (int kx = 0; kx < s.k; ++kx) {
                const int ix = ox * s.stride - s.pad + kx;
                if (ix < 0 || ix >= s.w) continue;
                acc += double(x[((size_t(n) * s.cin + ci) * s.h + iy) * s.w + ix]) *
                       double(w[((size_t(co) * s.cin + ci) * s.k + ky) * s.k + kx]);
              }
            }
          }
          const size_t o = ((size_t(n) * s.cout + co) * oh + oy) * ow + ox;
          if (ep.residual) acc += ep.residual[o];
          y[o] = float(acc);
        }
      }
    }
  }
}

void gn_silu_conv2d(const GroupNormShape& gs, const GroupNormParams& gp, const ConvShape& cs,
                    const float* x, const float* w, const ConvEpilogue& ep, float* y) {
  std::vector<float> t(size_t(gs.n) * gs.c * gs.hw);
  GroupNormParams p = gp;
  p.silu = true;
  group_norm(gs, x, p, t.data());
  conv2d(cs, t.data(), w, ep, y);
}

}  // namespace ref
}  // namespace wl
