// The CUDA implementation of the network backend seam (model/backend.h).
//
// Only compiled when nvcc is found (WL_HAVE_CUDA=1); callers guard with #if WL_HAVE_CUDA.
// Wiring in the model loader (capi_model.cc):
//   std::string why;
//   if (!wl::cuda::cuda_backend_usable(&why)) throw wl::Error(WL_ERR_UNSUPPORTED, why);
//   backend = wl::cuda::make_cuda_backend(wl::cuda::CudaBackendOptions::from_env());
#pragma once
#include <memory>
#include <string>

#include "cuda/cuda_ops.h"
#include "model/backend.h"

namespace wl {
namespace cuda {

struct CudaBackendOptions {
  Precision precision = Precision::BF16;
  // Replay each distinct op sequence (a frame: N denoiser steps + decode) as one CUDA graph.
  bool graphs = true;
  int device = 0;
  // Time every op with events (forces graphs off) and print a per-op-kind JSON line to stderr
  // when the backend is destroyed: {"bench":"cuda_op_profile","ops":{"conv2d":{...}},...}.
  bool profile = false;
  // WL_CUDA_PRECISION=f32|bf16, WL_CUDA_GRAPHS=0|1, WL_CUDA_DEVICE=<index>, WL_CUDA_PROFILE=0|1
  // override the defaults.
  // An unknown value throws wl::Error(WL_ERR_INVALID_ARGUMENT) naming the variable.
  static CudaBackendOptions from_env();
};

// False (with "no CUDA device: <cudaGetErrorString>" or why the device cannot run this build)
// when no usable GPU exists. Never throws.
bool cuda_backend_usable(std::string* why);

// Throws wl::Error(WL_ERR_UNSUPPORTED, ...) when no usable device exists.
std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& opts);

}  // namespace cuda
}  // namespace wl
