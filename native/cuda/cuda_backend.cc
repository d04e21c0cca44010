// CUDA backend: op calls from the network code are recorded, not launched. At the next point
// where the host needs results (download, synchronize, an upload that must land after earlier
// work) the recorded sequence is flushed: looked up in a cache of CUDA graphs by its exact
// content (op kinds, shapes, arena pointers), captured into a new graph on first sight, and
// replayed with a single launch. A frame (N denoiser steps + decode + the copy of the RGB8
// frame into pinned memory) thus costs one graph launch instead of hundreds of kernel launches.
//
// Per-world host scalars (Euler coefficients, Fourier times, Philox keys) change every frame, so
// they are not baked into the graph: each recorded op writes them into a pinned staging buffer at
// an offset fixed by its position in the sequence, and one async copy moves that buffer to device
// memory right before the graph runs. Same sequence -> same offsets -> the graph reads the new
// values.
#include "cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "capi/error.h"
#include "cuda/device.h"

namespace wl {
namespace cuda {
namespace {

enum class Op : int32_t {
  Conv,
  GroupNorm,
  GnSiluConv,
  Silu,
  Add,
  Linear,
  Concat,
  Upsample,
  Attention,
  ScaleAdd,
  Fourier,
  Noise,
  RgbToU8,
};

// One recorded op. Plain bytes, zero-initialised, so a sequence compares with memcmp.
struct Cmd {
  Op op;
  int32_t i[16];
  float f;
  uint64_t u[2];
  const void* p[10];
  uint64_t param_off;  // byte offset of this op's per-world values in the param buffer
};

// No padding anywhere, so memset + field stores define every byte that memcmp looks at.
static_assert(sizeof(Cmd) == 4 + 16 * 4 + 4 + 2 * 8 + 10 * sizeof(void*) + 8, "Cmd has padding");

Cmd blank(Op op) {
  Cmd c;
  std::memset(&c, 0, sizeof(c));
  c.op = op;
  return c;
}

void put_conv(const ConvShape& s, int32_t* i) {
  i[0] = s.n;
  i[1] = s.cin;
  i[2] = s.h;
  i[3] = s.w;
  i[4] = s.cout;
  i[5] = s.k;
  i[6] = s.stride;
  i[7] = s.pad;
}
ConvShape get_conv(const int32_t* i) {
  ConvShape s;
  s.n = i[0];
  s.cin = i[1];
  s.h = i[2];
  s.w = i[3];
  s.cout = i[4];
  s.k = i[5];
  s.stride = i[6];
  s.pad = i[7];
  return s;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

constexpr size_t kParamBytes = size_t(1) << 20;  // per-world scalars of one flushed sequence
constexpr size_t kMaxGraphs = 16;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& opts) : opts_(opts) {
    check(cudaSetDevice(opts.device), "cudaSetDevice");
    info_ = device_info();
    stream_ = std::make_unique<Stream>();
    arena_ = std::make_unique<DeviceArena>();
    ctx_.stream = stream_->get();
    ctx_.sm_count = info_.sm_count;
    check(cudaEventCreateWithFlags(&params_copied_, cudaEventDisableTiming), "cudaEventCreate");
    if (opts_.profile) opts_.graphs = false;  // per-op timing needs the ops launched one by one
  }
  ~CudaBackend() override {
    // Nothing may still be running on memory we are about to free.
    if (stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_->get()));
    if (opts_.profile) print_profile();
    for (cudaEvent_t e : prof_events_) cudaEventDestroy(e);
    graphs_.clear();
    if (params_copied_) cudaEventDestroy(params_copied_);
  }

  const char* name() const override { return "cuda"; }

  std::string describe_json() const override {
    return "\"device\":\"" + json_escape(info_.name) + "\",\"sm_count\":" +
           std::to_string(info_.sm_count) + ",\"compute_capability\":\"" +
           std::to_string(info_.cc_major) + "." + std::to_string(info_.cc_minor) +
           "\",\"precision\":\"" + precision_name(opts_.precision) + "\",\"profile\":" +
           (opts_.profile ? "true" : "false") + ",\"graphs\":" +
           (opts_.graphs ? "true" : "false") + ",\"graph_captures\":" +
           std::to_string(captures_) + ",\"graph_replays\":" + std::to_string(replays_);
  }

