// Run-time choice of the kernel table.
#include "ops/isa_kernels.h"

namespace wl {
namespace kernels {

const Table& table(Isa isa) {
  // An OpCtx asking for more than the CPU has (a hand-built context, a config) is served by
  // the best kernels that can actually run here instead of faulting on an illegal instruction.
  isa = cap_isa(isa);
#if WL_HAVE_X86
  if (isa == Isa::Avx512) return avx512::kTable;
  if (isa == Isa::Avx2) return avx2::kTable;
#endif
#if WL_HAVE_NEON
  if (isa == Isa::Neon) return neon::kTable;
#endif
  return portable::kTable;
}

}  // namespace kernels
}  // namespace wl
