// Seeded corruption loop over model files: bit flips, truncations, header edits (numbers, bytes,
// spans) and length-field edits of a valid file. Every variant must either load or raise
// wl::Error(WL_ERR_FORMAT); any other exception fails the test, and a crash fails the binary.
// Run under -fsanitize=address,undefined to catch out-of-bounds reads the loop would otherwise
// miss. The last case runs the loop through wl_model_load on the real fixture. WL_FUZZ_SEED /
// WL_FUZZ_ITERS / WL_FUZZ_LOAD_ITERS override the defaults for longer local runs;
// WL_FUZZ_VERBOSE=N prints every Nth rejection message.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "capi/error.h"
#include "check.h"
#include "model/json.h"
#include "model/manifest.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "worldloop/wl_model.h"

using wl::DType;
using wl::SafetensorsFile;

namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

const char* kManifest =
    R"({"format":"worldloop-model","format_version":1,"name":"fuzz",)"
    R"("frame":{"height":16,"width":16},"latent":{"channels":4,"height":4,"width":4,"scale":0.5},)"
    R"("autoencoder":{"channels":[8,8,16],"blocks":1,"groups":4},)"
    R"("denoiser":{"channels":[8,16],"blocks":1,"attention_levels":[1],"heads":2,"groups":4,)"
    R"("cond_dim":16,"fourier_dim":8,"context":2},)"
    R"("actions":{"names":["move","turn"],"min":[-1,-1],"max":[1,1],"kinds":["axis","event"]},)"
    R"("edm":{"sigma_data":0.5,"sigma_min":0.002,"sigma_max":5,"rho":7},)"
    R"("sampler":{"steps":2,"context_noise_sigma":0.1},"training":{"seed":1}})";

std::vector<uint8_t> base_file() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto tensor = [&](const char* name, DType dt, std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < n; ++i) {
      float v = normal(rng);
      if (dt == DType::F32) {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        bytes.insert(bytes.end(), b, b + 4);
      } else {
        uint16_t h = dt == DType::F16 ? wl::f32_to_f16(v) : wl::f32_to_bf16(v);
        bytes.push_back(uint8_t(h & 0xFF));
        bytes.push_back(uint8_t(h >> 8));
      }
    }
    return wl::TensorToWrite{name, dt, std::move(shape), std::move(bytes)};
  };
  return wl::encode_safetensors(
      {tensor("denoiser.conv_in.weight", DType::F32, {8, 12, 3, 3}),
       tensor("denoiser.conv_in.bias", DType::F32, {8}),
       tensor("autoencoder.decoder.conv_in.weight", DType::F16, {16, 4, 3, 3}),
       tensor("autoencoder.decoder.norm.weight", DType::BF16, {16}),
       tensor("empty", DType::BF16, {0})},
      {{"worldloop", kManifest}, {"producer", "test_model_fuzz"}});
}

uint64_t header_len(const std::vector<uint8_t>& f) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | f[size_t(i)];
  return v;
}

void set_header_len(std::vector<uint8_t>& f, uint64_t v) {
  for (int i = 0; i < 8; ++i) f[size_t(i)] = uint8_t(v >> (8 * i));
}

// The header as [8, 8 + len) clamped to the file, for edits that target it.
struct Span {
  size_t begin, end;
};
Span header_span(const std::vector<uint8_t>& f) {
  uint64_t hl = header_len(f);
  size_t end = f.size();
  if (hl < f.size() - 8) end = size_t(8 + hl);
  return {8, end};
}

const char* kNumbers[] = {"0",
                          "1",
                          "2",
                          "3",
                          "4",
                          "7",
                          "8",
                          "15",
                          "16",
                          "17",
                          "31",
                          "64",
                          "255",
                          "4095",
                          "4096",
                          "4097",
                          "65536",
                          "2147483648",
                          "-1",
                          "-3",
                          "1.5",
                          "1e9",
                          "1e300",
                          "4294967296",
                          "9007199254740992",
                          "18446744073709551616",
                          "0.0",
                          "-0"};
const char kStructural[] = "{}[]\",:\\ 0123456789eE.-+tfnul\x01\x7f\xc3\xff";

struct Mutator {
  std::mt19937_64 rng;
  explicit Mutator(uint64_t seed) : rng(seed) {}

  size_t below(size_t n) { return n ? size_t(rng() % n) : 0; }

