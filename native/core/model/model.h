// A loaded world model: manifest, backend, the three networks planned into one arena, and the
// sampler. Everything is allocated in load(); the calls below allocate nothing. Not thread-safe:
// one call at a time per Model (the C ABI documents the same).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/autoencoder.h"
#include "model/backend.h"
#include "model/denoiser.h"
#include "model/manifest.h"
#include "worldloop/wl_model.h"

namespace wl {

class Model {
 public:
  // Throws wl::Error: WL_ERR_IO / WL_ERR_FORMAT for the file, WL_ERR_INVALID_ARGUMENT for
  // options, WL_ERR_UNSUPPORTED for an unavailable backend.
  static std::unique_ptr<Model> load(const std::string& path, const wl_model_options& opts);

  const Manifest& manifest() const { return m_; }
  wl_model_dims dims() const;
  const std::string& info_json() const { return info_; }

  // See wl_model.h for shapes. Arguments are validated (batch range, null pointers, non-finite
  // values) with errors naming the argument.
  // `memory` (may be null: no slot present) is accepted only by models with memory slots.
  void denoise(int n, const float* noisy, const float* sigma, const float* context,
               const float* actions, float* out, const wl_model_memory* memory = nullptr);
  void sample(int n, const float* context, const float* actions, const uint64_t* seeds,
              const uint64_t* frames, int steps, float* out, double* step_ms,
              const wl_model_memory* memory = nullptr);
  void sample_with_noise(int n, const float* context, const float* actions, int steps,
                         const float* noise, float* out, const wl_model_memory* memory = nullptr);
  // One frame: sample() then decode() of its output without the latent leaving the backend in
  // between (on CUDA the whole frame is one graph when step_ms is null). step_ms, when given,
  // holds steps + 1 entries: the denoiser steps, then the decode with both copies to the host.
  void step(int n, const float* context, const float* actions, const uint64_t* seeds,
            const uint64_t* frames, int steps, float* out_latent, uint8_t* rgb, double* step_ms,
            const wl_model_memory* memory = nullptr);
  void decode(int n, const float* latent, uint8_t* rgb);
  void decode_f32(int n, const float* latent, float* out);
  void encode(int n, const uint8_t* rgb, float* latent);

 private:
  Model() = default;
  Exec exec(int n) const { return Exec{*be_, weights_base_, acts_base_, n}; }
  void check_batch(int n) const;
  int resolve_steps(int steps) const;
  void upload_conditioning(int n, const float* context, const float* actions,
                           const wl_model_memory* memory);
  // Validates memory and stages it masked (absent slots zero) into memory_ / memory_pose_ and
  // mem_mask_; all zeros when memory is null.
  void upload_memory(int n, const wl_model_memory* memory);
  // x_ holds standard-normal noise; runs the Euler sampler from sigma_max and leaves the latent
  // in x_.
  void run_sampler(int n, int steps, double* step_ms);
  void add_newest_context(int n);
  // d_ = D(x_; sigma_[b]) for the uploaded conditioning.
  void run_denoiser(int n);
  void run_decoder(int n, const float* latent_host);

  Manifest m_;
  std::unique_ptr<Backend> be_;
  DenoiserNet denoiser_;
  DecoderNet decoder_;
  EncoderNet encoder_;
  float* weights_base_ = nullptr;
  float* acts_base_ = nullptr;
  int max_batch_ = 1;
  size_t latent_per_ = 0, context_per_ = 0, actions_per_ = 0, frame_per_ = 0;
  // I/O buffers (arena) outside the networks' shared region.
  Slot context_ = kNoSlot, actions_ = kNoSlot, x_ = kNoSlot, d_ = kNoSlot, latent_in_ = kNoSlot;
  Slot rgb_in_ = kNoSlot;
  // Memory inputs (memory_slots M > 0): latents [n, M*C, h, w] and poses [M, n, P] in the arena,
  // their host staging copies, and the mask [M * n] (slot-major, host).
  int mem_slots_ = 0, mem_pose_dim_ = 0;
  Slot memory_ = kNoSlot, memory_pose_ = kNoSlot;
  std::vector<float> mem_latent_stage_, mem_pose_stage_, mem_mask_;
  // Host-side per-world scalars, sized max_batch at load.
  std::vector<float> c_skip_, c_out_, c_in_, c_noise_, ctx_sigma_, coef_a_, coef_b_;
  std::vector<double> sigma_;
  std::string info_;
};

}  // namespace wl
