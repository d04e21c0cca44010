// Whether this build's device code can run on the current GPU: a build for sm_90 on an older card
// has no kernel image, and finding that out here gives a clear error instead of a failed launch.
#include <cuda_runtime.h>

namespace wl {
namespace cuda {
namespace {
__global__ void probe_kernel() {}
}  // namespace

int probe_kernel_image() {
  cudaFuncAttributes attr;
  return static_cast<int>(cudaFuncGetAttributes(&attr, probe_kernel));
}

}  // namespace cuda
}  // namespace wl