  void flip_bits(std::vector<uint8_t>& f, Span s) {
    if (s.end <= s.begin) return;
    int n = 1 + int(below(4));
    for (int i = 0; i < n; ++i) f[s.begin + below(s.end - s.begin)] ^= uint8_t(1u << below(8));
  }

  // Replaces [a, b) of the header with `text` and fixes the length field so the edit reaches the
  // JSON parser rather than failing the length check.
  void splice_header(std::vector<uint8_t>& f, size_t a, size_t b, const std::string& text) {
    Span h = header_span(f);
    bool len_was_valid = h.end == size_t(8 + header_len(f));
    f.erase(f.begin() + long(a), f.begin() + long(b));
    f.insert(f.begin() + long(a), text.begin(), text.end());
    if (len_was_valid) set_header_len(f, header_len(f) - (b - a) + text.size());
  }

  void edit_number(std::vector<uint8_t>& f) {
    Span h = header_span(f);
    std::vector<size_t> starts;
    for (size_t i = h.begin; i < h.end; ++i)
      if (f[i] >= '0' && f[i] <= '9' && (i == h.begin || !(f[i - 1] >= '0' && f[i - 1] <= '9')))
        starts.push_back(i);
    if (starts.empty()) return;
    size_t a = starts[below(starts.size())];
    size_t b = a;
    while (b < h.end && f[b] >= '0' && f[b] <= '9') ++b;
    splice_header(f, a, b, kNumbers[below(sizeof kNumbers / sizeof kNumbers[0])]);
  }

  void edit_byte(std::vector<uint8_t>& f) {
    Span h = header_span(f);
    if (h.end <= h.begin) return;
    f[h.begin + below(h.end - h.begin)] = uint8_t(kStructural[below(sizeof kStructural - 1)]);
  }

  void delete_span(std::vector<uint8_t>& f) {
    Span h = header_span(f);
    if (h.end <= h.begin + 1) return;
    size_t a = h.begin + below(h.end - h.begin);
    size_t b = std::min(h.end, a + 1 + below(40));
    splice_header(f, a, b, "");
  }

  void duplicate_span(std::vector<uint8_t>& f) {
    Span h = header_span(f);
    if (h.end <= h.begin + 1) return;
    size_t a = h.begin + below(h.end - h.begin);
    size_t b = std::min(h.end, a + 1 + below(60));
    std::string copy(f.begin() + long(a), f.begin() + long(b));
    size_t at = h.begin + below(h.end - h.begin);
    splice_header(f, at, at, copy);
  }

  void edit_length(std::vector<uint8_t>& f) {
    uint64_t hl = header_len(f);
    switch (below(5)) {
      case 0: set_header_len(f, rng()); break;
      case 1: set_header_len(f, hl + 1 + below(16)); break;
      case 2: set_header_len(f, hl - std::min<uint64_t>(hl, 1 + below(16))); break;
      case 3: set_header_len(f, uint64_t(f.size()) - 8 + below(3)); break;
      default: set_header_len(f, UINT64_MAX - below(16)); break;
    }
  }

  void mutate(std::vector<uint8_t>& f) {
    int ops = 1 + int(below(3));
    for (int i = 0; i < ops && f.size() >= 8; ++i) {
      switch (below(10)) {
        case 0: flip_bits(f, {0, f.size()}); break;
        case 1: flip_bits(f, header_span(f)); break;
        case 2: f.resize(below(f.size() + 1)); break;
        case 3: edit_length(f); break;
        case 4:
        case 5: edit_number(f); break;
        case 6: edit_byte(f); break;
        case 7: delete_span(f); break;
        case 8: duplicate_span(f); break;
        default: {
          size_t n = 1 + below(64);
          for (size_t k = 0; k < n; ++k) f.push_back(uint8_t(rng()));
        }
      }
    }
  }
};

// Everything a model load does with the file before the networks: open, manifest, budget, and
// every tensor converted.
void load_everything(std::vector<uint8_t> bytes) {
  SafetensorsFile f = SafetensorsFile::from_bytes(std::move(bytes), "fuzz.safetensors");
  std::vector<float> buf;
  for (const auto& t : f.tensors()) {
    buf.assign(size_t(t.numel), 0.0f);  // numel * size == nbytes <= file size: bounded
    f.to_f32(t.name, t.shape, buf.data());
  }
  wl::Manifest m = wl::manifest_from_file(f);
  wl::check_arena_budget(m, 4);
  (void)wl::manifest_to_json(m);
}

