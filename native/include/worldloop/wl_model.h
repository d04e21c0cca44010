/* worldloop C ABI — world models (denoiser "latent step" + autoencoder).
 *
 * A model is loaded once from one .safetensors file whose __metadata__ holds the JSON manifest.
 * All activation memory is allocated at load for up to `max_batch` worlds; sample/decode/encode
 * allocate nothing. Four sampling entry points: wl_model_step (a frame: sample + decode),
 * wl_model_sample (the latent only), wl_model_sample_with_noise and wl_model_denoise (goldens,
 * parity); each takes the optional memory views. A model handle may be used from one thread at a
 * time. */
#ifndef WORLDLOOP_WL_MODEL_H
#define WORLDLOOP_WL_MODEL_H

#include "wl_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wl_model wl_model;

typedef enum wl_backend { WL_BACKEND_CPU = 0, WL_BACKEND_CUDA = 1, WL_BACKEND_AUTO = 2 } wl_backend;

typedef struct wl_model_options {
  wl_backend backend; /* CPU, CUDA, or AUTO (CUDA only when a device works) */
  int threads;        /* CPU worker threads; 0 = hardware concurrency */
  int max_batch;      /* worlds per call the arena is sized for; 0 = 1 */
} wl_model_options;

WL_API void wl_model_options_default(wl_model_options* opts);

WL_API wl_status wl_model_load(const char* path, const wl_model_options* opts, wl_model** out);
WL_API void wl_model_free(wl_model* model);

/* JSON: {"manifest":{...},"params":{"denoiser":N,"decoder":N,"encoder":N},
 *        "memory_bytes":N (backend total: arena + scratch), "weight_bytes":N (f32, packed),
 *        "activation_bytes":N, "file_bytes":N, "load_ms":X, "max_batch":N,
 *        "backend":"cpu"|"cuda", backend detail (cpu: "isa","threads","kernels"),
 *        "nan_weights":["<tensor>: 3 NaN, 0 Inf",...] (non-finite weights: reported, not fatal),
 *        "unused_tensors":[...] (in the file but not part of the networks)}.
 * Owned by the model, valid until wl_model_free; "{}" for NULL. */
WL_API const char* wl_model_info_json(const wl_model* model);

/* Geometry from the manifest. */
typedef struct wl_model_dims {
  int latent_channels, latent_h, latent_w; /* one latent: C x h x w floats */
  int frame_h, frame_w;                    /* decoded frame: h x w x 3 bytes (RGB8, row-major) */
  int context;                             /* K past latents/actions the denoiser sees */
  int action_dim;                          /* floats per action vector */
  int default_steps;                       /* sampler steps from the manifest */
  int max_batch;
  int memory_slots;    /* M retrieved memory views the denoiser takes (0 = none) */
  int memory_pose_dim; /* P floats of relative pose per memory view (0 when M = 0) */
} wl_model_dims;
WL_API wl_status wl_model_dims_get(const wl_model* model, wl_model_dims* out);

/* Retrieved memory views for a model with memory_slots M > 0 (docs/memory-model.md): views from
 * earlier in the episode, each with its pose relative to the frame being generated.
 *   latents: [B, M, C, h, w]  scaled latents (as wl_model_encode / the sampler produce them)
 *   poses:   [B, M, P]        relative pose features, P = memory_pose_dim: [dx, dy, sin dyaw,
 *                             cos dyaw, age / 100, 0...] (dx, dy in the current view frame)
 *   mask:    [B, M]           1 = slot present, 0 = absent (its latent and pose are not read and
 *                             may hold anything); any other value is an error
 * Slot order matters only as summation order; the networks treat slots alike.
 *
 * Every sampling entry point below takes `memory`: NULL means no slot is present (the only
 * choice for a model without memory slots; a non-NULL memory for such a model is
 * WL_ERR_INVALID_ARGUMENT). Non-finite values in present slots are rejected. */
typedef struct wl_model_memory {
  const float* latents;
  const float* poses;
  const float* mask;
} wl_model_memory;

