// One attention head on channel-major tokens, plain C++ shaped for auto-vectorisation
// (contiguous inner loops over tokens, partial sums for the dot products). Included by each
// kernels_<isa>.cc so the compiler vectorises it for that ISA's registers.
#pragma once
#include <algorithm>

#include "ops/exp_approx.h"

namespace wl {
namespace kernels {

// q, k, v: [d][t] (row stride t); out: [d][t]; sc: t*t floats of scratch.
inline void attention_head_impl(const float* q, const float* k, const float* v, float* out, int d,
                                int t, float scale, float* sc) {
  // Scores sc[i][j] = scale * sum_c q[c][i] k[c][j], one channel at a time so the inner loop
  // runs over contiguous j.
  std::fill(sc, sc + size_t(t) * t, 0.0f);
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
    for (int j = 1; j < t; ++j) mx = std::max(mx, row[j]);
    float sum = 0;
    for (int j = 0; j < t; ++j) {
      row[j] = exp_approx(row[j] - mx);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < t; ++j) row[j] *= inv;
  }
  // out[c][i] = sum_j p[i][j] v[c][j]: sixteen partial sums per dot product, a reassociation
  // the compiler will not make on its own, so the loop vectorises.
  for (int c = 0; c < d; ++c) {
    const float* vc = v + size_t(c) * t;
    float* oc = out + size_t(c) * t;
    for (int i = 0; i < t; ++i) {
      const float* p = sc + size_t(i) * t;
      float part[16] = {};
      int j = 0;
      for (; j + 16 <= t; j += 16)
        for (int l = 0; l < 16; ++l) part[l] += p[j + l] * vc[j + l];
      float s = 0;
      for (; j < t; ++j) s += p[j] * vc[j];
      for (int l = 0; l < 16; ++l) s += part[l];
      oc[i] = s;
    }
  }
}

}  // namespace kernels
}  // namespace wl
