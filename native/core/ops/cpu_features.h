// Run-time CPU feature detection: the fast kernels are compiled per ISA and chosen here.
#pragma once

namespace wl {

enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };

// Best ISA this CPU and OS support (AVX-512 needs avx512f+bw+vl+dq and OS ZMM state).
// WL_ISA=portable|avx2|avx512 in the environment caps it (tests use this to cover every path).
Isa detect_isa();
// Best ISA of this CPU and OS, ignoring WL_ISA (tests enumerate every ISA up to this one).
Isa hardware_isa();
const char* isa_name(Isa isa);

}  // namespace wl
