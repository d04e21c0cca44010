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
#include "model/env_switch.h"

namespace wl {
namespace cuda {
namespace {

// One recorded op: the table's call, with its per-world host pointers cleared (their values
// are staged, see stage_params), plus an optional copy of its output to pinned host memory
// that belongs in the same graph (the RGB8 frame). Sequences compare by value.
struct Cmd {
  OpCall call;
  uint64_t param_off = 0;  // byte offset of this op's per-world values in the param buffer
  void* copy_dst = nullptr;
  const void* copy_src = nullptr;
  size_t copy_bytes = 0;
};
bool operator==(const Cmd& a, const Cmd& b) {
  return a.param_off == b.param_off && a.copy_dst == b.copy_dst && a.copy_src == b.copy_src &&
         a.copy_bytes == b.copy_bytes && a.call == b.call;
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
    return "\"device\":\"" + json_escape(info_.name) +
           "\",\"sm_count\":" + std::to_string(info_.sm_count) + ",\"compute_capability\":\"" +
           std::to_string(info_.cc_major) + "." + std::to_string(info_.cc_minor) +
           "\",\"precision\":\"" + precision_name(opts_.precision) +
           "\",\"profile\":" + (opts_.profile ? "true" : "false") +
           ",\"graphs\":" + (opts_.graphs ? "true" : "false") +
           ",\"graph_captures\":" + std::to_string(captures_) +
           ",\"graph_replays\":" + std::to_string(replays_);
  }

