// Shared plumbing of the fast op drivers: threading over the optional pool, per-worker scratch
// slots and argument checks that throw wl::Error instead of corrupting memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "capi/error.h"
#include "ops/ops.h"

namespace wl {
namespace ops_detail {

inline int threads_of(const OpCtx& ctx) { return ctx.pool ? ctx.pool->size() : 1; }

template <class F>
void parallel(const OpCtx& ctx, int64_t n, int64_t grain, const F& f) {
  if (ctx.pool) {
    ctx.pool->parallel_for(n, grain, f);
  } else if (n > 0) {
    f(int64_t(0), n, 0);
  }
}

// Each worker's slot is `slot_floats` long and starts 64-byte aligned; the +16 floats of
// slack per slot (counted by the *_scratch_floats functions) pay for the alignment.
constexpr size_t kSlotSlack = 16;
inline float* slot(const OpCtx& ctx, size_t slot_floats, int worker) {
  float* base = ctx.scratch + size_t(worker) * (slot_floats + kSlotSlack);
  const uintptr_t p = reinterpret_cast<uintptr_t>(base);
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
}

// Messages are built only on failure: the checks run on every call of the hot path, which
// must not allocate.
inline void require(bool ok, const char* op, const char* what) {
  if (!ok) throw Error(WL_ERR_INVALID_ARGUMENT, std::string(op) + ": " + what);
}

inline void require_scratch(const OpCtx& ctx, size_t need, const char* op) {
  if (need == 0 || (ctx.scratch != nullptr && ctx.scratch_floats >= need)) return;
  throw Error(WL_ERR_INVALID_ARGUMENT, std::string(op) + ": scratch of " +
                                           std::to_string(ctx.scratch ? ctx.scratch_floats : 0) +
                                           " floats, needs " + std::to_string(need));
}

inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

}  // namespace ops_detail
}  // namespace wl
