#include "model/model.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "capi/error.h"
#include "model/backend_factory.h"
#include "model/edm.h"
#include "model/json.h"
#include "model/philox.h"
#include "model/safetensors.h"

namespace wl {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Checks run on every call, so messages are only built on failure (a call allocates nothing).
[[noreturn]] void fail(const std::string& what) { throw Error(WL_ERR_INVALID_ARGUMENT, what); }

template <class T>
void require_ptr(const T* p, const char* name) {
  if (!p) fail(std::string(name) + " is null");
}

void require_finite(const float* x, size_t n, const char* name) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw Error(WL_ERR_INVALID_ARGUMENT,
                  std::string(name) + "[" + std::to_string(i) + "] is not finite");
}

// An output the networks computed is not finite: the caller's inputs were checked, so the
// weights overflow. An engine failure (not the caller's argument), reported with where it was.
void require_finite_output(const float* x, size_t n, const char* name) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      throw Error(WL_ERR_INTERNAL, std::string(name) + "[" + std::to_string(i) +
                                       "] is not finite: the model's weights give non-finite outputs");
}

std::string json_string_array(const std::vector<std::string>& items, size_t limit) {
  std::string out = "[";
  for (size_t i = 0; i < items.size() && i < limit; ++i) {
    if (i) out += ",";
    json::append_quoted(out, items[i]);
  }
  if (items.size() > limit) out += ",\"... (" + std::to_string(items.size() - limit) + " more)\"";
  return out + "]";
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const wl_model_options& opts) {
  const auto t0 = Clock::now();
  const int max_batch = opts.max_batch == 0 ? 1 : opts.max_batch;
  if (max_batch < 1 || max_batch > manifest_limits::kMaxBatch)
    fail("options.max_batch: " + std::to_string(opts.max_batch) + " is outside [0, " +
              std::to_string(manifest_limits::kMaxBatch) + "]");
  if (opts.threads < 0 || opts.threads > 1024)
    fail("options.threads: " + std::to_string(opts.threads) + " is outside [0, 1024]");
  // The enum comes from C callers and may hold any integer: read it as one before trusting it.
  std::underlying_type_t<wl_backend> backend_raw;
  std::memcpy(&backend_raw, &opts.backend, sizeof backend_raw);
  if (backend_raw < WL_BACKEND_CPU || backend_raw > WL_BACKEND_AUTO)
    fail("options.backend: unknown backend " + std::to_string(backend_raw));

  SafetensorsFile file = SafetensorsFile::open(path);
  std::unique_ptr<Model> model(new Model());
  Model& md = *model;
  md.m_ = manifest_from_file(file);
  check_arena_budget(md.m_, max_batch);
  md.be_ = make_backend(static_cast<wl_backend>(backend_raw), opts.threads);
  md.max_batch_ = max_batch;
  const Manifest& m = md.m_;
  const int K = m.denoiser.context, A = m.actions.dim();
  md.latent_per_ = size_t(m.latent.channels) * m.latent.height * m.latent.width;
  md.context_per_ = md.latent_per_ * K;
  md.actions_per_ = size_t(K) * A;
  md.frame_per_ = size_t(3) * m.frame.height * m.frame.width;

  // Plan: I/O buffers first, then one region the three networks share (they never run at the
  // same time; the sampler's state lives in the I/O buffers).
  WeightTable weights(file, *md.be_);
  ArenaPlan acts;
  const size_t nb = size_t(max_batch);
  md.context_ = acts.take(nb * md.context_per_);
  md.actions_ = acts.take(nb * md.actions_per_);
  md.x_ = acts.take(nb * md.latent_per_);
  md.d_ = acts.take(nb * md.latent_per_);
  md.latent_in_ = acts.take(nb * md.latent_per_);
  md.rgb_in_ = acts.take(nb * md.frame_per_);
  md.mem_slots_ = m.denoiser.memory_slots;
  md.mem_pose_dim_ = m.denoiser.memory_pose_dim;
  if (md.mem_slots_ > 0) {
    const size_t M = size_t(md.mem_slots_);
    md.memory_ = acts.take(nb * M * md.latent_per_);
    md.memory_pose_ = acts.take(M * nb * size_t(md.mem_pose_dim_));
    md.mem_latent_stage_.assign(nb * M * md.latent_per_, 0.0f);
    md.mem_pose_stage_.assign(M * nb * size_t(md.mem_pose_dim_), 0.0f);
    md.mem_mask_.assign(M * nb, 0.0f);
  }
  const size_t shared = acts.mark();
  BuildCtx denoiser_ctx{weights, acts, *md.be_, max_batch, Part::Denoiser};
  md.denoiser_.plan(denoiser_ctx, m);
  acts.rewind(shared);
  BuildCtx decoder_ctx{weights, acts, *md.be_, max_batch, Part::Decoder};
  md.decoder_.plan(decoder_ctx, m);
  acts.rewind(shared);
  BuildCtx encoder_ctx{weights, acts, *md.be_, max_batch, Part::Encoder};
  md.encoder_.plan(encoder_ctx, m);

  const size_t weight_floats = (weights.total_floats() + 15) / 16 * 16;
  float* base = md.be_->allocate(weight_floats + acts.total());
  md.weights_base_ = base;
  md.acts_base_ = base + weight_floats;
  weights.load(base);
  for (auto* v : {&md.c_skip_, &md.c_out_, &md.c_in_, &md.c_noise_, &md.ctx_sigma_, &md.coef_a_,
                  &md.coef_b_})
    v->assign(nb, 0.0f);
  md.sigma_.assign(nb, 0.0);
  const double load_ms = ms_since(t0);

  std::string& info = md.info_;
  info = "{\"manifest\":" + manifest_to_json(m);
  info += ",\"params\":{\"denoiser\":" + std::to_string(weights.params(Part::Denoiser)) +
          ",\"decoder\":" + std::to_string(weights.params(Part::Decoder)) +
          ",\"encoder\":" + std::to_string(weights.params(Part::Encoder)) + "}";
  info += ",\"memory_bytes\":" + std::to_string(md.be_->memory_bytes());
  info += ",\"weight_bytes\":" + std::to_string(weight_floats * sizeof(float));
  info += ",\"activation_bytes\":" + std::to_string(acts.total() * sizeof(float));
  info += ",\"file_bytes\":" + std::to_string(file.file_bytes());
  info += ",\"load_ms\":" + std::to_string(load_ms);
  info += ",\"max_batch\":" + std::to_string(max_batch);
  info += ",\"backend\":\"" + std::string(md.be_->name()) + "\"," + md.be_->describe_json();
  info += ",\"nan_weights\":" + json_string_array(weights.non_finite(), 32);
  info += ",\"unused_tensors\":" + json_string_array(weights.unused(), 32) + "}";
  // The file buffer (weights as stored) is released here; only the arena stays.
  return model;
}

