#include "ops/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "capi/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace wl {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// XCR0 via xgetbv, written as raw asm so this file needs no -mxsave.
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

Isa detect_hardware_isa() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::Portable;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29),
             avx = c & (1u << 28);
  if (!osxsave || !avx) return Isa::Portable;
  const uint64_t xcr0 = read_xcr0();
  // The OS must save the YMM state (bits 1,2) for AVX and the opmask/ZMM state (5,6,7) for AVX-512;
  // a CPU flag alone is not enough (e.g. a kernel booted with AVX-512 disabled).
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::Portable;
  const bool avx2 = b & (1u << 5);
  const bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  if (!os_ymm || !avx2 || !fma || !f16c) return Isa::Portable;
  if (os_zmm && f && dq && bw && vl) return Isa::Avx512;
  return Isa::Avx2;
}
#else
Isa detect_hardware_isa() { return Isa::Portable; }
#endif

}  // namespace

Isa hardware_isa() {
  static const Isa hw = detect_hardware_isa();
  return hw;
}

Isa detect_isa() {
  const Isa hw = hardware_isa();
  const char* env = std::getenv("WL_ISA");
  if (!env || !*env) return hw;
  Isa cap;
  if (std::strcmp(env, "portable") == 0) {
    cap = Isa::Portable;
  } else if (std::strcmp(env, "avx2") == 0) {
    cap = Isa::Avx2;
  } else if (std::strcmp(env, "avx512") == 0) {
    cap = Isa::Avx512;
  } else {
    throw Error(WL_ERR_INVALID_ARGUMENT,
                std::string("environment variable WL_ISA='") + env +
                    "' is not one of portable, avx2, avx512");
  }
  // A cap, never a promotion: asking for avx512 on an AVX2 machine gives AVX2.
  return static_cast<int>(cap) < static_cast<int>(hw) ? cap : hw;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

}  // namespace wl
