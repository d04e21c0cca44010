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
  void denoise(int n, const float* noisy, const float* sigma, const float* context,
               const float* actions, float* out);
  void sample(int n, const float* context, const float* actions, const uint64_t* seeds,
              const uint64_t* frames, int steps, float* out, double* step_ms);
  void sample_with_noise(int n, const float* context, const float* actions, int steps,
                         const float* noise, float* out);
  void decode(int n, const float* latent, uint8_t* rgb);
  void decode_f32(int n, const float* latent, float* out);
  void encode(int n, const uint8_t* rgb, float* latent);

 private:
  Model() = default;
  Exec exec(int n) const { return Exec{*be_, weights_base_, acts_base_, n}; }
  void check_batch(int n) const;
  int resolve_steps(int steps) const;
  void upload_conditioning(int n, const float* context, const float* actions);
  // x_ holds standard-normal noise; runs the Euler sampler from sigma_max and leaves the latent
  // in x_.
  void run_sampler(int n, int steps, double* step_ms);
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
  // Host-side per-world scalars, sized max_batch at load.
  std::vector<float> c_skip_, c_out_, c_in_, c_noise_, ctx_sigma_, coef_a_, coef_b_;
  std::vector<double> sigma_;
  std::string info_;
};

}  // namespace wl