  // ---- planning ----
  size_t conv_packed_floats(int cout, int cin, int k) const override {
    return (conv2d_packed_bytes(opts_.precision, cout, cin, k) + 3) / 4;
  }
  // Shapes arrive at max_batch, but a call may run fewer worlds, and fewer worlds mean fewer
  // tiles and so more K splits: the convolutions are sized for every batch up to the one given.
  void reserve(const OpCall& call) override {
    OpCall t = call;
    if (auto* c = std::get_if<Conv2dArgs>(&t)) {
      for (c->s.n = 1; c->s.n <= std::get<Conv2dArgs>(call).s.n; ++c->s.n)
        scratch_bytes_ = std::max(scratch_bytes_, cuda::scratch_bytes(ctx_, opts_.precision, *c));
    } else if (auto* g = std::get_if<GnSiluConv2dArgs>(&t)) {
      for (g->cs.n = 1; g->cs.n <= std::get<GnSiluConv2dArgs>(call).cs.n; ++g->cs.n) {
        g->gs.n = g->cs.n;
        scratch_bytes_ = std::max(scratch_bytes_, cuda::scratch_bytes(ctx_, opts_.precision, *g));
      }
    } else {
      scratch_bytes_ = std::max(
          scratch_bytes_,
          std::visit([&](const auto& a) { return cuda::scratch_bytes(ctx_, opts_.precision, a); },
                     call));
    }
  }

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
      check(cudaMemsetAsync(ctx_.scratch, 0, scratch_bytes_, stream()),
            "cudaMemsetAsync (scratch)");
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
    Cmd c;
    c.call = RgbF32ToU8Args{n, h, w, x, static_cast<uint8_t*>(rgb_dev_)};
    c.copy_dst = rgb_down_->data();
    c.copy_src = rgb_dev_;
    c.copy_bytes = bytes;
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
  void run(const OpCall& call) override {
    Cmd c;
    c.call = call;
    // Per-world host values go to the pinned staging buffer; the record keeps none of them.
    if (auto* a = std::get_if<ScaleAddArgs>(&c.call)) {
      float* dst = static_cast<float*>(stage_params(c, 2 * size_t(a->batch) * sizeof(float)));
      std::memcpy(dst, a->a, size_t(a->batch) * sizeof(float));
      if (a->z) {
        std::memcpy(dst + a->batch, a->c, size_t(a->batch) * sizeof(float));
      } else {
        std::memset(dst + a->batch, 0, size_t(a->batch) * sizeof(float));
      }
      a->a = a->c = nullptr;
    } else if (auto* f = std::get_if<FourierArgs>(&c.call)) {
      void* dst = stage_params(c, size_t(f->batch) * sizeof(float));
      std::memcpy(dst, f->t, size_t(f->batch) * sizeof(float));
      f->t = nullptr;
    } else if (auto* nz = std::get_if<NormalNoiseArgs>(&c.call)) {
      uint64_t* dst =
          static_cast<uint64_t*>(stage_params(c, 2 * size_t(nz->batch) * sizeof(uint64_t)));
      std::memcpy(dst, nz->seed, size_t(nz->batch) * sizeof(uint64_t));
      std::memcpy(dst + nz->batch, nz->frame, size_t(nz->batch) * sizeof(uint64_t));
      nz->seed = nz->frame = nullptr;
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
    // Point the per-world arguments at this op's slice of the device copy of the staging buffer.
    OpCall call = c.call;
    const char* params = params_dev_ + c.param_off;
    if (auto* a = std::get_if<ScaleAddArgs>(&call)) {
      a->a = reinterpret_cast<const float*>(params);
      a->c = a->a + a->batch;
    } else if (auto* f = std::get_if<FourierArgs>(&call)) {
      f->t = reinterpret_cast<const float*>(params);
    } else if (auto* nz = std::get_if<NormalNoiseArgs>(&call)) {
      nz->seed = reinterpret_cast<const uint64_t*>(params);
      nz->frame = nz->seed + nz->batch;
    }
    std::visit([&](const auto& args) { cuda::run(ctx_, opts_.precision, args); }, call);
    if (c.copy_bytes) {
      check(cudaMemcpyAsync(c.copy_dst, c.copy_src, c.copy_bytes, cudaMemcpyDeviceToHost, stream()),
            "cudaMemcpyAsync (frame to pinned)");
    }
  }

  // Enqueues a recorded sequence. Consecutive Linears over the same input (none writing it)
  // become one batched launch: the denoiser issues ~50 of them per evaluation.
  void execute_all(const std::vector<Cmd>& cmds) {
    for (size_t i = 0; i < cmds.size();) {
      const LinearArgs* first = std::get_if<LinearArgs>(&cmds[i].call);
      size_t j = i + 1;
      if (first && first->y != first->x) {
        auto joins = [&](const Cmd& d) {
          const LinearArgs* l = std::get_if<LinearArgs>(&d.call);
          if (!l || l->x != first->x || l->n != first->n || l->in != first->in || l->y == first->x)
            return false;
          for (size_t k = i; k < j; ++k)  // same output: keep program order
            if (std::get<LinearArgs>(cmds[k].call).y == l->y) return false;
          return true;
        };
        while (j < cmds.size() && j - i < size_t(kMaxLinearJobs) && joins(cmds[j])) ++j;
      }
      if (j - i > 1) {
        LinearBatch lb;
        std::memset(&lb, 0, sizeof(lb));
        lb.x = first->x;
        lb.n = first->n;
        lb.in = first->in;
        lb.count = int(j - i);
        for (size_t k = i; k < j; ++k) {
          const LinearArgs& l = std::get<LinearArgs>(cmds[k].call);
          lb.job[k - i] = LinearJob{l.w, l.b, l.y, l.out};
        }
        linear_batch(ctx_, lb);
      } else {
        execute(cmds[i]);
      }
      i = j;
    }
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
      ProfileEntry& p = profile_[cmds[i].call.index()];
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
                    op_name(OpId(k)), static_cast<unsigned long long>(profile_[k].count),
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
    for (auto& g : graphs_) {
      // A few hundred ops compare in microseconds; no hash needed for a cache this small.
      if (g.key == cmds_) {
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
      auto lru = std::min_element(
          graphs_.begin(), graphs_.end(),
          [](const CachedGraph& a, const CachedGraph& b) { return a.last_use < b.last_use; });
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
  static constexpr int kOpKinds = kOpCount;

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
  const bool bf16 = o.precision == Precision::BF16;
  o.precision = env_choice("WL_CUDA_PRECISION", {"f32", "bf16"}, bf16 ? "bf16" : "f32") == "bf16"
                    ? Precision::BF16
                    : Precision::F32;
  o.graphs = env_switch("WL_CUDA_GRAPHS", o.graphs);
  o.profile = env_switch("WL_CUDA_PROFILE", o.profile);
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
