#include "model/backend_factory.h"

#include "capi/error.h"
#include "model/cpu_backend.h"

namespace wl {

std::unique_ptr<Backend> make_backend(wl_backend kind, int threads) {
  switch (kind) {
    case WL_BACKEND_CPU:
    case WL_BACKEND_AUTO:  // no CUDA backend is registered yet, so AUTO is the CPU
      return make_cpu_backend(threads);
    case WL_BACKEND_CUDA:
      throw Error(WL_ERR_UNSUPPORTED, "CUDA model backend is not available in this build");
  }
  throw Error(WL_ERR_INVALID_ARGUMENT,
              "options.backend: unknown backend " + std::to_string(int(kind)));
}

}  // namespace wl