wl_model_dims Model::dims() const {
  wl_model_dims d;
  d.latent_channels = m_.latent.channels;
  d.latent_h = m_.latent.height;
  d.latent_w = m_.latent.width;
  d.frame_h = m_.frame.height;
  d.frame_w = m_.frame.width;
  d.context = m_.denoiser.context;
  d.action_dim = m_.actions.dim();
  d.default_steps = m_.sampler.steps;
  d.max_batch = max_batch_;
  d.memory_slots = mem_slots_;
  d.memory_pose_dim = mem_pose_dim_;
  return d;
}

void Model::check_batch(int n) const {
  if (n < 1 || n > max_batch_)
    fail("batch: " + std::to_string(n) + " is outside [1, " +
                                         std::to_string(max_batch_) + "] (options.max_batch)");
}

int Model::resolve_steps(int steps) const {
  const int s = steps == 0 ? m_.sampler.steps : steps;
  if (s < 1 || s > manifest_limits::kMaxSteps)
    fail("steps: " + std::to_string(steps) + " is outside [0, " +
              std::to_string(manifest_limits::kMaxSteps) + "] (0 = manifest default)");
  return s;
}

void Model::upload_memory(int n, const wl_model_memory* memory) {
  if (mem_slots_ == 0) {
    if (memory)
      fail("memory: this model has no memory slots (manifest denoiser.memory); pass NULL");
    return;
  }
  const int M = mem_slots_, P = mem_pose_dim_;
  const size_t per_slot = latent_per_;
  if (memory) {
    require_ptr(memory->latents, "memory.latents");
    require_ptr(memory->poses, "memory.poses");
    require_ptr(memory->mask, "memory.mask");
  }
  for (int b = 0; b < n; ++b)
    for (int m = 0; m < M; ++m) {
      const size_t bm = size_t(b) * M + m;
      const float mask = memory ? memory->mask[bm] : 0.0f;
      if (mask != 0.0f && mask != 1.0f)
        fail("memory.mask[" + std::to_string(b) + "][" + std::to_string(m) +
             "]: must be 0 (absent) or 1 (present)");
      float* lat = mem_latent_stage_.data() + bm * per_slot;
      float* pose = mem_pose_stage_.data() + (size_t(m) * n + b) * P;
      mem_mask_[size_t(m) * n + b] = mask;
      if (mask == 0.0f) {
        // Absent: whatever the caller left there is never read.
        std::memset(lat, 0, per_slot * sizeof(float));
        std::memset(pose, 0, size_t(P) * sizeof(float));
        continue;
      }
      const float* src_lat = memory->latents + bm * per_slot;
      const float* src_pose = memory->poses + bm * P;
      for (size_t i = 0; i < per_slot; ++i)
        if (!std::isfinite(src_lat[i]))
          fail("memory.latents[" + std::to_string(b) + "][" + std::to_string(m) + "][" +
               std::to_string(i) + "] is not finite");
      for (int i = 0; i < P; ++i)
        if (!std::isfinite(src_pose[i]))
          fail("memory.poses[" + std::to_string(b) + "][" + std::to_string(m) + "][" +
               std::to_string(i) + "] is not finite");
      std::memcpy(lat, src_lat, per_slot * sizeof(float));
      std::memcpy(pose, src_pose, size_t(P) * sizeof(float));
    }
  const Exec e = exec(n);
  be_->upload(e.at(memory_), mem_latent_stage_.data(), size_t(n) * M * per_slot);
  be_->upload(e.at(memory_pose_), mem_pose_stage_.data(), size_t(M) * n * P);
}

