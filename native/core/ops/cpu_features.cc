#include "ops/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "capi/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
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

bool detect_avx512_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (hardware_isa() != Isa::Avx512) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return false;  // a: max subleaf
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return a & (1u << 5);
}
#elif defined(__aarch64__)
// Advanced SIMD is mandatory in AArch64; Linux also reports it as a hwcap, which is checked so
// that a system that turned it off still gets the portable kernels.
Isa detect_hardware_isa() {
#if defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? Isa::Neon : Isa::Portable;
#else
  return Isa::Neon;
#endif
}
#else
Isa detect_hardware_isa() { return Isa::Portable; }
#endif

}  // namespace

Isa hardware_isa() {
  static const Isa hw = detect_hardware_isa();
  return hw;
}

bool has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool bf16 = detect_avx512_bf16();
  return bf16;
#else
  return false;
#endif
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
  } else if (std::strcmp(env, "neon") == 0) {
    cap = Isa::Neon;
  } else {
    throw Error(WL_ERR_INVALID_ARGUMENT, std::string("environment variable WL_ISA='") + env +
                                             "' is not one of portable, avx2, avx512, neon");
  }
  // A cap, never a promotion: asking for avx512 on an AVX2 machine gives AVX2.
  return cap_isa(cap);
}

int isa_level(Isa isa) {
  switch (isa) {
    case Isa::Portable: return 0;
    case Isa::Avx2: return 1;
    case Isa::Neon: return 1;
    case Isa::Avx512: return 2;
  }
  return 0;
}

std::vector<Isa> runnable_isas() {
  const Isa hw = hardware_isa();
  std::vector<Isa> out{Isa::Portable};
  if (hw == Isa::Neon) out.push_back(Isa::Neon);
  if (hw == Isa::Avx2 || hw == Isa::Avx512) out.push_back(Isa::Avx2);
  if (hw == Isa::Avx512) out.push_back(Isa::Avx512);
  return out;
}

Isa cap_isa(Isa want) {
  // Small fixed lists, no allocation: this runs on every kernel-table lookup.
  const Isa hw = hardware_isa();
  if (isa_level(hw) <= isa_level(want)) return hw;
  if (isa_level(want) == 0) return Isa::Portable;
  return hw == Isa::Avx512 ? Isa::Avx2 : hw;  // level 1: AVX2 under AVX-512
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
  }
  return "unknown";
}

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [&line]() {
    const size_t c = line.find(':');
    const size_t b = c == std::string::npos ? c : line.find_first_not_of(" \t", c + 1);
    return b == std::string::npos ? std::string() : line.substr(b);
  };
  while (std::getline(f, line) && !line.empty()) {
    if (line.rfind("model name", 0) == 0)
      name = value();
    else if (line.rfind("cpu family", 0) == 0)
      family = value();
    else if (line.rfind("model", 0) == 0 && line.find(':') != std::string::npos &&
             line.find_first_not_of(" \t", 5) == line.find(':'))
      model = value();
  }
  if (name.empty()) return "unknown-cpu";
  if (!family.empty() && !model.empty()) name += " (family " + family + " model " + model + ")";
  return name;
}

}  // namespace wl
