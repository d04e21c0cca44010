#include "model/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "capi/error.h"
#include "model/json.h"

// safetensors data is little-endian and F32 tensors are copied as-is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "big-endian hosts need byte swapping here");

namespace wl {

namespace {
struct DTypeRow {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F32, "F32", 4},  {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8},  {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},    {DType::U16, "U16", 2}, {DType::I16, "I16", 2},
    {DType::U32, "U32", 4},  {DType::I32, "I32", 4}, {DType::U64, "U64", 8},
    {DType::I64, "I64", 8},
};
}  // namespace

const char* dtype_name(DType t) {
  for (const auto& r : kDTypes)
    if (r.type == t) return r.name;
  return "?";
}

size_t dtype_size(DType t) {
  for (const auto& r : kDTypes)
    if (r.type == t) return r.size;
  return 0;
}

bool dtype_is_float16_or_32(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// Element conversions

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      // Subnormal half: normalise into an f32 (every half subnormal is an f32 normal).
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3FF) << 13;
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // Inf or NaN (payload kept)
  } else {
    bits = sign | (exp + 127 - 15) << 23 | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_f32(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x7FFFFF)) return uint16_t((bits >> 16) | 0x40);  // quiet NaN
  uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
  return uint16_t((bits + rounding) >> 16);
}

