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
  // Softmax per row. The max and the sum run in 8 lanes and the exponentials in a loop of their
  // own: one float accumulator would hold all three to scalar code (its additions may not be
  // reordered). About 0.8x the head's time in the AVX2 compile (2026-12-07, Zen 3).
  for (int i = 0; i < t; ++i) {
    float* row = sc + size_t(i) * t;
    float lane[8];
    for (int l = 0; l < 8; ++l) lane[l] = row[0];
    int j = 0;
    for (; j + 8 <= t; j += 8)
      for (int l = 0; l < 8; ++l) lane[l] = row[j + l] > lane[l] ? row[j + l] : lane[l];
    float mx = lane[0];
    for (int l = 1; l < 8; ++l) mx = lane[l] > mx ? lane[l] : mx;
    for (; j < t; ++j) mx = row[j] > mx ? row[j] : mx;
    for (j = 0; j < t; ++j) row[j] = exp_approx(row[j] - mx);
    for (int l = 0; l < 8; ++l) lane[l] = 0.0f;
    for (j = 0; j + 8 <= t; j += 8)
      for (int l = 0; l < 8; ++l) lane[l] += row[j + l];
    float sum = 0;
    for (int l = 0; l < 8; ++l) sum += lane[l];
    for (; j < t; ++j) sum += row[j];
    const float inv = 1.0f / sum;
    for (j = 0; j < t; ++j) pt[size_t(j) * t + i] = row[j] * inv;
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
