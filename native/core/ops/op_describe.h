// A short text of one op call's shape and its arithmetic cost, shared by the CPU backend's op
// profile (WL_CPU_PROFILE) and the op case table of the tests and bench_ops, so a profile line
// and a bench_ops line of the same shape read the same ("n1 64x16x16->64 k3 s1").
#pragma once
#include <string>

#include "ops/op_table.h"

namespace wl {

std::string conv_shape_text(const ConvShape& s);
// The call's shape: convs as above, linear "n1 1024->1024", attention "n1 c128 t64 h4", group
// norm "n1 c64 hw256", the rest their element count.
std::string op_shape_text(const OpCall& call);
// Floating-point operations of the call (multiply and add counted apart) for the ops whose
// cost is arithmetic (convs, linear, attention); 0 for the memory-bound rest.
double op_flops(const OpCall& call);

}  // namespace wl