struct Tally {
  int loaded = 0, rejected = 0, unexpected = 0;
};

}  // namespace

TEST(base_file_is_valid) {
  load_everything(base_file());  // throws (and fails) if the fixture itself were bad
}

TEST(corrupted_files_load_or_raise_format_errors) {
  const uint64_t seed = env_u64("WL_FUZZ_SEED", 20261126);
  const uint64_t iters = env_u64("WL_FUZZ_ITERS", 6000);
  const std::vector<uint8_t> base = base_file();
  const uint64_t verbose = env_u64("WL_FUZZ_VERBOSE", 0);  // print every Nth rejection
  Mutator mut(seed);
  Tally t;
  for (uint64_t i = 0; i < iters; ++i) {
    std::vector<uint8_t> f = base;
    mut.mutate(f);
    try {
      load_everything(f);
      t.loaded++;
    } catch (const wl::Error& e) {
      if (e.status() != WL_ERR_FORMAT || std::strlen(e.what()) == 0) {
        t.unexpected++;
        std::printf("  iteration %llu: status %d: %s\n", (unsigned long long)i, int(e.status()),
                    e.what());
      }
      t.rejected++;
      if (verbose && t.rejected % verbose == 0)
        std::printf("  [%llu] %.300s\n", (unsigned long long)i, e.what());
    } catch (const std::exception& e) {
      t.unexpected++;
      std::printf("  iteration %llu: non-wl exception: %s\n", (unsigned long long)i, e.what());
    }
  }
  std::printf("  seed %llu, %llu files: %d loaded, %d rejected, %d unexpected\n",
              (unsigned long long)seed, (unsigned long long)iters, t.loaded, t.rejected,
              t.unexpected);
  CHECK(t.unexpected == 0);
  // The loop must exercise both outcomes, or it is not testing what it claims.
  CHECK(t.rejected > int(iters / 4));
  CHECK(t.loaded > 0);
}

TEST(corrupted_manifests_parse_or_raise_format_errors) {
  const uint64_t seed = env_u64("WL_FUZZ_SEED", 20261126) + 1;
  const uint64_t iters = env_u64("WL_FUZZ_ITERS", 6000);
  std::mt19937_64 rng(seed);
  auto below = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  const std::string base = kManifest;
  Tally t;
  for (uint64_t i = 0; i < iters; ++i) {
    std::string s = base;
    int ops = 1 + int(below(3));
    for (int k = 0; k < ops && !s.empty(); ++k) {
      size_t at = below(s.size());
      switch (below(4)) {
        case 0: {  // replace a number with an edge value
          size_t a = at;
          while (a < s.size() && !(s[a] >= '0' && s[a] <= '9')) ++a;
          size_t b = a;
          while (b < s.size() && ((s[b] >= '0' && s[b] <= '9') || s[b] == '.')) ++b;
          if (a < s.size())
            s.replace(a, b - a, kNumbers[below(sizeof kNumbers / sizeof kNumbers[0])]);
          break;
        }
        case 1: s[at] = kStructural[below(sizeof kStructural - 1)]; break;
        case 2: s.erase(at, 1 + below(30)); break;
        default: s.insert(at, s.substr(below(s.size()), 1 + below(30))); break;
      }
    }
    try {
      wl::Manifest m = wl::parse_manifest(s);
      wl::check_arena_budget(m, 1);
      t.loaded++;
    } catch (const wl::Error& e) {
      if (e.status() != WL_ERR_FORMAT) t.unexpected++;
      t.rejected++;
    } catch (const std::exception& e) {
      t.unexpected++;
      std::printf("  iteration %llu: non-wl exception: %s\n", (unsigned long long)i, e.what());
    }
  }
  std::printf("  seed %llu, %llu manifests: %d parsed, %d rejected, %d unexpected\n",
              (unsigned long long)seed, (unsigned long long)iters, t.loaded, t.rejected,
              t.unexpected);
  CHECK(t.unexpected == 0);
  CHECK(t.rejected > int(iters / 4));
  CHECK(t.loaded > 0);
}

