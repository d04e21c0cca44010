// safetensors reader: every malformed-file class named in the format rules produces a
// WL_ERR_FORMAT naming the file, tensor and problem; conversions are exact; NaN/Inf counted.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "capi/error.h"
#include "check.h"
#include "model/safetensors.h"
#include "test_util.h"

using wl::DType;
using wl::SafetensorsFile;
using wl::TensorToWrite;

namespace {

using wl_test::Failure;
using wl_test::failure_of;

#define CHECK_FORMAT_ERROR(expr, substr)                                                   \
  do {                                                                                     \
    Failure f_ = failure_of([&] { (void)(expr); });                                        \
    CHECK_MSG(f_.status == WL_ERR_FORMAT && f_.message.find(substr) != std::string::npos,  \
              "wanted FORMAT error with \"%s\", got status %d: %s", substr, (int)f_.status, \
              f_.message.c_str());                                                         \
  } while (0)

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<uint8_t> u16_bytes(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> out;
  for (uint16_t x : v) {
    out.push_back(uint8_t(x & 0xFF));
    out.push_back(uint8_t(x >> 8));
  }
  return out;
}

// A raw file: 8-byte length + the given header text + data bytes.
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data,
                              uint64_t header_len_override = UINT64_MAX) {
  uint64_t hl = header_len_override == UINT64_MAX ? header.size() : header_len_override;
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(hl >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

SafetensorsFile load(std::vector<uint8_t> bytes) {
  return SafetensorsFile::from_bytes(std::move(bytes), "model.safetensors");
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

std::vector<uint8_t> valid_file() {
  std::vector<TensorToWrite> ts = {
      {"a.weight", DType::F32, {2, 3}, f32_bytes({1, 2, 3, 4, 5, 6})},
      {"b.half", DType::F16, {2}, u16_bytes({0x3C00, 0xC000})},    // 1, -2
      {"c.brain", DType::BF16, {1, 2}, u16_bytes({0x3F80, 0x4040})},  // 1, 3
      {"d.empty", DType::F32, {0, 4}, {}},
  };
  return wl::encode_safetensors(ts, {{"worldloop", "{}"}, {"note", "hi"}});
}

}  // namespace

TEST(valid_file_round_trips) {
  SafetensorsFile f = load(valid_file());
  CHECK(f.tensors().size() == 4);
  CHECK(f.tensors()[0].name == "a.weight");  // header order
  const wl::TensorInfo& a = f.get("a.weight");
  CHECK(a.dtype == DType::F32);
  CHECK(a.shape == std::vector<int64_t>({2, 3}));
  CHECK(a.numel == 6 && a.nbytes == 24);
  std::vector<float> av = f.to_f32("a.weight", {2, 3});
  CHECK(av == std::vector<float>({1, 2, 3, 4, 5, 6}));
  CHECK(f.to_f32("b.half", {2}) == std::vector<float>({1.0f, -2.0f}));
  CHECK(f.to_f32("c.brain", {1, 2}) == std::vector<float>({1.0f, 3.0f}));
  CHECK(f.to_f32("d.empty", {0, 4}).empty());
  CHECK(f.metadata("note") && *f.metadata("note") == "hi");
  CHECK(f.metadata("absent") == nullptr);
  CHECK(f.metadata().size() == 2);
  CHECK(f.total_nan() == 0 && f.total_inf() == 0);
  CHECK(f.find("nope") == nullptr);
}

TEST(open_reads_files_and_reports_io_errors) {
  std::string path = wl_test::temp_path("safetensors", "open");
  wl_test::write_file(path, valid_file());
  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.tensors().size() == 4);
  CHECK(f.display_name() == path);
  // A file past the size cap is rejected before it is read.
  Failure big = failure_of([&] { SafetensorsFile::open(path, 64); });
  CHECK_MSG(big.status == WL_ERR_FORMAT && big.message.find("larger than the limit of 64") != std::string::npos,
            "%s", big.message.c_str());
  std::remove(path.c_str());
  Failure missing = failure_of([&] { SafetensorsFile::open(path); });
  CHECK(missing.status == WL_ERR_IO);
  CHECK(missing.message.find(path) == 0);
  Failure dir = failure_of([&] { SafetensorsFile::open("/tmp"); });
  CHECK_MSG(dir.status == WL_ERR_IO && dir.message.find("not a regular file") != std::string::npos, "%s",
            dir.message.c_str());
}

TEST(truncated_and_bad_header_length) {
  CHECK_FORMAT_ERROR(load({}), "model.safetensors: file is 0 bytes, shorter than the 8-byte");
  CHECK_FORMAT_ERROR(load({1, 2, 3}), "file is 3 bytes");
  CHECK_FORMAT_ERROR(load(raw_file("{}", {}, 100)), "header length 100 runs past the end of the file (10 bytes)");
  CHECK_FORMAT_ERROR(load(raw_file("{}", {}, uint64_t(1) << 62)), "is absurd");
  CHECK_FORMAT_ERROR(load(raw_file("{}", {}, UINT64_MAX - 1)), "is absurd");
  std::vector<uint8_t> v = valid_file();
  v.resize(v.size() - 1);  // lose the last data byte
  CHECK_FORMAT_ERROR(load(v), "tensor \"c.brain\": data_offsets [28, 32] run past the end of the data section (31 bytes)");
  CHECK(load(raw_file("{}", {})).tensors().empty());  // an empty file with an empty header is valid
}

TEST(bad_header_json) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":", {})), "model.safetensors header: byte 5: expected a value");
  CHECK_FORMAT_ERROR(load(raw_file("[]", {})), "header is a JSON array, expected an object");
  CHECK_FORMAT_ERROR(load(raw_file("\"\xFF\"", {})), "invalid UTF-8");
  CHECK_FORMAT_ERROR(load(raw_file("", {})), "model.safetensors header: byte 0");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                   "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                                   zeros(4))),
                     "duplicate object key \"x\"");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":3}", {})), "tensor \"x\": entry is a number, expected an object");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros(4))),
                     "tensor \"x\": missing or non-string \"dtype\"");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", zeros(4))),
                     "tensor \"x\": missing or non-array \"shape\"");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", zeros(4))),
                     "tensor \"x\": \"data_offsets\" must be an array [begin, end]");
  CHECK_FORMAT_ERROR(load(raw_file("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros(4))),
                     "empty name");
}

TEST(metadata_must_be_string_map) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"__metadata__\":[]}", {})), "__metadata__ is a array, expected an object of strings");
  CHECK_FORMAT_ERROR(load(raw_file("{\"__metadata__\":{\"k\":1}}", {})), "__metadata__[\"k\"] is a number, expected a string");
  SafetensorsFile f = load(raw_file("{\"__metadata__\":{\"k\":\"v\\u00e9\"}}", {}));
  CHECK(*f.metadata("k") == "v\xC3\xA9");
}