  // ---- planning ----
  size_t conv_packed_floats(int cout, int cin, int k) const override {
    return (conv2d_packed_bytes(opts_.precision, cout, cin, k) + 3) / 4;
  }
  // Shapes arrive at max_batch, but a call may run fewer worlds, and fewer worlds mean fewer
  // tiles and so more K splits: size for every batch up to the one given.
  void reserve_conv(const ConvShape& s) override {
    ConvShape t = s;
    for (t.n = 1; t.n <= s.n; ++t.n)
      scratch_bytes_ = std::max(scratch_bytes_, conv2d_scratch_bytes(ctx_, opts_.precision, t));
  }
  void reserve_gn_silu_conv(const GroupNormShape& gs, const ConvShape& cs) override {
    GroupNormShape g = gs;
    ConvShape t = cs;
    for (t.n = 1; t.n <= cs.n; ++t.n) {
      g.n = t.n;
      scratch_bytes_ = std::max(scratch_bytes_,
                                gn_silu_conv2d_scratch_bytes(ctx_, opts_.precision, g, t));
    }
  }
  void reserve_attention(const AttentionShape&) override {}

  float* allocate(size_t arena_floats) override {
    if (arena_base_) throw Error(WL_ERR_INTERNAL, "cuda backend: allocate called twice");
    activate();
    arena_base_ = arena_->alloc_n<float>(arena_floats);
    arena_floats_ = arena_floats;
    if (scratch_bytes_) ctx_.scratch = arena_->alloc(scratch_bytes_);
    ctx_.scratch_bytes = scratch_bytes_;
    params_dev_ = static_cast<char*>(arena_->alloc(kParamBytes));
    params_host_ = std::make_unique<PinnedBuffer>(kParamBytes);
    check(cudaMemsetAsync(arena_base_, 0, arena_floats * sizeof(float), stream()),
          "cudaMemsetAsync (arena)");
    if (ctx_.scratch) {  // the split-K tile counters at its start must begin at zero
      check(cudaMemsetAsync(ctx_.scratch, 0, scratch_bytes_, stream()), "cudaMemsetAsync (scratch)");
    }
    synchronize_stream();
    return arena_base_;
  }
  // Device memory (arena chunks: activations, weights, scratch, parameters, RGB staging) plus
  // pinned host memory.
  size_t memory_bytes() const override {
    return arena_->bytes_reserved() + (params_host_ ? kParamBytes : 0) + rgb_pinned_bytes();
  }

