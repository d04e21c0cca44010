// Run-time CPU feature detection: the fast kernels are compiled per ISA and chosen here.
#pragma once
#include <string>
#include <vector>

namespace wl {

// Portable runs anywhere; Avx2 / Avx512 on x86-64, Neon on AArch64. The values are names, not
// ranks: compare ISAs with isa_level().
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

// Best ISA this CPU and OS support (AVX-512 needs avx512f+bw+vl+dq and OS ZMM state; NEON is
// part of every AArch64 CPU, checked through the kernel's hwcaps on Linux).
// WL_ISA=portable|avx2|avx512|neon in the environment caps it (tests use this to cover every path).
Isa detect_isa();
// Best ISA of this CPU and OS, ignoring WL_ISA.
Isa hardware_isa();
// Rank used by caps: portable 0, avx2 and neon 1, avx512 2. A cap names a rank, so WL_ISA=avx2
// on an ARM machine means "no wider than 1" and gives NEON there.
int isa_level(Isa isa);
// The best ISA this machine runs whose level is at most want's.
Isa cap_isa(Isa want);
// Every ISA this machine runs, weakest first (tests and benches enumerate them).
std::vector<Isa> runnable_isas();
const char* isa_name(Isa isa);
// Whether this CPU and OS run AVX-512 BF16 (vdpbf16ps, vcvtneps2bf16): AVX-512 as above plus
// CPUID leaf 7 subleaf 1 EAX bit 5. Not an Isa of its own: it only adds the bf16 conv path
// (OpCtx::conv), which WL_ISA below avx512 turns off.
bool has_avx512_bf16();
// The CPU's "model name" from /proc/cpuinfo ("unknown-cpu" where there is none), plus its
// family and model numbers where listed: VMs often report a generic name ("AMD EPYC") for hosts
// of different generations (family 25 = Zen 3/4, 26 = Zen 5, whose AVX-512 peak is twice its
// AVX2 peak), and the numbers tell them apart. For the machine field of result lines.
std::string cpu_model_name();

}  // namespace wl