TEST(unknown_dtype) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", zeros(1))),
                     "model.safetensors: tensor \"x\": unknown dtype \"F8_E4M3\" (model tensors must be F32, F16 or BF16)");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", zeros(1))),
                     "unknown dtype \"U8\"");
  // Fixtures may opt in to integer tensors; to_f32 still refuses them.
  SafetensorsFile f = SafetensorsFile::from_bytes(
      raw_file("{\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}", {7, 8, 9}), "fixture",
      wl::AllowedDTypes::Any);
  CHECK(f.get("x").dtype == DType::U8 && f.get("x").data[2] == 9);
  CHECK_FORMAT_ERROR(f.to_f32("x", {3}), "fixture: tensor \"x\" is U8, not a float tensor");
  CHECK_FORMAT_ERROR(SafetensorsFile::from_bytes(
                         raw_file("{\"x\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", zeros(1)),
                         "fixture", wl::AllowedDTypes::Any),
                     "unknown dtype \"Q4\"");
}

TEST(bad_shapes) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros(4))),
                     "shape entries must be non-negative integers <= 2^53, got -1");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", zeros(4))),
                     "non-negative integers <= 2^53, got 1.5");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", zeros(4))),
                     "non-negative integers <= 2^53, got \"2\"");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", zeros(4))),
                     "9 dimensions");
  // Products that wrap 64 bits must not sneak past the byte-count check.
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", {})),
                     "overflows 64-bit");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,4096],\"data_offsets\":[0,0]}}", {})),
                     "overflows 64-bit");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", {})),
                     "non-negative integers <= 2^53");
  // A zero dimension makes an empty tensor, which is fine.
  CHECK(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[0,4294967296],\"data_offsets\":[0,0]}}", {})).get("x").numel == 0);
}