// The whole load path through the C ABI (reader, manifest, weight planning, arena, backend) on
// a real fixture written by train/goldens.py. A model that loads must also decode, and a model
// with memory slots must also sample with every slot present.
static void fuzz_fixture_through_wl_model_load(const char* fixture, uint64_t seed_offset,
                                               uint64_t default_iters) {
  std::vector<uint8_t> base;
  if (!wl_test::read_file(fixture, &base)) {
    std::printf("  (skipped: %s not found; run from the repository root)\n", fixture);
    return;
  }
  const std::string path = "/tmp/wl_test_model_fuzz_" + std::to_string(getpid()) + ".safetensors";
  wl_model_options opts;
  wl_model_options_default(&opts);
  opts.backend = WL_BACKEND_CPU;
  opts.threads = 1;
  opts.max_batch = 1;

  auto try_load = [&](const std::vector<uint8_t>& bytes, std::string* msg) -> wl_status {
    if (!wl_test::write_file(path, bytes)) {
      *msg = "cannot write " + path;
      return WL_ERR_IO;
    }
    wl_model* m = nullptr;
    wl_status st = wl_model_load(path.c_str(), &opts, &m);
    *msg = wl_last_error();
    if (st == WL_OK) {
      if (!m) return WL_ERR_INTERNAL;
      wl_model_dims d;
      st = wl_model_dims_get(m, &d);
      if (st == WL_OK) {
        std::vector<float> latent(size_t(d.latent_channels) * d.latent_h * d.latent_w, 0.25f);
        std::vector<uint8_t> rgb(size_t(d.frame_h) * d.frame_w * 3);
        st = wl_model_decode(m, 1, latent.data(), rgb.data());
        if (st != WL_OK) *msg = std::string("decode after load: ") + wl_last_error();
        if (st == WL_OK && d.memory_slots > 0) {
          const size_t slots = size_t(d.memory_slots);
          std::vector<float> ctx(latent.size() * d.context, 0.1f);
          std::vector<float> act(size_t(d.context) * d.action_dim, 0.5f);
          std::vector<float> mem_lat(slots * latent.size(), 0.2f), mask(slots, 1.0f);
          std::vector<float> pose(slots * size_t(d.memory_pose_dim), 0.3f), out(latent.size());
          const wl_model_memory mem{mem_lat.data(), pose.data(), mask.data()};
          const uint64_t seed = 1, frame = 2;
          st = wl_model_sample(m, 1, ctx.data(), act.data(), &mem, &seed, &frame, 1, out.data(),
                               nullptr);
          if (st != WL_OK) *msg = std::string("memory sample after load: ") + wl_last_error();
        }
      }
      wl_model_free(m);
    } else if (m) {
      return WL_ERR_INTERNAL;  // a failed load must not hand out a handle
    }
    return st;
  };

  std::string msg;
  wl_status st = try_load(base, &msg);
  CHECK_MSG(st == WL_OK, "the unmodified fixture must load: %s", msg.c_str());
  if (st != WL_OK) {
    std::remove(path.c_str());
    return;
  }

  const uint64_t seed = env_u64("WL_FUZZ_SEED", 20261126) + seed_offset;
  const uint64_t iters = env_u64("WL_FUZZ_LOAD_ITERS", default_iters);
  const uint64_t verbose = env_u64("WL_FUZZ_VERBOSE", 0);
  Mutator mut(seed);
  Tally t;
  for (uint64_t i = 0; i < iters; ++i) {
    std::vector<uint8_t> f = base;
    mut.mutate(f);
    st = try_load(f, &msg);
    if (st == WL_OK) {
      t.loaded++;
    } else if (st == WL_ERR_FORMAT && !msg.empty()) {
      t.rejected++;
      if (verbose && t.rejected % verbose == 0)
        std::printf("  [%llu] %.300s\n", (unsigned long long)i, msg.c_str());
    } else {
      t.unexpected++;
      std::printf("  iteration %llu: status %d: %s\n", (unsigned long long)i, int(st), msg.c_str());
    }
  }
  std::remove(path.c_str());
  std::printf(
      "  seed %llu, %llu files through wl_model_load: %d loaded, %d rejected, %d unexpected\n",
      (unsigned long long)seed, (unsigned long long)iters, t.loaded, t.rejected, t.unexpected);
  CHECK(t.unexpected == 0);
  CHECK(t.rejected > int(iters / 4));
  CHECK(t.loaded > 0);
}

TEST(corrupted_fixture_through_wl_model_load) {
  fuzz_fixture_through_wl_model_load("native/tests/fixtures/tiny_model.safetensors", 2, 1500);
}

TEST(corrupted_memory_fixture_through_wl_model_load) {
  fuzz_fixture_through_wl_model_load("native/tests/fixtures/tiny_memory_model.safetensors", 3, 600);
}

TEST_MAIN()