void Model::upload_conditioning(int n, const float* context, const float* actions,
                                const wl_model_memory* memory) {
  require_ptr(context, "context_latents");
  require_ptr(actions, "context_actions");
  require_finite(context, size_t(n) * context_per_, "context_latents");
  require_finite(actions, size_t(n) * actions_per_, "context_actions");
  const Exec e = exec(n);
  be_->upload(e.at(context_), context, size_t(n) * context_per_);
  be_->upload(e.at(actions_), actions, size_t(n) * actions_per_);
  upload_memory(n, memory);
}

void Model::run_denoiser(int n) {
  const double sd = m_.edm.sigma_data;
  for (int b = 0; b < n; ++b) {
    const EdmScalars s = edm_precondition(sigma_[b], sd);
    c_skip_[b] = s.c_skip;
    c_out_[b] = s.c_out;
    c_in_[b] = s.c_in;
    c_noise_[b] = s.c_noise;
    ctx_sigma_[b] = float(m_.sampler.context_noise_sigma);
  }
  const Exec e = exec(n);
  DenoiserNet::Scalars sc{c_in_.data(), c_noise_.data(), ctx_sigma_.data()};
  if (mem_slots_ > 0) {
    const DenoiserNet::Memory mem{e.at(memory_), e.at(memory_pose_), mem_mask_.data()};
    denoiser_.run(e, e.at(x_), sc, e.at(context_), e.at(actions_), &mem);
  } else {
    denoiser_.run(e, e.at(x_), sc, e.at(context_), e.at(actions_));
  }
  // D = c_skip * x + c_out * F
  be_->scale_add(n, latent_per_, c_skip_.data(), e.at(x_), c_out_.data(),
                 e.at(denoiser_.output()), e.at(d_));
}

