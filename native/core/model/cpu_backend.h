// The CPU implementation of the Backend seam: host memory, wl::fast kernels on a persistent
// thread pool, ISA chosen at construction (detect_isa(), which honours WL_ISA).
#pragma once
#include <memory>

#include "model/backend.h"

namespace wl {

// threads <= 0: hardware concurrency. WL_KERNELS=ref in the environment selects the plain-loop
// reference ops instead of wl::fast (slow; isolates kernel bugs from network bugs).
// WL_CONV_BF16=1 multiplies the convolutions in bf16 where the CPU has AVX-512 BF16
// (OpCtx::conv; off by default, docs/kernels.md); describe_json reports "conv":"bf16"|"f32".
std::unique_ptr<Backend> make_cpu_backend(int threads);

}  // namespace wl
