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

// Several Linears over the same input in one launch: global warp w belongs to the job whose
// [first_warp, first_warp + out) range holds it.
__global__ void __launch_bounds__(32 * kWarps)
    linear_batch_kernel(LinearBatch jobs) {
  const int gw = blockIdx.x * kWarps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  int j = 0, first = 0;
  while (j < jobs.count && gw >= first + jobs.job[j].out) first += jobs.job[j++].out;
  if (j >= jobs.count) return;
  const LinearJob& job = jobs.job[j];
  const int o = gw - first, in = jobs.in;
  const float* wr = job.w + size_t(o) * in;
  for (int s = 0; s < jobs.n; ++s) {
    const float* xr = jobs.x + size_t(s) * in;
    float acc = 0.0f;
    for (int i = lane; i < in; i += 32) acc = fmaf(__ldg(wr + i), xr[i], acc);
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) job.y[size_t(s) * job.out + o] = acc + (job.b ? job.b[o] : 0.0f);
  }
}

}  // namespace

void linear_batch(const Ctx& ctx, const LinearBatch& jobs) {
  if (jobs.count < 1 || jobs.count > kMaxLinearJobs || jobs.n < 0 || jobs.in <= 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::linear_batch: bad job list");
  }
  if (jobs.n == 0) return;
  long warps = 0;
  for (int j = 0; j < jobs.count; ++j) {
    if (jobs.job[j].out <= 0) throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::linear_batch: bad out");
    warps += jobs.job[j].out;
  }
  linear_batch_kernel<<<unsigned((warps + kWarps - 1) / kWarps), 32 * kWarps, 0,
                        stream_of(ctx.stream)>>>(jobs);
  check_launch("linear_batch_kernel");
}

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
