// CUDA twins of the reprojection ops (ops/reproject.h): same semantics and bit-identical results
// (the per-point arithmetic is ops/reproject_math.h, compiled with --fmad=false). Every pointer is
// a device pointer except the camera and parameters (passed by value into the kernels); calls only
// enqueue work on ctx.stream and allocate nothing.
//
// Not yet in cuda_ops.h: kept apart while the op set is being restructured into one op table.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "ops/reproject.h"

namespace wl {
namespace cuda {

void unproject(const Ctx& ctx, const PinholeCamera& cam, const float* depth, float* xyz,
               float* size);
// Scratch: one 64-bit z-buffer key per output pixel, from ctx.scratch at offset
// kSplitCounterBytes (the split-K counters before it are left alone).
size_t splat_scratch_bytes(int width, int height);
void splat(const Ctx& ctx, const PinholeCamera& cam, const SplatParams& p, int64_t n,
           const float* xyz, const float* size, const uint8_t* rgb, uint8_t* out_rgb,
           float* out_depth, uint8_t* out_mask);

}  // namespace cuda
}  // namespace wl
