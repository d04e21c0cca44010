// GroupNorm folded into one affine pair per (sample, channel): y = ca*x + cb. Produced by
// gn_coeffs (group_norm.cu) and consumed by the normalising kernels.
#pragma once
#include <cstddef>

#include "capi/error.h"
#include "cuda/cuda_ops.h"

namespace wl {
namespace cuda {

// Scratch for gn_coeffs: ca and cb ([n*c] floats each) then, when the statistics are split
// across CTAs, the per-part (mean, M2) pairs; 256-byte aligned so what follows stays aligned.
size_t gn_coeffs_bytes(const GroupNormShape& s);

// Computes the pairs into `mem` (gn_coeffs_bytes) and returns where ca and cb are. `counters`:
// the zero-initialised arrival counters at the start of ctx.scratch (left zero, cuda_ops.h).
void gn_coeffs(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
               void* mem, int* counters, float** ca, float** cb);

}  // namespace cuda
}  // namespace wl