TEST(offsets_outside_data_and_size_mismatch) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros(8))),
                     "tensor \"x\": data_offsets [4, 12] run past the end of the data section (8 bytes)");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", zeros(8))),
                     "has begin after end");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", zeros(8))),
                     "data_offsets must be non-negative integers <= 2^53, got [-4, 0]");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros(8))),
                     "must be an array [begin, end]");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", zeros(8))),
                     "non-negative integers");
  // The message from the format rules, verbatim.
  CHECK_FORMAT_ERROR(
      load(raw_file("{\"denoiser.conv_in.weight\":{\"dtype\":\"F32\",\"shape\":[64,36,3,3],\"data_offsets\":[0,4096]}}",
                    zeros(4096))),
      "model.safetensors: tensor \"denoiser.conv_in.weight\": data_offsets [0, 4096] but shape "
      "[64, 36, 3, 3] x F32 needs 82944 bytes");
  CHECK_FORMAT_ERROR(load(raw_file("{\"x\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", zeros(8))),
                     "shape [3] x BF16 needs 6 bytes");
}

TEST(overlapping_tensors) {
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                   zeros(12))),
                     "tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" at [0, 8]");
  // Overlap hidden behind a tensor that ends earlier, and an alias of the same bytes.
  CHECK_FORMAT_ERROR(load(raw_file("{\"big\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                   "\"in\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                                   zeros(16))),
                     "overlap");
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                                   zeros(4))),
                     "overlap");
  // Adjacent tensors and empty ones (which occupy nothing) at any offset are fine.
  SafetensorsFile f = load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                                    "\"g\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
                                    zeros(8)));
  CHECK(f.tensors().size() == 4);
}

TEST(data_section_must_be_fully_indexed) {
  // The format requires every data byte to belong to exactly one tensor: a gap between tensors,
  // unindexed bytes before the first and bytes after the last are all refused, by name.
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                                   zeros(12))),
                     "tensor \"b\": data_offsets [8, 12] leave bytes [4, 8) of the data section unindexed (a hole)");
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros(8))),
                     "leave bytes [0, 4)");
  CHECK_FORMAT_ERROR(load(raw_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros(4 + 1024))),
                     "model.safetensors: 1024 bytes after the last tensor's data");
  CHECK_FORMAT_ERROR(load(raw_file("{}", zeros(3))), "3 bytes after the last tensor's data");
}

TEST(missing_tensor_and_shape_mismatch) {
  SafetensorsFile f = load(valid_file());
  CHECK_FORMAT_ERROR(f.get("denoiser.missing"), "model.safetensors: missing tensor \"denoiser.missing\"");
  CHECK_FORMAT_ERROR(f.to_f32("denoiser.missing", {1}), "missing tensor \"denoiser.missing\"");
  CHECK_FORMAT_ERROR(f.to_f32("a.weight", {3, 2}),
                     "model.safetensors: tensor \"a.weight\" has shape [2, 3], the manifest implies [3, 2]");
  CHECK_FORMAT_ERROR(f.to_f32("a.weight", {6}), "the manifest implies [6]");
  std::vector<float> buf(6, -1.0f);
  CHECK_FORMAT_ERROR(f.to_f32("a.weight", {2, 3, 1}, buf.data()), "implies [2, 3, 1]");
  CHECK(buf[0] == -1.0f);  // nothing written on error
}

TEST(nan_and_inf_weights_are_counted_not_fatal) {
  const float nan = std::nanf(""), inf = 1.0f / 0.0f;
  std::vector<TensorToWrite> ts = {
      {"f32", DType::F32, {5}, f32_bytes({1, nan, inf, -inf, nan})},
      {"f16", DType::F16, {3}, u16_bytes({0x7C00, 0x7E00, 0x3C00})},   // +Inf, NaN, 1
      {"bf16", DType::BF16, {3}, u16_bytes({0xFF80, 0x7FC1, 0x0000})},  // -Inf, NaN, 0
      {"ok", DType::F32, {2}, f32_bytes({0, 1})},
  };
  SafetensorsFile f = load(wl::encode_safetensors(ts, {}));
  CHECK(f.get("f32").nan_count == 2 && f.get("f32").inf_count == 2);
  CHECK(f.get("f16").nan_count == 1 && f.get("f16").inf_count == 1);
  CHECK(f.get("bf16").nan_count == 1 && f.get("bf16").inf_count == 1);
  CHECK(f.get("ok").nan_count == 0 && f.get("ok").inf_count == 0);
  CHECK(f.total_nan() == 4 && f.total_inf() == 4);
  std::vector<float> v = f.to_f32("f16", {3});
  CHECK(std::isinf(v[0]) && v[0] > 0 && std::isnan(v[1]) && v[2] == 1.0f);
}

