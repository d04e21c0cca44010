// The CPU implementation of the Backend seam: host memory, wl::fast kernels on a persistent
// thread pool, ISA chosen at construction (detect_isa(), which honours WL_ISA).
#pragma once
#include <memory>

#include "model/backend.h"

namespace wl {

// threads <= 0: hardware concurrency. WL_KERNELS=ref in the environment selects the plain-loop
// reference ops instead of wl::fast (slow; isolates kernel bugs from network bugs).
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace wl