uint16_t f32_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  uint32_t exp = (bits >> 23) & 0xFF;
  uint32_t mant = bits & 0x7FFFFF;
  if (exp == 0xFF) return uint16_t(sign | 0x7C00 | (mant ? 0x200 : 0));
  int32_t e = int32_t(exp) - 127 + 15;
  if (e >= 0x1F) return uint16_t(sign | 0x7C00);  // overflow -> Inf
  if (e <= 0) {
    // Result is a half subnormal (or zero): shift the full significand into place with RNE.
    if (e < -10) return sign;
    uint32_t m = mant | 0x800000;
    uint32_t shift = uint32_t(14 - e);
    uint32_t half = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = uint32_t(e) << 10 | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // may carry into the exponent: fine
  return uint16_t(sign | half);
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

std::string quoted_name(const std::string& name) {
  // Hostile names can be huge; keep messages readable.
  std::string out;
  if (name.size() <= 200) {
    json::append_quoted(out, name);
  } else {
    size_t cut = 197;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    json::append_quoted(out, name.substr(0, cut));
    out.insert(out.size() - 1, "...");
  }
  return out;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint16_t read_le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

bool parse_dtype(const std::string& s, AllowedDTypes allowed, DType* out) {
  for (const auto& r : kDTypes) {
    if (s != r.name) continue;
    if (allowed == AllowedDTypes::Float && !dtype_is_float16_or_32(r.type)) return false;
    *out = r.type;
    return true;
  }
  return false;
}

void count_nonfinite(TensorInfo& t) {
  uint64_t nan = 0, inf = 0;
  const uint8_t* p = t.data;
  switch (t.dtype) {
    case DType::F32:
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint32_t b;
        std::memcpy(&b, p + 4 * i, 4);
        if ((b & 0x7F800000u) == 0x7F800000u) ((b & 0x7FFFFF) ? nan : inf)++;
      }
      break;
    case DType::F16:
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint16_t h = read_le16(p + 2 * i);
        if ((h & 0x7C00) == 0x7C00) ((h & 0x3FF) ? nan : inf)++;
      }
      break;
    case DType::BF16:
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint16_t h = read_le16(p + 2 * i);
        if ((h & 0x7F80) == 0x7F80) ((h & 0x7F) ? nan : inf)++;
      }
      break;
    case DType::F64:
      for (uint64_t i = 0; i < t.numel; ++i) {
        uint64_t b;
        std::memcpy(&b, p + 8 * i, 8);
        if ((b & 0x7FF0000000000000ull) == 0x7FF0000000000000ull) ((b & 0xFFFFFFFFFFFFFull) ? nan : inf)++;
      }
      break;
    default:
      break;  // integers have no NaN/Inf
  }
  t.nan_count = nan;
  t.inf_count = inf;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path, uint64_t max_file_bytes,
                                      AllowedDTypes allowed) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw Error(WL_ERR_IO, path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(WL_ERR_IO, path + ": not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_file_bytes)
    throw Error(WL_ERR_FORMAT, path + ": file is " + std::to_string(size) +
                                   " bytes, larger than the limit of " +
                                   std::to_string(max_file_bytes) + " bytes");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(WL_ERR_IO, path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes(size);
  size_t got = size ? std::fread(bytes.data(), 1, size, f) : 0;
  bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error || got != size)
    throw Error(WL_ERR_IO, path + ": read " + std::to_string(got) + " of " + std::to_string(size) +
                               " bytes");
  return from_bytes(std::move(bytes), path, allowed);
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<uint8_t> bytes, std::string display_name,
                                            AllowedDTypes allowed) {
  SafetensorsFile f;
  f.name_ = std::move(display_name);
  f.bytes_ = std::move(bytes);
  f.validate(allowed);
  return f;
}

void SafetensorsFile::validate(AllowedDTypes allowed) {
  auto fail = [&](const std::string& msg) -> void { throw Error(WL_ERR_FORMAT, name_ + ": " + msg); };
  const uint64_t size = bytes_.size();
  if (size < 8)
    fail("file is " + std::to_string(size) +
         " bytes, shorter than the 8-byte header length field (not a safetensors file)");
  const uint64_t header_len = read_le64(bytes_.data());
  if (header_len > kMaxSafetensorsHeaderBytes)
    fail("header length " + std::to_string(header_len) + " is absurd (limit " +
         std::to_string(kMaxSafetensorsHeaderBytes) + " bytes; not a safetensors file?)");
  if (header_len > size - 8)
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(size) + " bytes)");
  const uint8_t* data_section = bytes_.data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  std::string_view header_text(reinterpret_cast<const char*>(bytes_.data() + 8), header_len);
  json::Value header = json::parse(header_text, name_ + " header", kMaxSafetensorsHeaderBytes);
  if (!header.is_object()) fail("header is a JSON " + std::string(json::type_name(header.type())) + ", expected an object");

  for (const auto& kv : header.as_object()) {
    const std::string& key = kv.first;
    const json::Value& entry = kv.second;
    if (key == "__metadata__") {
      if (!entry.is_object()) fail("__metadata__ is a " + std::string(json::type_name(entry.type())) + ", expected an object of strings");
      for (const auto& m : entry.as_object()) {
        if (!m.second.is_string())
          fail("__metadata__[" + quoted_name(m.first) + "] is a " +
               json::type_name(m.second.type()) + ", expected a string");
        metadata_[m.first] = m.second.as_string();
      }
      continue;
    }
    const std::string where = "tensor " + quoted_name(key) + ": ";
    if (key.empty()) fail("a tensor has an empty name");
    if (!entry.is_object())
      fail(where + "entry is a " + json::type_name(entry.type()) + ", expected an object");

    TensorInfo t;
    t.name = key;
    const json::Value* dtype = entry.find("dtype");
    if (!dtype || !dtype->is_string()) fail(where + "missing or non-string \"dtype\"");
    if (!parse_dtype(dtype->as_string(), allowed, &t.dtype))
      fail(where + "unknown dtype " + quoted_name(dtype->as_string()) +
           (allowed == AllowedDTypes::Float ? " (model tensors must be F32, F16 or BF16)"
                                            : " (not a safetensors dtype this reader knows)"));

    const json::Value* shape = entry.find("shape");
    if (!shape || !shape->is_array()) fail(where + "missing or non-array \"shape\"");
    if (shape->as_array().size() > kMaxTensorRank)
      fail(where + "shape has " + std::to_string(shape->as_array().size()) +
           " dimensions, more than " + std::to_string(kMaxTensorRank));
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : shape->as_array()) {
      if (!d.is_integer() || d.as_number() < 0)
        fail(where + "shape entries must be non-negative integers <= 2^53, got " + json::describe(d));
      uint64_t dim = static_cast<uint64_t>(d.as_number());
      t.shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(numel, dim, &numel)) overflow = true;
    }
    uint64_t need = 0;
    if (overflow || __builtin_mul_overflow(numel, uint64_t(dtype_size(t.dtype)), &need))
      fail(where + "shape " + shape_string(t.shape) + " overflows 64-bit byte counts");
    t.numel = numel;

    const json::Value* offs = entry.find("data_offsets");
    if (!offs || !offs->is_array() || offs->as_array().size() != 2)
      fail(where + "\"data_offsets\" must be an array [begin, end]");
    const json::Value& b = offs->as_array()[0];
    const json::Value& e = offs->as_array()[1];
    if (!b.is_integer() || !e.is_integer() || b.as_number() < 0 || e.as_number() < 0)
      fail(where + "data_offsets must be non-negative integers <= 2^53, got [" + json::describe(b) + ", " +
           json::describe(e) + "]");
    t.begin = static_cast<uint64_t>(b.as_number());
    t.end = static_cast<uint64_t>(e.as_number());
    std::string offs_str = "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
    if (t.begin > t.end) fail(where + offs_str + " has begin after end");
    if (t.end > data_size)
      fail(where + offs_str + " run past the end of the data section (" +
           std::to_string(data_size) + " bytes)");
    t.nbytes = t.end - t.begin;
    if (t.nbytes != need)
      fail(where + offs_str + " but shape " + shape_string(t.shape) + " x " + dtype_name(t.dtype) +
           " needs " + std::to_string(need) + " bytes");
    t.data = data_section + t.begin;

    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  // No two tensors may share bytes (empty tensors occupy nothing and cannot overlap).
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_)
    if (t.nbytes) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  // The format requires the data section to be fully indexed: tensors back to back from byte 0
  // to its end, with no bytes shared (aliasing), none unindexed (a hole) and none after the last
  // tensor (trailing data a reader would silently ignore).
  uint64_t covered = 0;
  for (size_t i = 0; i < by_offset.size(); ++i) {
    const TensorInfo* cur = by_offset[i];
    if (i > 0 && cur->begin < by_offset[i - 1]->end) {
      const TensorInfo* prev = by_offset[i - 1];
      fail("tensor " + quoted_name(cur->name) + ": data_offsets [" + std::to_string(cur->begin) +
           ", " + std::to_string(cur->end) + "] overlap tensor " + quoted_name(prev->name) +
           " at [" + std::to_string(prev->begin) + ", " + std::to_string(prev->end) + "]");
    }
    if (cur->begin > covered)
      fail("tensor " + quoted_name(cur->name) + ": data_offsets [" + std::to_string(cur->begin) +
           ", " + std::to_string(cur->end) + "] leave bytes [" + std::to_string(covered) + ", " +
           std::to_string(cur->begin) + ") of the data section unindexed (a hole)");
    covered = cur->end;
  }
  if (covered != data_size)
    fail(std::to_string(data_size - covered) + " bytes after the last tensor's data (the data section is " +
         std::to_string(data_size) + " bytes; tensors index [0, " + std::to_string(covered) + "))");

  for (auto& t : tensors_) count_nonfinite(t);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw Error(WL_ERR_FORMAT, name_ + ": missing tensor " + quoted_name(name));
  return *t;
}