/* One latent step for B worlds (1 <= B <= max_batch).
 *   context_latents: [B, K, C, h, w]   (oldest first; used as given — the manifest's
 *                                       sampler.context_noise_sigma is fed as conditioning only)
 *   context_actions: [B, K, A]         (action K-1 is the one that leads to the new frame)
 *   memory:          retrieved views or NULL (above)
 *   seeds, frames:   [B] — world b starts from sigma_max * Philox(seed[b], frame[b], step 0)
 *                    normals (train/philox.py draws the same numbers); worlds are independent
 *   steps:           1..8 Euler steps on the Karras schedule (0 = manifest default)
 *   out_latent:      [B, C, h, w]
 *   step_ms:         optional [steps] wall time per denoiser step (batch total, backend
 *                    synchronised), may be NULL
 * Non-finite context/action values are rejected (WL_ERR_INVALID_ARGUMENT, naming the index). */
WL_API wl_status wl_model_sample(wl_model* model, int batch, const float* context_latents,
                                 const float* context_actions, const wl_model_memory* memory,
                                 const uint64_t* seeds, const uint64_t* frames, int steps,
                                 float* out_latent, double* step_ms);

/* One whole frame: wl_model_sample (same arguments) and then wl_model_decode of its output, in
 * one call — the latent stays in the backend between the two (on CUDA, with step_ms NULL, the
 * N steps, the decode and the RGB8 copy are one graph launch). Results are bit-identical to
 * the two calls on the same backend. What play runs every frame.
 *   out_latent: [B, C, h, w]     out_rgb: [B, H, W, 3]
 *   step_ms:    optional [steps + 1]: 0..steps-1 as in wl_model_sample (each forces a backend
 *               sync), [steps] = the decode and both copies to the host; may be NULL
 * A non-finite sampled latent fails (WL_ERR_INVALID_ARGUMENT, as wl_model_decode would); the
 * outputs then hold that frame anyway. */
WL_API wl_status wl_model_step(wl_model* model, int batch, const float* context_latents,
                               const float* context_actions, const wl_model_memory* memory,
                               const uint64_t* seeds, const uint64_t* frames, int steps,
                               float* out_latent, uint8_t* out_rgb, double* step_ms);

/* Sampling with caller-provided noise instead of Philox (goldens, engine parity in
 * train/eval.py): noise: [steps+1, B, C, h, w] — index 0 is the initial standard-normal noise
 * (scaled by sigma_max inside); 1..steps are not read by Euler (reserved for stochastic
 * samplers), so a caller may pass just [B, C, h, w]. */
WL_API wl_status wl_model_sample_with_noise(wl_model* model, int batch,
                                            const float* context_latents,
                                            const float* context_actions,
                                            const wl_model_memory* memory, int steps,
                                            const float* noise, float* out_latent);

/* One denoiser evaluation D(x; sigma, context, actions, memory) with EDM preconditioning (the
 * denoised estimate, not the raw network output) — for goldens and tests. For a model whose
 * manifest has denoiser.predicts "residual", D (and noisy) live in the space of the change from
 * the newest context latent; the samplers add that latent back, this call does not.
 * noisy: [B,C,h,w], sigma: [B] (finite, > 0), out: [B,C,h,w]. */
WL_API wl_status wl_model_denoise(wl_model* model, int batch, const float* noisy,
                                  const float* sigma, const float* context_latents,
                                  const float* context_actions, const wl_model_memory* memory,
                                  float* out);

/* latent [B,C,h,w] -> RGB8 [B,H,W,3]: round(clamp((x + 1) * 127.5, 0, 255)), NaN -> 0. */
WL_API wl_status wl_model_decode(wl_model* model, int batch, const float* latent, uint8_t* rgb);
/* latent [B,C,h,w] -> float RGB [B,3,H,W] in the decoder's output range (before clamp/convert),
 * for goldens. */
WL_API wl_status wl_model_decode_f32(wl_model* model, int batch, const float* latent, float* out);
/* RGB8 [B,H,W,3] -> latent [B,C,h,w] (scaled by the manifest's latent scale); the frame is
 * mapped to [-1,1] as x / 127.5 - 1. */
WL_API wl_status wl_model_encode(wl_model* model, int batch, const uint8_t* rgb, float* latent);

#ifdef __cplusplus
}
#endif
#endif
