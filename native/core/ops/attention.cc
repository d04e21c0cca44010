// Fast multi-head self-attention for the small token counts of the latent U-Net (T = 16..64):
// one (image, head) per work item, the T x T score matrix in the worker's scratch slot.
// Plain C++ shaped for auto-vectorisation (contiguous inner loops over tokens, partial sums
// for the dot products); at these sizes it is a few percent of a frame.
#include <algorithm>
#include <cmath>

#include "ops/exp_approx.h"
#include "ops/op_support.h"
#include "ops/ops.h"

namespace wl {
namespace fast {

namespace {
size_t slot_floats(const AttentionShape& s) { return size_t(s.t) * s.t; }

float dot(const float* a, const float* b, int n) {
  float part[8] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) part[l] += a[j + l] * b[j + l];
  float s = 0;
  for (; j < n; ++j) s += a[j] * b[j];
  for (int l = 0; l < 8; ++l) s += part[l];
  return s;
}
}  // namespace

size_t attention_scratch_floats(const AttentionShape& s, int threads) {
  return size_t(std::max(threads, 1)) * (slot_floats(s) + ops_detail::kSlotSlack);
}

void attention(const OpCtx& ctx, const AttentionShape& s, const float* qkv, float* y) {
  ops_detail::require(s.n > 0 && s.c > 0 && s.t > 0 && s.heads > 0 && s.c % s.heads == 0,
                      "attention", "bad shape (heads must divide channels)");
  ops_detail::require_scratch(ctx, attention_scratch_floats(s, ops_detail::threads_of(ctx)),
                              "attention");
  const int d = s.c / s.heads, t = s.t;
  const float scale = float(1.0 / std::sqrt(double(d)));
  ops_detail::parallel(ctx, int64_t(s.n) * s.heads, 1, [&](int64_t b, int64_t e, int worker) {
    float* sc = ops_detail::slot(ctx, slot_floats(s), worker);
    for (int64_t item = b; item < e; ++item) {
      const int n = int(item / s.heads), h = int(item % s.heads);
      const float* q = qkv + (size_t(n) * 3 * s.c + size_t(h) * d) * t;
      const float* k = q + size_t(s.c) * t;
      const float* v = k + size_t(s.c) * t;
      float* out = y + (size_t(n) * s.c + size_t(h) * d) * t;
      // Scores: sc[i][j] = scale * sum_c q[c][i] k[c][j], accumulated one channel at a time so
      // the inner loop runs over contiguous j.
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
      for (int c = 0; c < d; ++c) {
        const float* vc = v + size_t(c) * t;
        float* oc = out + size_t(c) * t;
        for (int i = 0; i < t; ++i) oc[i] = dot(sc + size_t(i) * t, vc, t);
      }
    }
  });
}

}  // namespace fast
}  // namespace wl
