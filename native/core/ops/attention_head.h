// One attention head on channel-major tokens, plain C++ shaped for auto-vectorisation.
// Included by each kernels_<isa>.cc so the compiler vectorises it for that ISA's registers.
// Internal linkage (static) and no std:: templates on purpose: an inline function with external
// linkage compiled in several ISA files is one weak symbol, and the linker would keep a single
// copy — possibly the AVX-512 one, called on a CPU without AVX-512.
#pragma once
#include "ops/exp_approx.h"

namespace wl {
namespace kernels {

// q, k, v: [d][t] (row stride t); out: [d][t]; sc: 2*t*t floats of scratch. Every inner loop
// runs over contiguous tokens with no reduction, so it vectorises as it stands.
static inline void attention_head_impl(const float* q, const float* k, const float* v, float* out, int d,
                                       int t, float scale, float* sc) {
  float* pt = sc + size_t(t) * t;  // probabilities, transposed: pt[j][i]
  // Scores sc[i][j] = scale * sum_c q[c][i] k[c][j], one channel at a time.
  for (size_t e = 0; e < size_t(t) * t; ++e) sc[e] = 0.0f;
  for (int c = 0; c < d; ++c) {
    const float* qc = q + size_t(c) * t;
    const float* kc = k + size_t(c) * t;
    for (int i = 0; i < t; ++i) {
      const float qi = qc[i] * scale;
      float* row = sc + size_t(i) * t;
      for (int j = 0; j < t; ++j) row[j] += qi * kc[j];
    }
  }
  for (int i = 0; i < t; ++i) {
    float* row = sc + size_t(i) * t;
    float mx = row[0];
    for (int j = 1; j < t; ++j) mx = row[j] > mx ? row[j] : mx;
    float sum = 0;
    for (int j = 0; j < t; ++j) {
      row[j] = exp_approx(row[j] - mx);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < t; ++j) pt[size_t(j) * t + i] = row[j] * inv;
  }
  // out[c][i] = sum_j v[c][j] p[i][j], accumulated over j into a contiguous row of i.
  for (int c = 0; c < d; ++c) {
    const float* vc = v + size_t(c) * t;
    float* oc = out + size_t(c) * t;
    for (int i = 0; i < t; ++i) oc[i] = 0.0f;
    for (int j = 0; j < t; ++j) {
      const float vj = vc[j];
      const float* pj = pt + size_t(j) * t;
      for (int i = 0; i < t; ++i) oc[i] += vj * pj[i];
    }
  }
}

}  // namespace kernels
}  // namespace wl
