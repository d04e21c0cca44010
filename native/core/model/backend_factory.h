// Picks the Backend implementation for wl_model_options.backend. The CUDA backend registers here
// when it is built (WL_HAVE_CUDA).
#pragma once
#include <memory>

#include "model/backend.h"
#include "worldloop/wl_model.h"

namespace wl {

// CPU: always. CUDA: throws wl::Error(WL_ERR_UNSUPPORTED) when this build or machine cannot run
// it. AUTO: CUDA when a device works, else CPU.
std::unique_ptr<Backend> make_backend(wl_backend kind, int threads);

}  // namespace wl