void SafetensorsFile::to_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                             float* out) const {
  const TensorInfo& t = get(name);
  if (t.shape != expected_shape)
    throw Error(WL_ERR_FORMAT, name_ + ": tensor " + quoted_name(name) + " has shape " +
                                   shape_string(t.shape) + ", the manifest implies " +
                                   shape_string(expected_shape));
  if (!dtype_is_float16_or_32(t.dtype))
    throw Error(WL_ERR_FORMAT, name_ + ": tensor " + quoted_name(name) + " is " +
                                   dtype_name(t.dtype) + ", not a float tensor");
  const uint8_t* p = t.data;
  switch (t.dtype) {
    case DType::F32:
      if (t.nbytes) std::memcpy(out, p, t.nbytes);
      break;
    case DType::F16:
      for (uint64_t i = 0; i < t.numel; ++i) out[i] = f16_to_f32(read_le16(p + 2 * i));
      break;
    case DType::BF16:
      for (uint64_t i = 0; i < t.numel; ++i) out[i] = bf16_to_f32(read_le16(p + 2 * i));
      break;
    default:
      break;
  }
}

std::vector<float> SafetensorsFile::to_f32(const std::string& name,
                                           const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& t = get(name);
  // Let a wrong shape or dtype throw before the buffer is sized from untrusted numbers.
  if (t.shape != expected_shape || !dtype_is_float16_or_32(t.dtype)) to_f32(name, expected_shape, nullptr);
  std::vector<float> out(t.numel);
  to_f32(name, expected_shape, out.data());
  return out;
}

const std::string* SafetensorsFile::metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

uint64_t SafetensorsFile::total_nan() const {
  uint64_t n = 0;
  for (const auto& t : tensors_) n += t.nan_count;
  return n;
}

uint64_t SafetensorsFile::total_inf() const {
  uint64_t n = 0;
  for (const auto& t : tensors_) n += t.inf_count;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writing

std::vector<uint8_t> encode_safetensors(const std::vector<TensorToWrite>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& kv : metadata) {
      if (!first) header += ',';
      first = false;
      json::append_quoted(header, kv.first);
      header += ':';
      json::append_quoted(header, kv.second);
    }
    header += '}';
  }
  uint64_t offset = 0;
  bool need_comma = !metadata.empty();
  for (const auto& t : tensors) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw std::invalid_argument("encode_safetensors: negative dimension in " + t.name);
      numel *= static_cast<uint64_t>(d);
    }
    if (numel * dtype_size(t.dtype) != t.data.size())
      throw std::invalid_argument("encode_safetensors: " + t.name + " has " +
                                  std::to_string(t.data.size()) + " bytes, shape needs " +
                                  std::to_string(numel * dtype_size(t.dtype)));
    if (need_comma) header += ',';
    need_comma = true;
    json::append_quoted(header, t.name);
    header += ":{\"dtype\":\"";
    header += dtype_name(t.dtype);
    header += "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i) header += ',';
      header += std::to_string(t.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.data.size()) + "]}";
    offset += t.data.size();
  }
  header += '}';
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  while (header.size() % 8) header += ' ';

  std::vector<uint8_t> out(8 + header.size() + offset);
  uint64_t hl = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(hl >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  uint8_t* p = out.data() + 8 + header.size();
  for (const auto& t : tensors) {
    if (!t.data.empty()) std::memcpy(p, t.data.data(), t.data.size());
    p += t.data.size();
  }
  return out;
}

}  // namespace wl
