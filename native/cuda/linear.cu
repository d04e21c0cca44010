// nn.Linear on the GPU: one warp per output feature, lanes split the input dimension, and the
// warp walks the batch so each weight row is read from DRAM once. The conditioning MLP is tiny
// (a few hundred features), so this is latency- not throughput-bound and stays in f32.
#include "capi/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

constexpr int kWarps = 8;

__global__ void __launch_bounds__(32 * kWarps)
    linear_kernel(int n, int in, int out, const float* __restrict__ x, const float* __restrict__ w,
                  const float* __restrict__ b, float* __restrict__ y) {
  const int o = blockIdx.x * kWarps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (o >= out) return;
  const float* wr = w + size_t(o) * in;
  for (int s = 0; s < n; ++s) {
    const float* xr = x + size_t(s) * in;
    float acc = 0.0f;
    for (int i = lane; i < in; i += 32) acc = fmaf(__ldg(wr + i), xr[i], acc);
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) y[size_t(s) * out + o] = acc + (b ? b[o] : 0.0f);
  }
}

}  // namespace

void linear(const Ctx& ctx, int n, int in, int out, const float* x, const float* w,
            const float* b, float* y) {
  if (n < 0 || in <= 0 || out <= 0) throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::linear: bad shape");
  if (n == 0) return;
  linear_kernel<<<(out + kWarps - 1) / kWarps, 32 * kWarps, 0, stream_of(ctx.stream)>>>(n, in, out,
                                                                                       x, w, b, y);
  check_launch("linear_kernel");
}

}  // namespace cuda
}  // namespace wl
