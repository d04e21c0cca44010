// Device plumbing for the CUDA backend: the "is there a GPU that can run us" probe, an arena that
// owns all device memory of a model, a pinned host buffer, streams and CUDA-graph capture.
// No CUDA includes here, so plain C++ (backend, tests, benchmarks) can use it. Every failing CUDA
// call throws wl::Error naming the call and cudaGetErrorString.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wl {
namespace cuda {

// True when a CUDA device exists and can run this build's kernels; otherwise false and `why` says
// what failed (e.g. "no CUDA device: no CUDA-capable device is detected"). Never throws.
bool device_usable(std::string* why);

struct DeviceInfo {
  std::string name;
  int sm_count = 0;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;
};
DeviceInfo device_info();  // of the current device; throws if none

// Throws wl::Error(WL_ERR_INTERNAL, "<what>: <cudaGetErrorString>") when err != cudaSuccess.
void check(int err, const char* what);

// Owns device memory for one model: chunks are cudaMalloc'ed while the model is built (load time)
// and handed out by bumping an offset (256-byte aligned); nothing is freed until destruction, so a
// frame never allocates.
class DeviceArena {
 public:
  explicit DeviceArena(size_t chunk_bytes = size_t(64) << 20);
  ~DeviceArena();
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;

  void* alloc(size_t bytes);
  template <class T>
  T* alloc_n(size_t n) {
    return static_cast<T*>(alloc(n * sizeof(T)));
  }
  size_t bytes_used() const { return used_; }
  size_t bytes_reserved() const { return reserved_; }

 private:
  struct Chunk {
    char* base;
    size_t size, offset;
  };
  std::vector<Chunk> chunks_;
  size_t chunk_bytes_, used_ = 0, reserved_ = 0;
};

// Page-locked host memory: device-to-host copies into it run at full speed and asynchronously,
// which is what the decoded frame needs.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void* data() const { return p_; }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// Plain device buffer for tests and benchmarks (the backend uses the arena). upload/download
// synchronise the whole device, so they are safe around work on any stream.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return p_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }
  void upload(const void* host, size_t bytes);
  void download(void* host, size_t bytes) const;

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

// A non-blocking stream (so work on it never serialises against the legacy default stream).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* get() const { return s_; }  // cudaStream_t
  void synchronize() const;

 private:
  void* s_ = nullptr;
};

// Records everything enqueued on a stream between begin() and end() into an executable graph,
// then replays it with one launch. Kernel arguments (pointers, shapes, constants) are frozen at
// capture, so inputs that change per frame must live at fixed device addresses.
class Graph {
 public:
  Graph() = default;
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void begin(void* stream);
  void end(void* stream);  // ends capture and instantiates
  void abort(void* stream);  // ends a capture that failed, discarding it
  void launch(void* stream) const;
  bool ready() const { return exec_ != nullptr; }
  void reset();

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

// Async copies and fills on a stream (the host side of these must be pinned to be truly async).
void copy_h2d(void* stream, void* dst, const void* src, size_t bytes);
void copy_d2h(void* stream, void* dst, const void* src, size_t bytes);
void copy_d2d(void* stream, void* dst, const void* src, size_t bytes);
void fill_zero(void* stream, void* dst, size_t bytes);
void synchronize(void* stream);

// Milliseconds between two events recorded on a stream; for benchmarks.
class Timer {
 public:
  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start(void* stream);
  double stop_ms(void* stream);  // records the end, waits for it, returns elapsed ms

 private:
  void* a_ = nullptr;
  void* b_ = nullptr;
};

}  // namespace cuda
}  // namespace wl
