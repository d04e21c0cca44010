// C ABI for world models (worldloop/wl_model.h) over wl::Model.
#include <memory>
#include <string>

#include "capi/error.h"
#include "model/model.h"
#include "worldloop/wl_model.h"

struct wl_model {
  std::unique_ptr<wl::Model> impl;
};

namespace {

wl::Model& model_ref(const wl_model* m) {
  if (!m || !m->impl) throw wl::Error(WL_ERR_INVALID_ARGUMENT, "model is null");
  return *m->impl;
}

}  // namespace

extern "C" {

void wl_model_options_default(wl_model_options* opts) {
  if (!opts) return;
  opts->backend = WL_BACKEND_CPU;
  opts->threads = 0;
  opts->max_batch = 1;
}

wl_status wl_model_load(const char* path, const wl_model_options* opts, wl_model** out) {
  return wl::guard([&] {
    if (!out) throw wl::Error(WL_ERR_INVALID_ARGUMENT, "out is null");
    *out = nullptr;
    if (!path) throw wl::Error(WL_ERR_INVALID_ARGUMENT, "path is null");
    wl_model_options o;
    wl_model_options_default(&o);
    if (opts) o = *opts;
    auto m = std::make_unique<wl_model>();
    m->impl = wl::Model::load(path, o);
    *out = m.release();
  });
}

void wl_model_free(wl_model* model) { delete model; }

const char* wl_model_info_json(const wl_model* model) {
  if (!model || !model->impl) return "{}";
  return model->impl->info_json().c_str();
}

wl_status wl_model_dims_get(const wl_model* model, wl_model_dims* out) {
  return wl::guard([&] {
    if (!out) throw wl::Error(WL_ERR_INVALID_ARGUMENT, "out is null");
    *out = model_ref(model).dims();
  });
}

wl_status wl_model_sample(wl_model* model, int batch, const float* context_latents,
                          const float* context_actions, const wl_model_memory* memory,
                          const uint64_t* seeds, const uint64_t* frames, int steps,
                          float* out_latent, double* step_ms) {
  return wl::guard([&] {
    model_ref(model).sample(batch, context_latents, context_actions, seeds, frames, steps,
                            out_latent, step_ms, memory);
  });
}

wl_status wl_model_step(wl_model* model, int batch, const float* context_latents,
                        const float* context_actions, const wl_model_memory* memory,
                        const uint64_t* seeds, const uint64_t* frames, int steps, float* out_latent,
                        uint8_t* out_rgb, double* step_ms) {
  return wl::guard([&] {
    model_ref(model).step(batch, context_latents, context_actions, seeds, frames, steps, out_latent,
                          out_rgb, step_ms, memory);
  });
}

wl_status wl_model_sample_with_noise(wl_model* model, int batch, const float* context_latents,
                                     const float* context_actions, const wl_model_memory* memory,
                                     int steps, const float* noise, float* out_latent) {
  return wl::guard([&] {
    model_ref(model).sample_with_noise(batch, context_latents, context_actions, steps, noise,
                                       out_latent, memory);
  });
}

wl_status wl_model_denoise(wl_model* model, int batch, const float* noisy, const float* sigma,
                           const float* context_latents, const float* context_actions,
                           const wl_model_memory* memory, float* out) {
  return wl::guard([&] {
    model_ref(model).denoise(batch, noisy, sigma, context_latents, context_actions, out, memory);
  });
}

wl_status wl_model_decode(wl_model* model, int batch, const float* latent, uint8_t* rgb) {
  return wl::guard([&] { model_ref(model).decode(batch, latent, rgb); });
}

wl_status wl_model_decode_f32(wl_model* model, int batch, const float* latent, float* out) {
  return wl::guard([&] { model_ref(model).decode_f32(batch, latent, out); });
}

wl_status wl_model_encode(wl_model* model, int batch, const uint8_t* rgb, float* latent) {
  return wl::guard([&] { model_ref(model).encode(batch, rgb, latent); });
}

}  // extern "C"
