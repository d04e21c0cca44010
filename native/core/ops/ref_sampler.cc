// Reference versions of the sampler's per-world ops. They are also what the CPU backend runs
// (the op table lists no fast:: version): the values are tiny (batch x latent) and these loops
// fix the rounding the CUDA twins match.
#include <cmath>

#include "model/philox.h"
#include "ops/ops.h"

namespace wl {
namespace ref {

void scale_add(int batch, size_t per, const float* a, const float* x, const float* c,
               const float* z, float* y) {
  for (int b = 0; b < batch; ++b) {
    const size_t o = size_t(b) * per;
    const float ab = a[b];
    if (z) {
      const float cb = c[b];
      for (size_t i = 0; i < per; ++i) y[o + i] = ab * x[o + i] + cb * z[o + i];
    } else {
      for (size_t i = 0; i < per; ++i) y[o + i] = ab * x[o + i];
    }
  }
}

void fourier(int batch, int half, const float* t, const float* freqs, float* y) {
  // Same rounding as PyTorch's `2 * math.pi * t * f` in f32: (f32(2 pi) * t) * f.
  const float two_pi = float(6.283185307179586);
  for (int b = 0; b < batch; ++b) {
    const float tb = two_pi * t[b];
    float* row = y + size_t(b) * 2 * half;
    for (int j = 0; j < half; ++j) {
      const float arg = tb * freqs[j];
      row[j] = std::cos(arg);
      row[half + j] = std::sin(arg);
    }
  }
}

void normal_noise(int batch, size_t per, const uint64_t* seed, const uint64_t* frame, uint32_t step,
                  float* y) {
  for (int b = 0; b < batch; ++b) philox_normals(seed[b], frame[b], step, per, y + size_t(b) * per);
}

}  // namespace ref
}  // namespace wl
