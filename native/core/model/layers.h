// Building blocks shared by the autoencoder and the denoiser: an arena planner, a weight table
// that maps state_dict names to arena slots, and the layers (conv, norms, ResBlock, attention)
// expressed as Backend op calls.
//
// Build in two phases. Plan: every layer asks for its weights (by tensor name and expected shape)
// and its activations (by size) and gets arena offsets. Bind: the backend allocates the arena once,
// the weight table converts and uploads every tensor, and layers resolve offsets against the base.
// After that a forward pass allocates nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/backend.h"

namespace wl {

class SafetensorsFile;

// Offsets in floats; every slot starts on a 64-byte boundary. Weights and activations live in
// two regions of the arena (weights first); weight slots carry kWeightSlot so one Slot type
// addresses both.
using Slot = size_t;
constexpr Slot kNoSlot = ~size_t(0);
constexpr Slot kWeightSlot = size_t(1) << (sizeof(size_t) * 8 - 2);

class ArenaPlan {
 public:
  Slot take(size_t floats);
  size_t mark() const { return top_; }
  // Rewinds to `mark` so the next region overlaps the previous one (networks that never run at
  // the same time share activation memory); the high-water mark is kept.
  void rewind(size_t mark) { top_ = mark; }
  size_t total() const { return high_; }

 private:
  size_t top_ = 0, high_ = 0;
};

// Which parameter count a tensor contributes to (wl_model_info_json "params").
enum class Part { Denoiser, Decoder, Encoder, None };

// Weights by name: requested during planning, loaded (converted to f32, optionally scaled,
// packed for convs) and uploaded once the arena exists.
class WeightTable {
 public:
  WeightTable(const SafetensorsFile& file, Backend& backend) : file_(file), backend_(backend) {}

  // A plain tensor (biases, norms, linear weights, Fourier frequencies). `scale` multiplies the
  // values at load (used to fold the latent scale into the first/last conv).
  Slot tensor(const std::string& name, const std::vector<int64_t>& shape, Part part,
              float scale = 1.0f);
  // A conv weight [cout, cin, k, k], packed for the backend.
  Slot conv(const std::string& name, int cout, int cin, int k, Part part, float scale = 1.0f);

  // Floats the weight region needs.
  size_t total_floats() const { return plan_.total(); }
  // Converts and uploads everything requested into the weight region at `weights_base`.
  void load(float* weights_base);

  uint64_t params(Part p) const { return params_[int(p)]; }
  // Tensors that contain NaN or Inf ("name: 3 NaN, 0 Inf"); reported, not fatal.
  const std::vector<std::string>& non_finite() const { return non_finite_; }
  // Names present in the file but never requested.
  std::vector<std::string> unused() const;

 private:
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    Slot slot;
    bool conv;
    int cout, cin, k;
    float scale;
  };
  void check_new(const std::string& name, const std::vector<int64_t>& shape, Part part);

  const SafetensorsFile& file_;
  Backend& backend_;
  ArenaPlan plan_;
  std::vector<Entry> entries_;
  uint64_t params_[4] = {0, 0, 0, 0};
  std::vector<std::string> non_finite_;
};

// Everything a layer needs while planning; `plan` is the activation plan.
struct BuildCtx {
  WeightTable& weights;
  ArenaPlan& plan;
  Backend& backend;
  int batch;  // max_batch: activations are sized for it
  Part part;
};

// Activation buffer sized for max_batch worlds of c x h x w.
struct Act {
  Slot slot = kNoSlot;
  int c = 0, h = 0, w = 0;
  size_t per() const { return size_t(c) * h * w; }
};
Act plan_act(BuildCtx& b, int c, int h, int w);

struct Conv {
  int cin = 0, cout = 0, k = 0, stride = 1;
  Slot w = kNoSlot, b = kNoSlot;
  ConvShape shape(int n, int h, int w) const;
};
// Conv named `prefix`.weight / `prefix`.bias, padding k/2 (PyTorch padding=1 for 3x3, 0 for 1x1).
// w_scale / b_scale multiply the weight / bias at load (folding the latent scale).
Conv plan_conv(BuildCtx& b, const std::string& prefix, int cin, int cout, int k, int stride,
               float w_scale = 1.0f, float b_scale = 1.0f);

// nn.GroupNorm with affine weight/bias.
struct Norm {
  int c = 0, groups = 0;
  Slot gamma = kNoSlot, beta = kNoSlot;
};
Norm plan_norm(BuildCtx& b, const std::string& prefix, int c, int groups);

// AdaGroupNorm: `prefix`.linear maps cond [n, cond_dim] to [scale; shift]; the per-call scale and
// shift land in their own [max_batch, c] buffers.
struct AdaNorm {
  int c = 0, groups = 0, cond_dim = 0;
  Slot w = kNoSlot, b = kNoSlot;
  Slot scale = kNoSlot, shift = kNoSlot;
};

struct AttentionLayer {
  int c = 0, heads = 0;
  Norm norm;
  Conv qkv, proj;
  Act normed, qkv_out, attn_out, out;
};

// ResBlock (see train/modules.py): norm1 -> SiLU -> conv1, norm2 -> SiLU -> conv2, + skip,
// then optional attention. Adaptive (denoiser) or affine (autoencoder) norms.
struct ResBlockLayer {
  int cin = 0, cout = 0, h = 0, w = 0;
  bool adaptive = false;
  Norm norm1, norm2;
  AdaNorm ada1, ada2;
  Conv conv1, conv2;
  bool has_skip = false;
  Conv skip;
  bool has_attention = false;
  AttentionLayer attn;
  Act mid, skip_out, out;
  // Where the block's result ends up (out, or attn.out with attention).
  const Act& result() const { return has_attention ? attn.out : out; }
};
// cond_dim > 0: adaptive norms; heads > 0: attention after the block.
ResBlockLayer plan_resblock(BuildCtx& b, const std::string& prefix, int cin, int cout, int h, int w,
                            int groups, int cond_dim, int heads);

// Runtime view of the arena for the forward passes.
struct Exec {
  Backend& be;
  float* weights;      // weight region base
  float* activations;  // activation region base
  int n;               // worlds in this call
  float* at(Slot s) const {
    if (s == kNoSlot) return nullptr;
    return (s & kWeightSlot) ? weights + (s & ~kWeightSlot) : activations + s;
  }
  float* at(const Act& a) const { return at(a.slot); }
};

constexpr float kGroupNormEps = 1e-5f;

// AdaNorm scale/shift from cond [n, cond_dim] (call once per evaluation, before the blocks).
void run_ada_linear(const Exec& e, const AdaNorm& a, const float* cond);
// x (cin) -> result() (cout).
void run_resblock(const Exec& e, const ResBlockLayer& r, const float* x);
// y = conv(x) (+ residual).
void run_conv(const Exec& e, const Conv& c, int h, int w, const float* x, float* y,
              const float* residual = nullptr);

}  // namespace wl