  // ---- transfers ----
  void upload(float* dst, const float* src_host, size_t n) override {
    activate();
    flush();  // recorded ops before this upload may still read the old contents of dst
    check(cudaMemcpyAsync(dst, src_host, n * sizeof(float), cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (upload)");
  }
  void download(float* dst_host, const float* src, size_t n) override {
    activate();
    flush();
    check(cudaMemcpyAsync(dst_host, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream()),
          "cudaMemcpyAsync (download)");
    synchronize_stream();
  }
  void upload_conv_weight(int cout, int cin, int k, const float* w_host, float* dst) override {
    activate();
    flush();
    std::vector<unsigned char> packed(conv2d_packed_bytes(opts_.precision, cout, cin, k));
    conv2d_pack(opts_.precision, cout, cin, k, w_host, packed.data());
    check(cudaMemcpyAsync(dst, packed.data(), packed.size(), cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (weights)");
    synchronize_stream();  // `packed` dies here
  }
  void upload_rgb_u8(int n, int h, int w, const uint8_t* rgb_host, float* y) override {
    activate();
    flush();
    const size_t bytes = size_t(n) * h * w * 3;
    ensure_rgb_staging(bytes);
    std::memcpy(rgb_up_->data(), rgb_host, bytes);
    check(cudaMemcpyAsync(rgb_dev_, rgb_up_->data(), bytes, cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (rgb upload)");
    rgb_u8_to_f32(ctx_, n, h, w, static_cast<const uint8_t*>(rgb_dev_), y);
    synchronize_stream();  // the staging buffers are reused by the next transfer
  }
  void download_rgb_u8(int n, int h, int w, const float* x, uint8_t* rgb_host) override {
    activate();
    const size_t bytes = size_t(n) * h * w * 3;
    ensure_rgb_staging(bytes);
    Cmd c = blank(Op::RgbToU8);
    c.i[0] = n;
    c.i[1] = h;
    c.i[2] = w;
    c.p[0] = x;
    c.p[1] = rgb_dev_;
    c.p[2] = rgb_down_->data();
    record(c);
    flush();
    synchronize_stream();
    std::memcpy(rgb_host, rgb_down_->data(), bytes);
  }
  void synchronize() override {
    activate();
    flush();
    synchronize_stream();
  }

  // ---- ops: recorded ----
  void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias,
              const float* residual, float* y) override {
    Cmd c = blank(Op::Conv);
    put_conv(s, c.i);
    c.p[0] = x;
    c.p[1] = w;
    c.p[2] = bias;
    c.p[3] = residual;
    c.p[4] = y;
    record(c);
  }
  void group_norm(const GroupNormShape& s, const float* x, const GroupNormParams& p,
                  float* y) override {
    Cmd c = blank(Op::GroupNorm);
    c.i[0] = s.n;
    c.i[1] = s.c;
    c.i[2] = s.hw;
    c.i[3] = s.groups;
    c.i[4] = p.silu ? 1 : 0;
    c.f = s.eps;
    c.p[0] = x;
    c.p[1] = p.gamma;
    c.p[2] = p.beta;
    c.p[3] = p.scale;
    c.p[4] = p.shift;
    c.p[5] = y;
    record(c);
  }
  void gn_silu_conv2d(const GroupNormShape& gs, const GroupNormParams& gp, const ConvShape& cs,
                      const float* x, const float* w, const float* bias, const float* residual,
                      float* y) override {
    Cmd c = blank(Op::GnSiluConv);
    put_conv(cs, c.i);
    c.i[8] = gs.n;
    c.i[9] = gs.c;
    c.i[10] = gs.hw;
    c.i[11] = gs.groups;
    c.f = gs.eps;
    c.p[0] = x;
    c.p[1] = w;
    c.p[2] = bias;
    c.p[3] = residual;
    c.p[4] = y;
    c.p[5] = gp.gamma;
    c.p[6] = gp.beta;
    c.p[7] = gp.scale;
    c.p[8] = gp.shift;
    record(c);
  }
  void silu(size_t n, const float* x, float* y) override {
    Cmd c = blank(Op::Silu);
    c.u[0] = n;
    c.p[0] = x;
    c.p[1] = y;
    record(c);
  }
  void add(size_t n, const float* a, const float* b, float* y) override {
    Cmd c = blank(Op::Add);
    c.u[0] = n;
    c.p[0] = a;
    c.p[1] = b;
    c.p[2] = y;
    record(c);
  }
  void linear(int n, int in, int out, const float* x, const float* w, const float* b,
              float* y) override {
    Cmd c = blank(Op::Linear);
    c.i[0] = n;
    c.i[1] = in;
    c.i[2] = out;
    c.p[0] = x;
    c.p[1] = w;
    c.p[2] = b;
    c.p[3] = y;
    record(c);
  }
  void concat_channels(int n, int ca, int cb, int hw, const float* a, const float* b,
                       float* y) override {
    Cmd c = blank(Op::Concat);
    c.i[0] = n;
    c.i[1] = ca;
    c.i[2] = cb;
    c.i[3] = hw;
    c.p[0] = a;
    c.p[1] = b;
    c.p[2] = y;
    record(c);
  }
  void upsample_nearest2x(int n, int ch, int h, int w, const float* x, float* y) override {
    Cmd c = blank(Op::Upsample);
    c.i[0] = n;
    c.i[1] = ch;
    c.i[2] = h;
    c.i[3] = w;
    c.p[0] = x;
    c.p[1] = y;
    record(c);
  }
  void attention(const AttentionShape& s, const float* qkv, float* y) override {
    Cmd c = blank(Op::Attention);
    c.i[0] = s.n;
    c.i[1] = s.c;
    c.i[2] = s.t;
    c.i[3] = s.heads;
    c.p[0] = qkv;
    c.p[1] = y;
    record(c);
  }
  void scale_add(int batch, size_t per, const float* a_host, const float* x,
                 const float* c_host, const float* z, float* y) override {
    Cmd c = blank(Op::ScaleAdd);
    c.i[0] = batch;
    c.u[0] = per;
    c.p[0] = x;
    c.p[1] = z;
    c.p[2] = y;
    float* dst = static_cast<float*>(stage_params(c, 2 * size_t(batch) * sizeof(float)));
    std::memcpy(dst, a_host, size_t(batch) * sizeof(float));
    if (z) {
      std::memcpy(dst + batch, c_host, size_t(batch) * sizeof(float));
    } else {
      std::memset(dst + batch, 0, size_t(batch) * sizeof(float));
    }
    record(c);
  }
  void fourier(int batch, int half, const float* t_host, const float* freqs, float* y) override {
    Cmd c = blank(Op::Fourier);
    c.i[0] = batch;
    c.i[1] = half;
    c.p[0] = freqs;
    c.p[1] = y;
    void* dst = stage_params(c, size_t(batch) * sizeof(float));
    std::memcpy(dst, t_host, size_t(batch) * sizeof(float));
    record(c);
  }
  void normal_noise(int batch, size_t per, const uint64_t* seed_host, const uint64_t* frame_host,
                    uint32_t step, float* y) override {
    Cmd c = blank(Op::Noise);
    c.i[0] = batch;
    c.u[0] = per;
    c.u[1] = step;
    c.p[0] = y;
    uint64_t* dst = static_cast<uint64_t*>(stage_params(c, 2 * size_t(batch) * sizeof(uint64_t)));
    for (int b = 0; b < batch; ++b) {
      dst[2 * b] = seed_host[b];
      dst[2 * b + 1] = frame_host[b];
    }
    record(c);
  }

 private:
  struct CachedGraph {
    std::vector<Cmd> key;
    uint64_t last_use = 0;
    std::unique_ptr<Graph> graph;
  };

  cudaStream_t stream() const { return static_cast<cudaStream_t>(stream_->get()); }
  // The model may be driven from any thread (async workers); the current device is per thread.
  void activate() { check(cudaSetDevice(opts_.device), "cudaSetDevice"); }
  void synchronize_stream() { check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize"); }
  size_t rgb_pinned_bytes() const {
    return (rgb_up_ ? rgb_up_->bytes() : 0) + (rgb_down_ ? rgb_down_->bytes() : 0);
  }

  void record(const Cmd& c) {
    if (!arena_base_) throw Error(WL_ERR_INTERNAL, "cuda backend: op before allocate");
    cmds_.push_back(c);
  }

  // Reserves per-world bytes for `c` in the pinned param buffer and returns where to write them.
  void* stage_params(Cmd& c, size_t bytes) {
    if (!params_host_) throw Error(WL_ERR_INTERNAL, "cuda backend: op before allocate");
    if (param_used_ == 0) {
      // The previous sequence's copy out of this buffer must be done before we overwrite it.
      check(cudaEventSynchronize(params_copied_), "cudaEventSynchronize");
    }
    const size_t off = (param_used_ + 15) / 16 * 16;
    if (off + bytes > kParamBytes) {
      throw Error(WL_ERR_INTERNAL, "cuda backend: per-world parameters of one frame exceed " +
                                       std::to_string(kParamBytes) + " bytes");
    }
    c.param_off = off;
    param_used_ = off + bytes;
    return static_cast<char*>(params_host_->data()) + off;
  }

  void ensure_rgb_staging(size_t bytes) {
    // Grows only; sized by the first decode/encode of a given batch, then reused every frame.
    if (bytes <= rgb_dev_bytes_) return;
    flush();
    synchronize_stream();
    rgb_dev_ = arena_->alloc(bytes);
    rgb_dev_bytes_ = bytes;
    rgb_up_ = std::make_unique<PinnedBuffer>(bytes);
    rgb_down_ = std::make_unique<PinnedBuffer>(bytes);
  }

  void execute(const Cmd& c) {
    const Precision prec = opts_.precision;
    const char* params = params_dev_ + c.param_off;
    const float* const* fp = reinterpret_cast<const float* const*>(c.p);
    switch (c.op) {
      case Op::Conv: {
        ConvEpilogue ep;
        ep.bias = fp[2];
        ep.residual = fp[3];
        cuda::conv2d(ctx_, prec, get_conv(c.i), fp[0], c.p[1], ep, const_cast<float*>(fp[4]));
        break;
      }
      case Op::GroupNorm: {
        GroupNormShape s{c.i[0], c.i[1], c.i[2], c.i[3], c.f};
        GroupNormParams p;
        p.gamma = fp[1];
        p.beta = fp[2];
        p.scale = fp[3];
        p.shift = fp[4];
        p.silu = c.i[4] != 0;
        cuda::group_norm(ctx_, s, fp[0], p, const_cast<float*>(fp[5]));
        break;
      }
      case Op::GnSiluConv: {
        GroupNormShape gs{c.i[8], c.i[9], c.i[10], c.i[11], c.f};
        GroupNormParams gp;
        gp.gamma = fp[5];
        gp.beta = fp[6];
        gp.scale = fp[7];
        gp.shift = fp[8];
        gp.silu = true;
        ConvEpilogue ep;
        ep.bias = fp[2];
        ep.residual = fp[3];
        cuda::gn_silu_conv2d(ctx_, prec, gs, gp, get_conv(c.i), fp[0], c.p[1], ep,
                             const_cast<float*>(fp[4]));
        break;
      }
      case Op::Silu:
        cuda::silu(ctx_, c.u[0], fp[0], const_cast<float*>(fp[1]));
        break;
      case Op::Add:
        cuda::add(ctx_, c.u[0], fp[0], fp[1], const_cast<float*>(fp[2]));
        break;
      case Op::Linear:  // single Linears only; runs of them go through execute_all's merge
        cuda::linear(ctx_, c.i[0], c.i[1], c.i[2], fp[0], fp[1], fp[2], const_cast<float*>(fp[3]));
        break;
      case Op::Concat:
        cuda::concat_channels(ctx_, c.i[0], c.i[1], c.i[2], c.i[3], fp[0], fp[1],
                              const_cast<float*>(fp[2]));
        break;
      case Op::Upsample:
        cuda::upsample_nearest2x(ctx_, c.i[0], c.i[1], c.i[2], c.i[3], fp[0],
                                 const_cast<float*>(fp[1]));
        break;
      case Op::Attention:
        cuda::attention(ctx_, AttentionShape{c.i[0], c.i[1], c.i[2], c.i[3]}, fp[0],
                        const_cast<float*>(fp[1]));
        break;
      case Op::ScaleAdd: {
        const float* a = reinterpret_cast<const float*>(params);
        cuda::scale_add(ctx_, c.i[0], c.u[0], a, fp[0], a + c.i[0], fp[1],
                        const_cast<float*>(fp[2]));
        break;
      }
      case Op::Fourier:
        cuda::fourier(ctx_, c.i[0], c.i[1], reinterpret_cast<const float*>(params), fp[0],
                      const_cast<float*>(fp[1]));
        break;
      case Op::Noise:
        cuda::normal_noise(ctx_, c.i[0], c.u[0], reinterpret_cast<const uint64_t*>(params),
                           uint32_t(c.u[1]), const_cast<float*>(fp[0]));
        break;
      case Op::RgbToU8: {
        cuda::rgb_f32_to_u8(ctx_, c.i[0], c.i[1], c.i[2], fp[0],
                            static_cast<uint8_t*>(const_cast<void*>(c.p[1])));
        const size_t bytes = size_t(c.i[0]) * c.i[1] * c.i[2] * 3;
        check(cudaMemcpyAsync(const_cast<void*>(c.p[2]), c.p[1], bytes, cudaMemcpyDeviceToHost,
                              stream()),
              "cudaMemcpyAsync (frame to pinned)");
        break;
      }
    }
  }

  // Enqueues a recorded sequence. Consecutive Linears over the same input (none writing it)
  // become one batched launch: the denoiser issues ~50 of them per evaluation.
  void execute_all(const std::vector<Cmd>& cmds) {
    for (size_t i = 0; i < cmds.size();) {
      const Cmd& c = cmds[i];
      size_t j = i + 1;
      if (c.op == Op::Linear) {
        auto joins = [&](const Cmd& d) {
          if (d.op != Op::Linear || d.p[0] != c.p[0] || d.i[0] != c.i[0] || d.i[1] != c.i[1] ||
              d.p[3] == c.p[0])
            return false;
          for (size_t k = i; k < j; ++k)
            if (cmds[k].p[3] == d.p[3]) return false;  // same output: keep program order
          return true;
        };
        while (j < cmds.size() && j - i < size_t(kMaxLinearJobs) && joins(cmds[j])) ++j;
      }
      if (c.op == Op::Linear && c.p[3] != c.p[0] && j - i > 1) {
        LinearBatch lb;
        std::memset(&lb, 0, sizeof(lb));
        lb.x = static_cast<const float*>(c.p[0]);
        lb.n = c.i[0];
        lb.in = c.i[1];
        lb.count = int(j - i);
        for (size_t k = i; k < j; ++k) {
          LinearJob& job = lb.job[k - i];
          job.w = static_cast<const float*>(cmds[k].p[1]);
          job.b = static_cast<const float*>(cmds[k].p[2]);
          job.y = static_cast<float*>(const_cast<void*>(cmds[k].p[3]));
          job.out = cmds[k].i[2];
        }
        linear_batch(ctx_, lb);
      } else {
        j = i + 1;
        execute(c);
      }
      i = j;
    }
  }

  static const char* op_name(Op op) {
    switch (op) {
      case Op::Conv: return "conv2d";
      case Op::GroupNorm: return "group_norm";
      case Op::GnSiluConv: return "gn_silu_conv2d";
      case Op::Silu: return "silu";
      case Op::Add: return "add";
      case Op::Linear: return "linear";
      case Op::Concat: return "concat";
      case Op::Upsample: return "upsample";
      case Op::Attention: return "attention";
      case Op::ScaleAdd: return "scale_add";
      case Op::Fourier: return "fourier";
      case Op::Noise: return "normal_noise";
      case Op::RgbToU8: return "rgb_to_u8+copy";
    }
    return "?";
  }

  // Profiling: each op (Linears unmerged) between two events; times summed per op kind.
  void execute_profiled(const std::vector<Cmd>& cmds) {
    while (prof_events_.size() < cmds.size() + 1) {
      cudaEvent_t e;
      check(cudaEventCreate(&e), "cudaEventCreate");
      prof_events_.push_back(e);
    }
    check(cudaEventRecord(prof_events_[0], stream()), "cudaEventRecord");
    for (size_t i = 0; i < cmds.size(); ++i) {
      execute(cmds[i]);
      check(cudaEventRecord(prof_events_[i + 1], stream()), "cudaEventRecord");
    }
    check(cudaEventSynchronize(prof_events_[cmds.size()]), "cudaEventSynchronize");
    for (size_t i = 0; i < cmds.size(); ++i) {
      float ms = 0;
      check(cudaEventElapsedTime(&ms, prof_events_[i], prof_events_[i + 1]),
            "cudaEventElapsedTime");
      ProfileEntry& p = profile_[int(cmds[i].op)];
      p.count += 1;
      p.ms += ms;
    }
  }

  void print_profile() const {
    std::string line = "{\"bench\":\"cuda_op_profile\",\"machine\":\"" + json_escape(info_.name) +
                       "\",\"precision\":\"" + precision_name(opts_.precision) + "\",\"ops\":{";
    bool first = true;
    double total = 0;
    for (int k = 0; k < kOpKinds; ++k) {
      if (!profile_[k].count) continue;
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s\"%s\":{\"count\":%llu,\"ms\":%.4f}", first ? "" : ",",
                    op_name(Op(k)), static_cast<unsigned long long>(profile_[k].count),
                    profile_[k].ms);
      line += buf;
      total += profile_[k].ms;
      first = false;
    }
    char tail[64];
    std::snprintf(tail, sizeof tail, "},\"total_ms\":%.4f}", total);
    std::fprintf(stderr, "%s%s\n", line.c_str(), tail);
  }

  // Runs everything recorded since the last flush. cmds_ keeps its capacity, so after the
  // first frame recording allocates nothing.
  void flush() {
    if (cmds_.empty()) return;
    struct Clear {
      CudaBackend* b;
      ~Clear() {
        b->cmds_.clear();
        b->param_used_ = 0;
      }
    } clear{this};
    activate();
    if (param_used_) {
      check(cudaMemcpyAsync(params_dev_, params_host_->data(), param_used_, cudaMemcpyHostToDevice,
                            stream()),
            "cudaMemcpyAsync (per-world parameters)");
      check(cudaEventRecord(params_copied_, stream()), "cudaEventRecord");
    }
    if (opts_.profile) {
      execute_profiled(cmds_);
      return;
    }
    if (!opts_.graphs) {
      execute_all(cmds_);
      return;
    }
    ++clock_;
    const size_t bytes = cmds_.size() * sizeof(Cmd);
    for (auto& g : graphs_) {
      // A few hundred ops compare in microseconds; no hash needed for a cache this small.
      if (g.key.size() == cmds_.size() && std::memcmp(g.key.data(), cmds_.data(), bytes) == 0) {
        g.last_use = clock_;
        g.graph->launch(stream_->get());
        ++replays_;
        return;
      }
    }
    auto graph = std::make_unique<Graph>();
    graph->begin(stream_->get());
    try {
      execute_all(cmds_);
      graph->end(stream_->get());
    } catch (...) {
      graph->abort(stream_->get());
      throw;
    }
    if (graphs_.size() >= kMaxGraphs) {
      auto lru = std::min_element(graphs_.begin(), graphs_.end(),
                                  [](const CachedGraph& a, const CachedGraph& b) {
                                    return a.last_use < b.last_use;
                                  });
      synchronize_stream();  // the evicted graph may still be running
      graphs_.erase(lru);
    }
    CachedGraph cg;
    cg.key = cmds_;
    cg.last_use = clock_;
    cg.graph = std::move(graph);
    graphs_.push_back(std::move(cg));
    graphs_.back().graph->launch(stream_->get());
    ++captures_;
  }

  struct ProfileEntry {
    uint64_t count = 0;
    double ms = 0;
  };
  static constexpr int kOpKinds = int(Op::RgbToU8) + 1;

  CudaBackendOptions opts_;
  DeviceInfo info_;
  ProfileEntry profile_[kOpKinds];
  std::vector<cudaEvent_t> prof_events_;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<DeviceArena> arena_;
  Ctx ctx_;
  size_t scratch_bytes_ = 0;
  float* arena_base_ = nullptr;
  size_t arena_floats_ = 0;
  char* params_dev_ = nullptr;
  std::unique_ptr<PinnedBuffer> params_host_;
  size_t param_used_ = 0;
  cudaEvent_t params_copied_ = nullptr;
  void* rgb_dev_ = nullptr;
  size_t rgb_dev_bytes_ = 0;
  std::unique_ptr<PinnedBuffer> rgb_up_, rgb_down_;
  std::vector<Cmd> cmds_;
  std::vector<CachedGraph> graphs_;
  uint64_t clock_ = 0, captures_ = 0, replays_ = 0;
};

}  // namespace

CudaBackendOptions CudaBackendOptions::from_env() {
  CudaBackendOptions o;
  if (const char* p = std::getenv("WL_CUDA_PRECISION")) {
    const std::string v = p;
    if (v == "bf16") {
      o.precision = Precision::BF16;
    } else if (v == "f32") {
      o.precision = Precision::F32;
    } else {
      throw Error(WL_ERR_INVALID_ARGUMENT,
                  "WL_CUDA_PRECISION must be f32 or bf16, got \"" + v + "\"");
    }
  }
  if (const char* g = std::getenv("WL_CUDA_GRAPHS")) {
    const std::string v = g;
    if (v == "0" || v == "1") {
      o.graphs = v == "1";
    } else {
      throw Error(WL_ERR_INVALID_ARGUMENT, "WL_CUDA_GRAPHS must be 0 or 1, got \"" + v + "\"");
    }
  }
  if (const char* p = std::getenv("WL_CUDA_PROFILE")) {
    const std::string v = p;
    if (v != "0" && v != "1") {
      throw Error(WL_ERR_INVALID_ARGUMENT, "WL_CUDA_PROFILE must be 0 or 1, got \"" + v + "\"");
    }
    o.profile = v == "1";
  }
  if (const char* d = std::getenv("WL_CUDA_DEVICE")) {
    char* end = nullptr;
    long v = std::strtol(d, &end, 10);
    if (!*d || *end || v < 0 || v > 1024) {
      throw Error(WL_ERR_INVALID_ARGUMENT,
                  std::string("WL_CUDA_DEVICE must be a device index, got \"") + d + "\"");
    }
    o.device = int(v);
  }
  return o;
}

bool cuda_backend_usable(std::string* why) { return device_usable(why); }

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& opts) {
  std::string why;
  if (!device_usable(&why)) throw Error(WL_ERR_UNSUPPORTED, why);
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (opts.device >= count) {
    throw Error(WL_ERR_UNSUPPORTED, "CUDA device " + std::to_string(opts.device) +
                                        " requested but only " + std::to_string(count) +
                                        " present");
  }
  return std::make_unique<CudaBackend>(opts);
}

}  // namespace cuda
}  // namespace wl
