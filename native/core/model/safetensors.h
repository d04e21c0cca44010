// Reader for .safetensors files (8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, an optional "__metadata__" string map, then the raw
// data section). The file is untrusted: open() validates every size, offset and dtype before
// any tensor byte is touched, and errors name the file, the tensor and the problem, e.g.
//   model.safetensors: tensor "denoiser.conv_in.weight": data_offsets [0, 4096] but shape
//   [64, 36, 3, 3] x F32 needs 82944 bytes
// The whole file is read into memory (simple and safe; model files are small), capped at
// max_file_bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wl {

// Model weights are F32/F16/BF16. The other types are only read when a caller opts in with
// AllowedDTypes::Any (golden fixtures carry U8 images, I64 step counts, U64 RNG keys).
enum class DType { F32, F16, BF16, F64, BOOL, U8, I8, U16, I16, U32, I32, U64, I64 };
const char* dtype_name(DType t);  // "F32", "F16", "BF16", "U8", ... (the safetensors spelling)
size_t dtype_size(DType t);       // bytes per element
bool dtype_is_float16_or_32(DType t);  // F32, F16 or BF16: what to_f32() converts

enum class AllowedDTypes {
  Float,  // F32, F16, BF16 only; anything else is "unknown dtype" (model files)
  Any,    // every dtype above (test fixtures, tools)
};

constexpr uint64_t kMaxSafetensorsFileBytes = uint64_t(2) << 30;  // 2 GiB
constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t(100) << 20;  // same cap as the reference impl
constexpr size_t kMaxTensorRank = 8;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t numel = 0;
  // Little-endian element bytes inside the file buffer; NOT necessarily aligned for the element
  // type (the format does not require it): read through to_f32() or memcpy.
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
  // Non-finite elements found at open() (float dtypes); reported (wl_model_info_json), not fatal.
  uint64_t nan_count = 0;
  uint64_t inf_count = 0;
};

std::string shape_string(const std::vector<int64_t>& shape);  // "[64, 36, 3, 3]"

class SafetensorsFile {
 public:
  // Reads and validates `path`. Throws wl::Error(WL_ERR_IO) when the file cannot be opened/read
  // and wl::Error(WL_ERR_FORMAT) when it is larger than max_file_bytes or its contents are invalid.
  static SafetensorsFile open(const std::string& path,
                              uint64_t max_file_bytes = kMaxSafetensorsFileBytes,
                              AllowedDTypes allowed = AllowedDTypes::Float);
  // Same validation on an in-memory image; `display_name` replaces the path in messages.
  static SafetensorsFile from_bytes(std::vector<uint8_t> bytes, std::string display_name,
                                    AllowedDTypes allowed = AllowedDTypes::Float);

  // Movable, not copyable: TensorInfo::data points into the owned buffer.
  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& display_name() const { return name_; }
  uint64_t file_bytes() const { return bytes_.size(); }

  // In header order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const TensorInfo& get(const std::string& name) const;   // throws "missing tensor X"

  // Converts tensor `name` (F32/F16/BF16) to f32 into out[numel]. Throws
  //   <file>: missing tensor "X"
  //   <file>: tensor "X" has shape [..], the manifest implies [..]
  //   <file>: tensor "X" is U8, not a float tensor
  void to_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
              float* out) const;
  std::vector<float> to_f32(const std::string& name,
                            const std::vector<int64_t>& expected_shape) const;

  // __metadata__ entries (all strings by the time open() returns).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string* metadata(const std::string& key) const;  // nullptr when absent

  // Totals over all tensors, for reporting.
  uint64_t total_nan() const;
  uint64_t total_inf() const;

 private:
  SafetensorsFile() = default;
  void validate(AllowedDTypes allowed);

  std::string name_;
  std::vector<uint8_t> bytes_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Element conversions (exact: every F16/BF16 value, including subnormals, Inf and NaN, maps to
// the f32 with the same value).
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
// Round-to-nearest-even narrowing, used by tests and the writer below.
uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

// Writer for small files (tests, fixtures, tools). Tensors are laid out in the given order,
// contiguous; `data` must hold numel * dtype_size bytes. Throws std::invalid_argument on a
// size mismatch (a caller bug, not untrusted input).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> encode_safetensors(const std::vector<TensorToWrite>& tensors,
                                        const std::map<std::string, std::string>& metadata);

}  // namespace wl
