// The denoiser U-Net (train/modules.py Denoiser) with EDM preconditioning, as Backend op calls.
#pragma once
#include <vector>

#include "model/layers.h"
#include "model/manifest.h"

namespace wl {

class DenoiserNet {
 public:
  // Plans weights ("denoiser.*") and activations for max_batch worlds.
  void plan(BuildCtx& b, const Manifest& m);

  // Per-world host scalars of one evaluation (arrays of n).
  struct Scalars {
    const float* c_in;
    const float* c_noise;
    const float* ctx_sigma;  // conditioning value for the context-noise level
  };
  // Retrieved memory views for a model with memory slots M > 0 (docs/memory-model.md), already
  // masked by the caller: absent slots hold zero latents and zero poses.
  struct Memory {
    const float* latents;    // arena [n, M*C, h, w]
    const float* poses;      // arena [M, n, P] — slot-major, so each slot's rows are contiguous
    const float* mask_host;  // [M * n] slot-major, 0 or 1
  };
  // Raw network F: x [n, C, h, w] (noisy latent, NOT yet multiplied by c_in), context
  // [n, K*C, h, w], actions [n, K*A] (all arena) -> output() [n, C, h, w]. `memory` is required
  // exactly when memory_slots() > 0.
  void run(const Exec& e, const float* x, const Scalars& s, const float* context,
           const float* actions, const Memory* memory = nullptr) const;
  const Act& output() const { return out_; }
  int memory_slots() const { return M_; }

 private:
  struct DownLevel {
    std::vector<ResBlockLayer> blocks;
    bool has_down = false;
    Conv down;
    Act down_out;
  };
  struct UpLevel {
    bool has_up = false;
    Act upsampled;
    Conv up;
    Act up_out;
    Act cat;  // [up_out | skip]
    std::vector<ResBlockLayer> blocks;
  };

  int C_ = 0, K_ = 0, A_ = 0, h_ = 0, w_ = 0;
  int fourier_half_ = 0, cond_dim_ = 0;
  // conditioning
  Slot noise_freqs_ = kNoSlot, ctx_freqs_ = kNoSlot;
  Slot action_w_ = kNoSlot, action_b_ = kNoSlot, fc1_w_ = kNoSlot, fc1_b_ = kNoSlot;
  Slot fc2_w_ = kNoSlot, fc2_b_ = kNoSlot;
  Slot emb_noise_ = kNoSlot, emb_ctx_ = kNoSlot, emb_act_ = kNoSlot, emb_ = kNoSlot;
  Slot hidden_ = kNoSlot, cond_ = kNoSlot;
  // memory: per-slot pose MLP (cond.memory_pose.fc1/fc2), [M, n, F] embeddings
  int M_ = 0, P_ = 0;
  Slot mem_fc1_w_ = kNoSlot, mem_fc1_b_ = kNoSlot, mem_fc2_w_ = kNoSlot, mem_fc2_b_ = kNoSlot;
  Slot mem_hidden_ = kNoSlot, mem_emb_ = kNoSlot;
  Act cat_mem_;  // [x_in | context | memory latents] when M > 0
  // trunk
  Act x_in_, cat_in_;
  Conv conv_in_;
  Act in_out_;
  std::vector<DownLevel> down_;
  std::vector<UpLevel> up_;
  Norm norm_out_;
  Conv conv_out_;
  Act out_;
};

}  // namespace wl
