#include "model/backend_factory.h"

#include <string>

#include "capi/error.h"
#include "model/cpu_backend.h"
#if WL_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace wl {

std::unique_ptr<Backend> make_backend(wl_backend kind, int threads) {
  switch (kind) {
    case WL_BACKEND_CPU:
      return make_cpu_backend(threads);
    case WL_BACKEND_CUDA: {
#if WL_HAVE_CUDA
      std::string why;
      if (!cuda::cuda_backend_usable(&why)) throw Error(WL_ERR_UNSUPPORTED, why);
      return cuda::make_cuda_backend(cuda::CudaBackendOptions::from_env());
#else
      throw Error(WL_ERR_UNSUPPORTED, "this build has no CUDA backend (nvcc was not found)");
#endif
    }
    case WL_BACKEND_AUTO: {
#if WL_HAVE_CUDA
      std::string why;
      if (cuda::cuda_backend_usable(&why))
        return cuda::make_cuda_backend(cuda::CudaBackendOptions::from_env());
#endif
      return make_cpu_backend(threads);
    }
  }
  throw Error(WL_ERR_INVALID_ARGUMENT,
              "options.backend: unknown backend " + std::to_string(int(kind)));
}

}  // namespace wl