namespace {
// Value of an IEEE half from its fields, computed independently of the bit tricks under test.
double half_value(uint16_t h) {
  int sign = (h >> 15) ? -1 : 1;
  int exp = (h >> 10) & 0x1F;
  int mant = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? std::nan("") : sign * HUGE_VAL;
  return sign * std::ldexp(1024 + mant, exp - 25);
}
}  // namespace

TEST(f16_conversion_is_exact_for_every_bit_pattern) {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = wl::f16_to_f32(uint16_t(h));
    double want = half_value(uint16_t(h));
    if (std::isnan(want)) {
      if (!std::isnan(f)) ++bad;
      if (!std::isnan(wl::f16_to_f32(wl::f32_to_f16(f)))) ++bad;
      continue;
    }
    if (double(f) != want || std::signbit(f) != bool(h & 0x8000)) ++bad;
    if (wl::f32_to_f16(f) != h) ++bad;  // narrowing an exact value gives the same bits back
  }
  CHECK_MSG(bad == 0, "%d mismatches", bad);
  // Round-to-nearest-even at ties, overflow and subnormal edges.
  CHECK(wl::f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);        // tie -> even (1.0)
  CHECK(wl::f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);    // tie -> even (up)
  CHECK(wl::f32_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)) == 0x3C01);
  CHECK(wl::f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(wl::f32_to_f16(65520.0f) == 0x7C00);   // rounds up to Inf
  CHECK(wl::f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(wl::f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(wl::f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);             // tie -> even (0)
  CHECK(wl::f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(wl::f32_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)) == 0x0400);  // rounds into the normals
  CHECK(wl::f32_to_f16(-0.0f) == 0x8000);
}

TEST(bf16_conversion_is_exact_for_every_bit_pattern) {
  int bad = 0;
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = wl::bf16_to_f32(uint16_t(b));
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (bits != (b << 16)) ++bad;
    if (std::isnan(f)) {
      if (!std::isnan(wl::bf16_to_f32(wl::f32_to_bf16(f)))) ++bad;
    } else if (wl::f32_to_bf16(f) != b) {
      ++bad;
    }
  }
  CHECK_MSG(bad == 0, "%d mismatches", bad);
  CHECK(wl::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);      // tie -> even (1.0)
  CHECK(wl::f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);  // tie -> even (up)
  CHECK(wl::f32_to_bf16(3.4028235e38f) == 0x7F80);                    // max f32 rounds to Inf
}

TEST(converted_file_values_match_bit_conversions) {
  std::vector<uint16_t> halves, brains;
  std::vector<float> want_h, want_b;
  for (uint32_t i = 0; i < 65536; i += 7) {
    if (((i >> 10) & 0x1F) == 0x1F) continue;  // skip Inf/NaN: compared by value below
    halves.push_back(uint16_t(i));
    want_h.push_back(float(half_value(uint16_t(i))));
    if (((i >> 7) & 0xFF) == 0xFF) continue;
    brains.push_back(uint16_t(i));
    uint32_t bits = i << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    want_b.push_back(f);
  }
  SafetensorsFile f = load(wl::encode_safetensors(
      {{"h", DType::F16, {int64_t(halves.size())}, u16_bytes(halves)},
       {"b", DType::BF16, {int64_t(brains.size())}, u16_bytes(brains)}},
      {}));
  CHECK(f.to_f32("h", {int64_t(halves.size())}) == want_h);
  CHECK(f.to_f32("b", {int64_t(brains.size())}) == want_b);
}

TEST(unaligned_data_offsets_are_read_correctly) {
  // A header of odd length puts the data section (and the tensor) at an odd address.
  std::string header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  if (header.size() % 2 == 0) header += ' ';
  SafetensorsFile f = load(raw_file(header, f32_bytes({1.5f, -2.25f})));
  CHECK(reinterpret_cast<uintptr_t>(f.find("x")->data) % 2 == 1);
  CHECK(f.to_f32("x", {2}) == std::vector<float>({1.5f, -2.25f}));
}

TEST(writer_rejects_size_mismatch) {
  bool threw = false;
  try {
    wl::encode_safetensors({{"x", DType::F32, {3}, zeros(8)}}, {});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

TEST_MAIN()
