// Shared helpers of the .cu files: stream cast, launch-error check, grid sizing.
#pragma once
#include <cuda_runtime.h>

#include "cuda/device.h"

namespace wl {
namespace cuda {

inline cudaStream_t stream_of(void* s) { return static_cast<cudaStream_t>(s); }

// Launch errors (bad configuration, missing kernel image) surface here, right after the launch;
// errors during execution surface at the next synchronisation.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline unsigned blocks_for(size_t n, unsigned threads) {
  size_t b = (n + threads - 1) / threads;
  // Grid-stride loops cover the rest; this cap keeps the grid inside limits on huge tensors.
  return static_cast<unsigned>(b < 65535u * 8u ? (b ? b : 1) : 65535u * 8u);
}

__device__ __forceinline__ float silu_f(float v) { return v / (1.0f + expf(-v)); }

}  // namespace cuda
}  // namespace wl
