// GroupNorm folded into one affine pair per (sample, channel): y = ca*x + cb. Produced by
// gn_coeffs (group_norm.cu) and consumed by the normalising kernels.
#pragma once
#include <cstddef>

#include "capi/error.h"
#include "cuda/cuda_ops.h"

namespace wl {
namespace cuda {

// Bytes for ca and cb ([n*c] floats each), rounded so what follows stays 256-byte aligned.
inline size_t gn_coeffs_bytes(int n, int c) {
  size_t b = size_t(2) * n * c * sizeof(float);
  return (b + 255) / 256 * 256;
}

void gn_coeffs(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
               float* ca, float* cb);

}  // namespace cuda
}  // namespace wl