void Model::run_sampler(int n, int steps, double* step_ms) {
  const Exec e = exec(n);
  double sig[manifest_limits::kMaxSteps + 1];
  karras_sigmas(steps, m_.edm.sigma_min, m_.edm.sigma_max, m_.edm.rho, sig);
  for (int b = 0; b < n; ++b) coef_a_[b] = float(sig[0]);
  be_->scale_add(n, latent_per_, coef_a_.data(), e.at(x_), nullptr, nullptr, e.at(x_));
  for (int i = 0; i < steps; ++i) {
    const auto t0 = Clock::now();
    for (int b = 0; b < n; ++b) sigma_[b] = sig[i];
    run_denoiser(n);
    const EulerStep st = euler_step(sig[i], sig[i + 1]);
    for (int b = 0; b < n; ++b) {
      coef_a_[b] = st.a;
      coef_b_[b] = st.b;
    }
    be_->scale_add(n, latent_per_, coef_a_.data(), e.at(x_), coef_b_.data(), e.at(d_), e.at(x_));
    if (step_ms) {
      be_->synchronize();
      step_ms[i] = ms_since(t0);
    }
  }
  if (m_.denoiser.predicts_residual) add_newest_context(n);
}

void Model::add_newest_context(int n) {
  // Copy-then-correct: x holds the change from the newest context latent; add that latent back.
  // The context is [n, K, latent] and its newest latent is the K-1'th, so one world at a time.
  const Exec e = exec(n);
  const size_t K = size_t(m_.denoiser.context);
  const float one = 1.0f;
  for (int b = 0; b < n; ++b) {
    float* x = e.at(x_) + size_t(b) * latent_per_;
    const float* newest = e.at(context_) + (size_t(b) * K + (K - 1)) * latent_per_;
    be_->scale_add(1, latent_per_, &one, x, &one, newest, x);
  }
}

void Model::denoise(int n, const float* noisy, const float* sigma, const float* context,
                    const float* actions, float* out, const wl_model_memory* memory) {
  check_batch(n);
  require_ptr(noisy, "noisy");
  require_ptr(sigma, "sigma");
  require_ptr(out, "out");
  for (int b = 0; b < n; ++b)
    if (!(std::isfinite(sigma[b]) && sigma[b] > 0.0f))
      fail("sigma[" + std::to_string(b) + "]: must be finite and > 0");
  require_finite(noisy, size_t(n) * latent_per_, "noisy");
  upload_conditioning(n, context, actions, memory);
  const Exec e = exec(n);
  be_->upload(e.at(x_), noisy, size_t(n) * latent_per_);
  for (int b = 0; b < n; ++b) sigma_[b] = sigma[b];
  run_denoiser(n);
  be_->download(out, e.at(d_), size_t(n) * latent_per_);
}

void Model::sample(int n, const float* context, const float* actions, const uint64_t* seeds,
                   const uint64_t* frames, int steps, float* out, double* step_ms,
                   const wl_model_memory* memory) {
  check_batch(n);
  const int s = resolve_steps(steps);
  require_ptr(seeds, "seeds");
  require_ptr(frames, "frames");
  require_ptr(out, "out_latent");
  upload_conditioning(n, context, actions, memory);
  const Exec e = exec(n);
  be_->normal_noise(n, latent_per_, seeds, frames, 0, e.at(x_));
  run_sampler(n, s, step_ms);
  be_->download(out, e.at(x_), size_t(n) * latent_per_);
}

