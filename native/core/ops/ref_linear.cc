// Reference linear layer in nn.Linear layout: W is [out, in], y = x W^T + b.
#include "ops/ops.h"

namespace wl {
namespace ref {

void linear(int n, int in, int out, const float* x, const float* w, const float* b, float* y) {
  for (int r = 0; r < n; ++r) {
    for (int o = 0; o < out; ++o) {
      double acc = b ? b[o] : 0.0;
      for (int i = 0; i < in; ++i) acc += double(x[size_t(r) * in + i]) * w[size_t(o) * in + i];
      y[size_t(r) * out + o] = float(acc);
    }
  }
}

}  // namespace ref
}  // namespace wl
