#include "cuda/device.h"

#include <cuda_runtime.h>

#include <string>

#include "capi/error.h"

namespace wl {
namespace cuda {

// Defined in probe.cu: asks the runtime whether this build's kernels have an image for the device.
int probe_kernel_image();

void check(int err, const char* what) {
  if (err != cudaSuccess) {
    // Clear the sticky "last error" so the next call starts clean (non-sticky errors only).
    cudaGetLastError();
    throw Error(WL_ERR_INTERNAL, std::string(what) + ": " +
                                     cudaGetErrorString(static_cast<cudaError_t>(err)));
  }
}

bool device_usable(std::string* why) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why) {
      *why = std::string("no CUDA device: ") +
             (e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount returned 0");
    }
    cudaGetLastError();
    return false;
  }
  e = cudaFree(nullptr);  // creates the context: fails here when the driver is unusable
  if (e != cudaSuccess) {
    if (why) *why = std::string("no CUDA device: ") + cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  e = static_cast<cudaError_t>(probe_kernel_image());
  if (e != cudaSuccess) {
    if (why) {
      cudaDeviceProp prop{};
      cudaGetDeviceProperties(&prop, 0);
      *why = std::string("CUDA device ") + prop.name + " (sm_" + std::to_string(prop.major) +
             std::to_string(prop.minor) + ") cannot run this build's kernels: " +
             cudaGetErrorString(e) + " (rebuild with -DCMAKE_CUDA_ARCHITECTURES=<its sm>)";
    }
    cudaGetLastError();
    return false;
  }
  return true;
}

DeviceInfo device_info() {
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  DeviceInfo info;
  info.name = prop.name;
  info.sm_count = prop.multiProcessorCount;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.total_memory = prop.totalGlobalMem;
  return info;
}

// ---- DeviceArena ----
DeviceArena::DeviceArena(size_t chunk_bytes) : chunk_bytes_(chunk_bytes) {}
DeviceArena::~DeviceArena() {
  for (auto& c : chunks_) cudaFree(c.base);
}
void* DeviceArena::alloc(size_t bytes) {
  const size_t align = 256;
  bytes = (bytes + align - 1) / align * align;
  if (bytes == 0) bytes = align;
  if (chunks_.empty() || chunks_.back().offset + bytes > chunks_.back().size) {
    size_t size = bytes > chunk_bytes_ ? bytes : chunk_bytes_;
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw Error(WL_ERR_OUT_OF_MEMORY, "device arena: cudaMalloc of " + std::to_string(size) +
                                            " bytes failed: " + cudaGetErrorString(e));
    }
    chunks_.push_back({static_cast<char*>(p), size, 0});
    reserved_ += size;
  }
  Chunk& c = chunks_.back();
  void* p = c.base + c.offset;
  c.offset += bytes;
  used_ += bytes;
  return p;
}

// ---- PinnedBuffer ----
PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  cudaError_t e = cudaMallocHost(&p_, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    cudaGetLastError();
    p_ = nullptr;
    throw Error(WL_ERR_OUT_OF_MEMORY, "pinned host buffer: cudaMallocHost of " +
                                          std::to_string(bytes) + " bytes failed: " +
                                          cudaGetErrorString(e));
  }
}
PinnedBuffer::~PinnedBuffer() {
  if (p_) cudaFreeHost(p_);
}

// ---- DeviceBuffer ----
DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  cudaError_t e = cudaMalloc(&p_, bytes ? bytes : 1);
  if (e != cudaSuccess) {
    cudaGetLastError();
    p_ = nullptr;
    throw Error(WL_ERR_OUT_OF_MEMORY, "cudaMalloc of " + std::to_string(bytes) +
                                          " bytes failed: " + cudaGetErrorString(e));
  }
}
DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
  o.p_ = nullptr;
  o.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    bytes_ = o.bytes_;
    o.p_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}
// Whole-device synchronisation on both sides: the copies run on the legacy stream, which does not
// order against non-blocking streams, and a pageable H2D cudaMemcpy may return before its DMA
// lands. These buffers serve tests and benchmarks, where that cost does not matter.
void DeviceBuffer::upload(const void* host, size_t bytes) {
  if (bytes > bytes_) throw Error(WL_ERR_INVALID_ARGUMENT, "DeviceBuffer::upload: too many bytes");
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check(cudaMemcpy(p_, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}
void DeviceBuffer::download(void* host, size_t bytes) const {
  if (bytes > bytes_) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "DeviceBuffer::download: too many bytes");
  }
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check(cudaMemcpy(host, p_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}

// ---- Stream ----
Stream::Stream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  s_ = s;
}
Stream::~Stream() {
  if (s_) cudaStreamDestroy(static_cast<cudaStream_t>(s_));
}
void Stream::synchronize() const { cuda::synchronize(s_); }

// ---- Graph ----
Graph::~Graph() { reset(); }
void Graph::reset() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  exec_ = nullptr;
  graph_ = nullptr;
}
void Graph::begin(void* stream) {
  reset();
  // Thread-local: other threads may keep using CUDA (another model, a copy) while this
  // thread captures; only unsafe calls made by this thread invalidate the capture.
  check(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream),
                               cudaStreamCaptureModeThreadLocal),
        "cudaStreamBeginCapture");
}
void Graph::end(void* stream) {
  cudaGraph_t g = nullptr;
  check(cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &g), "cudaStreamEndCapture");
  graph_ = g;
  cudaGraphExec_t x = nullptr;
  check(cudaGraphInstantiate(&x, g, 0), "cudaGraphInstantiate");
  exec_ = x;
}
void Graph::abort(void* stream) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &st) == cudaSuccess &&
      st != cudaStreamCaptureStatusNone) {
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &g);
    if (g) cudaGraphDestroy(g);
  }
  cudaGetLastError();
  reset();
}
void Graph::launch(void* stream) const {
  if (!exec_) throw Error(WL_ERR_INTERNAL, "CUDA graph launched before capture");
  check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), static_cast<cudaStream_t>(stream)),
        "cudaGraphLaunch");
}

// ---- copies ----
void copy_h2d(void* stream, void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream)),
        "cudaMemcpyAsync H2D");
}
void copy_d2h(void* stream, void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(stream)),
        "cudaMemcpyAsync D2H");
}
void copy_d2d(void* stream, void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
                        static_cast<cudaStream_t>(stream)),
        "cudaMemcpyAsync D2D");
}
void fill_zero(void* stream, void* dst, size_t bytes) {
  check(cudaMemsetAsync(dst, 0, bytes, static_cast<cudaStream_t>(stream)), "cudaMemsetAsync");
}
void synchronize(void* stream) {
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

// ---- Timer ----
Timer::Timer() {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  a_ = a;
  b_ = b;
}
Timer::~Timer() {
  if (a_) cudaEventDestroy(static_cast<cudaEvent_t>(a_));
  if (b_) cudaEventDestroy(static_cast<cudaEvent_t>(b_));
}
void Timer::start(void* stream) {
  check(cudaEventRecord(static_cast<cudaEvent_t>(a_), static_cast<cudaStream_t>(stream)),
        "cudaEventRecord");
}
double Timer::stop_ms(void* stream) {
  check(cudaEventRecord(static_cast<cudaEvent_t>(b_), static_cast<cudaStream_t>(stream)),
        "cudaEventRecord");
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(b_)), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(a_), static_cast<cudaEvent_t>(b_)),
        "cudaEventElapsedTime");
  return ms;
}

}  // namespace cuda
}  // namespace wl