void Model::sample_with_noise(int n, const float* context, const float* actions, int steps,
                              const float* noise, float* out,
                              const wl_model_memory* memory) {
  check_batch(n);
  const int s = resolve_steps(steps);
  require_ptr(noise, "noise");
  require_ptr(out, "out_latent");
  // Only noise[0] is consumed by Euler; the rest of the documented [steps+1] block is reserved.
  require_finite(noise, size_t(n) * latent_per_, "noise");
  upload_conditioning(n, context, actions, memory);
  const Exec e = exec(n);
  be_->upload(e.at(x_), noise, size_t(n) * latent_per_);
  run_sampler(n, s, nullptr);
  be_->download(out, e.at(x_), size_t(n) * latent_per_);
}

void Model::step(int n, const float* context, const float* actions, const uint64_t* seeds,
                 const uint64_t* frames, int steps, float* out_latent, uint8_t* rgb,
                 double* step_ms, const wl_model_memory* memory) {
  check_batch(n);
  const int s = resolve_steps(steps);
  require_ptr(seeds, "seeds");
  require_ptr(frames, "frames");
  require_ptr(out_latent, "out_latent");
  require_ptr(rgb, "out_rgb");
  upload_conditioning(n, context, actions, memory);
  const Exec e = exec(n);
  be_->normal_noise(n, latent_per_, seeds, frames, 0, e.at(x_));
  run_sampler(n, s, step_ms);
  const auto t0 = Clock::now();
  // x_ lies outside the region the networks share, so the decoder reads the sampler's output in
  // place: the same floats decode() would upload from the host copy.
  decoder_.run(e, e.at(x_));
  // The first host read flushes everything recorded since the uploads (one CUDA graph).
  be_->download_rgb_u8(n, m_.frame.height, m_.frame.width, e.at(decoder_.output()), rgb);
  be_->download(out_latent, e.at(x_), size_t(n) * latent_per_);
  if (step_ms) step_ms[s] = ms_since(t0);
  // decode() rejects a non-finite latent; checking here, after the fact, keeps the frame one
  // graph and still fails exactly where sample() + decode() would.
  require_finite_output(out_latent, size_t(n) * latent_per_, "latent (sampled)");
}

void Model::run_decoder(int n, const float* latent_host) {
  require_ptr(latent_host, "latent");
  require_finite(latent_host, size_t(n) * latent_per_, "latent");
  const Exec e = exec(n);
  be_->upload(e.at(latent_in_), latent_host, size_t(n) * latent_per_);
  decoder_.run(e, e.at(latent_in_));
}

void Model::decode(int n, const float* latent, uint8_t* rgb) {
  check_batch(n);
  require_ptr(rgb, "rgb");
  run_decoder(n, latent);
  const Exec e = exec(n);
  be_->download_rgb_u8(n, m_.frame.height, m_.frame.width, e.at(decoder_.output()), rgb);
}

void Model::decode_f32(int n, const float* latent, float* out) {
  check_batch(n);
  require_ptr(out, "out");
  run_decoder(n, latent);
  const Exec e = exec(n);
  be_->download(out, e.at(decoder_.output()), size_t(n) * frame_per_);
}

void Model::encode(int n, const uint8_t* rgb, float* latent) {
  check_batch(n);
  require_ptr(rgb, "rgb");
  require_ptr(latent, "latent");
  const Exec e = exec(n);
  be_->upload_rgb_u8(n, m_.frame.height, m_.frame.width, rgb, e.at(rgb_in_));
  encoder_.run(e, e.at(rgb_in_));
  be_->download(latent, e.at(encoder_.output()), size_t(n) * latent_per_);
  require_finite_output(latent, size_t(n) * latent_per_, "latent (encoded)");
}

}  // namespace wl
