// Manifest parsing: the default v1 manifest parses; missing fields, wrong types, absurd sizes and
// inconsistent geometry each produce an error naming the field path.
#include <cstdio>
#include <string>

#include "capi/error.h"
#include "check.h"
#include "model/json.h"
#include "model/manifest.h"
#include "model/safetensors.h"
#include "test_util.h"

using wl::Manifest;

namespace {

const char* kDefaultManifest = R"({
  "format": "worldloop-model", "format_version": 1, "name": "default-v1",
  "frame": {"height": 128, "width": 128},
  "latent": {"channels": 8, "height": 16, "width": 16, "scale": 1.0},
  "autoencoder": {"channels": [16, 32, 64, 128], "blocks": 1, "groups": 8},
  "denoiser": {"channels": [64, 128, 192], "blocks": 2, "attention_levels": [1, 2], "heads": 4,
               "groups": 8, "cond_dim": 256, "fourier_dim": 64, "context": 4},
  "actions": {"names": ["move", "strafe", "turn"], "min": [-1, -1, -1], "max": [1, 1, 1],
              "kinds": ["axis", "axis", "axis"]},
  "edm": {"sigma_data": 0.5, "sigma_min": 0.002, "sigma_max": 5.0, "rho": 7.0},
  "sampler": {"steps": 2, "context_noise_sigma": 0.0},
  "training": {"steps": 1000, "data": {"episodes": 12}}
})";

// The default manifest with the first occurrence of `from` replaced by `to`.
std::string edited(const std::string& from, const std::string& to) {
  std::string s = kDefaultManifest;
  size_t at = s.find(from);
  if (at == std::string::npos) {
    std::printf("  test bug: \"%s\" not in the default manifest\n", from.c_str());
    return "";
  }
  return s.replace(at, from.size(), to);
}

using wl_test::Failure;
using wl_test::failure_of;

// The edit must make parsing fail with WL_ERR_FORMAT and a message containing `want`.
#define CHECK_REJECTS(from, to, want)                                                        \
  do {                                                                                       \
    std::string text_ = edited(from, to);                                                    \
    Failure f_ = failure_of([&] { wl::parse_manifest(text_); });                             \
    CHECK_MSG(f_.status == WL_ERR_FORMAT && f_.message.find(want) != std::string::npos,      \
              "edit %s -> %s: wanted \"%s\", got status %d: %s", from, to, want,             \
              (int)f_.status, f_.message.c_str());                                           \
  } while (0)

}  // namespace

TEST(default_manifest_parses) {
  Manifest m = wl::parse_manifest(kDefaultManifest);
  CHECK(m.format_version == 1);
  CHECK(m.name == "default-v1");
  CHECK(m.frame.height == 128 && m.frame.width == 128);
  CHECK(m.latent.channels == 8 && m.latent.height == 16 && m.latent.width == 16);
  CHECK(m.latent.scale == 1.0);
  CHECK(m.autoencoder.channels == std::vector<int>({16, 32, 64, 128}));
  CHECK(m.autoencoder.blocks == 1 && m.autoencoder.groups == 8);
  CHECK(m.denoiser.channels == std::vector<int>({64, 128, 192}));
  CHECK(m.denoiser.attention_levels == std::vector<int>({1, 2}));
  CHECK(m.denoiser.heads == 4 && m.denoiser.groups == 8 && m.denoiser.blocks == 2);
  CHECK(m.denoiser.cond_dim == 256 && m.denoiser.fourier_dim == 64 && m.denoiser.context == 4);
  CHECK(m.actions.dim() == 3);
  CHECK(m.actions.names[2] == "turn");
  CHECK(m.actions.min[0] == -1.0f && m.actions.max[0] == 1.0f);
  CHECK(m.actions.kinds[1] == wl::ActionKind::Axis);
  CHECK(m.edm.sigma_data == 0.5 && m.edm.sigma_min == 0.002 && m.edm.sigma_max == 5.0 && m.edm.rho == 7.0);
  CHECK(m.sampler.steps == 2 && m.sampler.context_noise_sigma == 0.0);
  CHECK(m.training_json == "{\"steps\":1000,\"data\":{\"episodes\":12}}");
  CHECK(m.source_json == kDefaultManifest);
}

TEST(to_json_round_trips) {
  Manifest a = wl::parse_manifest(kDefaultManifest);
  std::string j = wl::manifest_to_json(a);
  Manifest b = wl::parse_manifest(j);
  CHECK(wl::manifest_to_json(b) == j);
  CHECK(b.denoiser.channels == a.denoiser.channels);
  CHECK(b.training_json == a.training_json);
  CHECK(wl::json::parse(j).find("training")->find("steps")->as_number() == 1000);
  Manifest c = wl::parse_manifest(edited("\"min\": [-1, -1, -1]", "\"min\": [-1, 0.1, -0.3]"));
  std::string cj = wl::manifest_to_json(c);
  CHECK_MSG(cj.find("\"min\":[-1,0.1,-0.3]") != std::string::npos, "%s", cj.c_str());
}

TEST(unknown_fields_allowed_training_optional) {
  Manifest m = wl::parse_manifest(edited("\"name\": \"default-v1\",", "\"name\": \"x\", \"future\": {\"a\": [1]},"));
  CHECK(m.name == "x");
  std::string no_training = edited(",\n  \"training\": {\"steps\": 1000, \"data\": {\"episodes\": 12}}", "");
  CHECK(wl::parse_manifest(no_training).training_json == "{}");
  CHECK_REJECTS("\"training\": {\"steps\": 1000, \"data\": {\"episodes\": 12}}", "\"training\": 3",
                "manifest.training: expected an object, got 3");
  // Event-kind actions.
  m = wl::parse_manifest(edited("\"kinds\": [\"axis\", \"axis\", \"axis\"]", "\"kinds\": [\"axis\", \"event\", \"axis\"]"));
  CHECK(m.actions.kinds[1] == wl::ActionKind::Event);
}

TEST(document_level_errors) {
  Failure f = failure_of([] { wl::parse_manifest("[1]"); });
  CHECK_MSG(f.message == "manifest: expected an object, got an array of 1", "%s", f.message.c_str());
  f = failure_of([] { wl::parse_manifest("{\"format\": "); });
  CHECK_MSG(f.status == WL_ERR_FORMAT && f.message.find("manifest: byte 11: expected a value") == 0, "%s",
            f.message.c_str());
  f = failure_of([] { wl::parse_manifest(kDefaultManifest, "model.safetensors: manifest"); });
  CHECK(f.status == WL_OK);
}

TEST(format_and_version) {
  CHECK_REJECTS("\"format\": \"worldloop-model\"", "\"format\": \"other\"",
                "manifest.format: expected \"worldloop-model\", got \"other\"");
  CHECK_REJECTS("\"format_version\": 1", "\"format_version\": 2",
                "manifest.format_version: format version 2 is newer than this build reads (1)");
  CHECK_REJECTS("\"format_version\": 1", "\"format_version\": 0", "manifest.format_version: expected an integer in [1, ");
  CHECK_REJECTS("\"format_version\": 1", "\"format_version\": 1.5", "manifest.format_version: expected an integer");
  // A newer version is reported even when its other fields would not parse.
  Failure f = failure_of([] {
    wl::parse_manifest("{\"format\":\"worldloop-model\",\"format_version\":7,\"frame\":\"new layout\"}");
  });
  CHECK_MSG(f.message.find("format version 7 is newer") != std::string::npos, "%s", f.message.c_str());
  CHECK_REJECTS("\"name\": \"default-v1\"", "\"name\": \"\"", "manifest.name: expected a name of 1..256 bytes");
}

TEST(missing_fields) {
  CHECK_REJECTS("\"heads\": 4,", "", "manifest.denoiser.heads: required field is missing");
  CHECK_REJECTS("\"frame\": {\"height\": 128, \"width\": 128},", "", "manifest.frame: required field is missing");
  CHECK_REJECTS("\"scale\": 1.0", "\"scale_typo\": 1.0", "manifest.latent.scale: required field is missing");
  CHECK_REJECTS("\"sigma_min\": 0.002, ", "", "manifest.edm.sigma_min: required field is missing");
  CHECK_REJECTS("\"steps\": 2, ", "", "manifest.sampler.steps: required field is missing");
  CHECK_REJECTS("\"kinds\": [\"axis\", \"axis\", \"axis\"]", "\"k\": 1", "manifest.actions.kinds: required field is missing");
  CHECK_REJECTS("\"format\": \"worldloop-model\", ", "", "manifest.format: required field is missing");
}

TEST(wrong_types) {
  CHECK_REJECTS("\"channels\": 8", "\"channels\": \"8\"",
                "manifest.latent.channels: expected a positive integer <= 256, got \"8\"");
  CHECK_REJECTS("\"frame\": {\"height\": 128, \"width\": 128}", "\"frame\": [128, 128]",
                "manifest.frame: expected an object, got an array of 2");
  CHECK_REJECTS("\"channels\": [16, 32, 64, 128]", "\"channels\": {\"a\": 1}",
                "manifest.autoencoder.channels: expected an array, got an object");
  CHECK_REJECTS("\"names\": [\"move\", \"strafe\", \"turn\"]", "\"names\": [\"move\", 2, \"turn\"]",
                "manifest.actions.names[1]: expected a string, got 2");
  CHECK_REJECTS("\"sigma_data\": 0.5", "\"sigma_data\": null", "manifest.edm.sigma_data: expected a positive number");
  CHECK_REJECTS("\"blocks\": 2", "\"blocks\": 2.5", "manifest.denoiser.blocks: expected a positive integer <= 16, got 2.5");
  CHECK_REJECTS("\"min\": [-1, -1, -1]", "\"min\": [-1, \"a\", -1]", "manifest.actions.min[1]: expected a number in");
}

TEST(absurd_sizes) {
  CHECK_REJECTS("\"frame\": {\"height\": 128", "\"frame\": {\"height\": 100000",
                "manifest.frame.height: expected a positive integer <= 2048, got 100000");
  CHECK_REJECTS("\"channels\": 8", "\"channels\": 100000", "manifest.latent.channels: expected a positive integer <= 256");
  CHECK_REJECTS("\"channels\": [64, 128, 192]", "\"channels\": [64, 128, -3]",
                "manifest.denoiser.channels[2]: expected a positive integer <= 4096, got -3");
  CHECK_REJECTS("\"channels\": [64, 128, 192]", "\"channels\": [64, 128, 1e12]",
                "manifest.denoiser.channels[2]: expected a positive integer <= 4096, got 1000000000000");
  CHECK_REJECTS("\"channels\": [64, 128, 192]", "\"channels\": []",
                "manifest.denoiser.channels: expected an array of length 1..8, got length 0");
  CHECK_REJECTS("\"context\": 4", "\"context\": 33", "manifest.denoiser.context: expected a positive integer <= 32, got 33");
  CHECK_REJECTS("\"context\": 4", "\"context\": 0", "manifest.denoiser.context: expected a positive integer <= 32, got 0");
  CHECK_REJECTS("\"steps\": 2", "\"steps\": 9", "manifest.sampler.steps: expected an integer in [1, 8], got 9");
  CHECK_REJECTS("\"steps\": 2", "\"steps\": 0", "manifest.sampler.steps: expected an integer in [1, 8], got 0");
  CHECK_REJECTS("\"heads\": 4", "\"heads\": 4096", "manifest.denoiser.heads: expected a positive integer <= 256");
  CHECK_REJECTS("\"scale\": 1.0", "\"scale\": 1e300", "manifest.latent.scale: expected a positive number <= 1000000");
  CHECK_REJECTS("\"scale\": 1.0", "\"scale\": 0", "manifest.latent.scale: expected a positive number");
  std::string many = "\"names\": [";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "\"a" + std::to_string(i) + "\"";
  many += "]";
  CHECK_REJECTS("\"names\": [\"move\", \"strafe\", \"turn\"]", many.c_str(),
                "manifest.actions.names: expected an array of length 1..64, got length 65");
}

TEST(inconsistent_geometry) {
  CHECK_REJECTS("\"frame\": {\"height\": 128, \"width\": 128}", "\"frame\": {\"height\": 128, \"width\": 96}",
                "manifest.autoencoder.channels: 4 levels map latent 16x16 to frame 128x128 (latent * 2^3), but frame is 128x96");
  CHECK_REJECTS("\"channels\": [16, 32, 64, 128]", "\"channels\": [16, 32, 64]",
                "manifest.autoencoder.channels: 3 levels map latent 16x16 to frame 64x64");
  CHECK_REJECTS("\"groups\": 8}", "\"groups\": 3}", "manifest.autoencoder.groups: 3 does not divide autoencoder.channels[0] = 16");
  CHECK_REJECTS("\"groups\": 8, \"cond_dim\"", "\"groups\": 5, \"cond_dim\"",
                "manifest.denoiser.groups: 5 does not divide denoiser.channels[0] = 64");
  CHECK_REJECTS("\"heads\": 4", "\"heads\": 5",
                "manifest.denoiser.heads: 5 heads do not divide denoiser.channels[1] = 128 (an attention level)");
  CHECK_REJECTS("\"attention_levels\": [1, 2]", "\"attention_levels\": [1, 3]",
                "manifest.denoiser.attention_levels[1]: expected an integer in [0, 2], got 3");
  CHECK_REJECTS("\"attention_levels\": [1, 2]", "\"attention_levels\": [2, 2]",
                "manifest.denoiser.attention_levels[1]: level 2 listed twice");
  CHECK_REJECTS("\"channels\": [64, 128, 192]", "\"channels\": [64, 128, 192, 256, 256, 256]",
                "manifest.denoiser.channels: 6 levels halve the latent 5 times, so latent height and width must be divisible by 32, got 16x16");
  CHECK_REJECTS("\"fourier_dim\": 64", "\"fourier_dim\": 63", "manifest.denoiser.fourier_dim: expected an even number");
  // Attention levels may be empty and unordered (stored sorted).
  Manifest m = wl::parse_manifest(edited("\"attention_levels\": [1, 2]", "\"attention_levels\": [2, 0]"));
  CHECK(m.denoiser.attention_levels == std::vector<int>({0, 2}));
  CHECK(wl::parse_manifest(edited("\"attention_levels\": [1, 2]", "\"attention_levels\": []")).denoiser.attention_levels.empty());
}

TEST(actions_consistency) {
  CHECK_REJECTS("\"min\": [-1, -1, -1]", "\"min\": [-1, -1]", "manifest.actions.min: expected an array of length 3, got length 2");
  CHECK_REJECTS("\"kinds\": [\"axis\", \"axis\", \"axis\"]", "\"kinds\": [\"axis\", \"button\", \"axis\"]",
                "manifest.actions.kinds[1]: expected \"axis\" or \"event\", got \"button\"");
  CHECK_REJECTS("\"max\": [1, 1, 1]", "\"max\": [1, -1, 1]",
                "manifest.actions.max[1]: max must be greater than min (-1) for action \"strafe\"");
  CHECK_REJECTS("\"names\": [\"move\", \"strafe\", \"turn\"]", "\"names\": [\"move\", \"move\", \"turn\"]",
                "manifest.actions.names[1]: duplicate action name \"move\"");
  CHECK_REJECTS("\"names\": [\"move\", \"strafe\", \"turn\"]", "\"names\": []",
                "manifest.actions.names: expected an array of length 1..64, got length 0");
}

TEST(object_kinds_are_optional_and_checked) {
  CHECK(wl::parse_manifest(kDefaultManifest).object_kinds.empty());
  CHECK(wl::manifest_to_json(wl::parse_manifest(kDefaultManifest)).find("\"objects\"") == std::string::npos);
  const std::string with = "\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0},\n  \"objects\": {\"kinds\": [\"lamp\", \"crate\"]},";
  Manifest m = wl::parse_manifest(edited("\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0},", with));
  CHECK(m.object_kinds == std::vector<std::string>({"lamp", "crate"}));
  CHECK(wl::manifest_to_json(m).find("\"objects\":{\"kinds\":[\"lamp\",\"crate\"]}") != std::string::npos);
  CHECK_REJECTS("\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0},",
                "\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0}, \"objects\": {\"kinds\": [\"lamp\", \"lamp\"]},",
                "manifest.objects.kinds[1]: duplicate object kind \"lamp\"");
  CHECK_REJECTS("\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0},",
                "\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0}, \"objects\": {\"kinds\": []},",
                "manifest.objects.kinds: expected an array of length 1..64");
  CHECK_REJECTS("\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0},",
                "\"sampler\": {\"steps\": 2, \"context_noise_sigma\": 0.0}, \"objects\": [1],",
                "manifest.objects");
}

TEST(edm_and_sampler) {
  CHECK_REJECTS("\"sigma_max\": 5.0", "\"sigma_max\": 0.001",
                "manifest.edm.sigma_max: sigma_max must be greater than sigma_min (0.002), got 0.001");
  CHECK_REJECTS("\"sigma_min\": 0.002", "\"sigma_min\": -1", "manifest.edm.sigma_min: expected a positive number");
  CHECK_REJECTS("\"rho\": 7.0", "\"rho\": 1e9", "manifest.edm.rho: expected a positive number <= 100");
  CHECK_REJECTS("\"context_noise_sigma\": 0.0", "\"context_noise_sigma\": -0.1",
                "manifest.sampler.context_noise_sigma: expected a number in [0, 1000], got -0.1");
}

TEST(arena_budget) {
  Manifest m = wl::parse_manifest(kDefaultManifest);
  uint64_t one = wl::estimate_arena_bytes(m, 1);
  CHECK(one > 0);
  CHECK(wl::estimate_arena_bytes(m, 8) == 8 * one);
  CHECK(one < (uint64_t(64) << 20));  // the default model fits comfortably
  wl::check_arena_budget(m, 1);
  wl::check_arena_budget(m, 64);
  Failure f = failure_of([&] { wl::check_arena_budget(m, 0); });
  CHECK(f.status == WL_ERR_INVALID_ARGUMENT && f.message.find("max_batch 0") != std::string::npos);
  f = failure_of([&] { wl::check_arena_budget(m, 5000); });
  CHECK(f.status == WL_ERR_INVALID_ARGUMENT);
  f = failure_of([&] { wl::check_arena_budget(m, 2, one); });
  CHECK_MSG(f.status == WL_ERR_FORMAT && f.message.find("for max_batch 2, more than the cap") != std::string::npos,
            "%s", f.message.c_str());

  // Every size individually within bounds, together absurd: rejected before any allocation.
  std::string huge = R"({"format":"worldloop-model","format_version":1,"name":"huge",
    "frame":{"height":2048,"width":2048},
    "latent":{"channels":256,"height":2048,"width":2048,"scale":1},
    "autoencoder":{"channels":[4096],"blocks":16,"groups":1},
    "denoiser":{"channels":[4096,4096],"blocks":16,"attention_levels":[0,1],"heads":256,"groups":1,
                "cond_dim":4096,"fourier_dim":4096,"context":32},
    "actions":{"names":["a"],"min":[0],"max":[1],"kinds":["event"]},
    "edm":{"sigma_data":0.5,"sigma_min":0.002,"sigma_max":5,"rho":7},
    "sampler":{"steps":1,"context_noise_sigma":0}})";
  Manifest h = wl::parse_manifest(huge);
  CHECK(wl::estimate_arena_bytes(h, 1024) == UINT64_MAX || wl::estimate_arena_bytes(h, 1024) > (uint64_t(1) << 50));
  f = failure_of([&] { wl::check_arena_budget(h, 1); });
  CHECK_MSG(f.status == WL_ERR_FORMAT && f.message.find("manifest sizes need an estimated") == 0, "%s",
            f.message.c_str());
}

TEST(manifest_from_file) {
  auto bytes = wl::encode_safetensors({}, {{"worldloop", kDefaultManifest}});
  auto file = wl::SafetensorsFile::from_bytes(bytes, "m.safetensors");
  CHECK(wl::manifest_from_file(file).name == "default-v1");
  auto no_manifest = wl::SafetensorsFile::from_bytes(wl::encode_safetensors({}, {{"other", "x"}}), "m.safetensors");
  Failure f = failure_of([&] { wl::manifest_from_file(no_manifest); });
  CHECK_MSG(f.message == "m.safetensors: __metadata__ has no \"worldloop\" manifest (not a worldloop model file?)",
            "%s", f.message.c_str());
  auto bad = wl::SafetensorsFile::from_bytes(
      wl::encode_safetensors({}, {{"worldloop", edited("\"heads\": 4", "\"heads\": 0")}}), "m.safetensors");
  f = failure_of([&] { wl::manifest_from_file(bad); });
  CHECK_MSG(f.message.find("m.safetensors: manifest.denoiser.heads: expected a positive integer") == 0, "%s",
            f.message.c_str());
}

TEST(memory_slots_optional_and_validated) {
  const char* ctx = "\"context\": 4}";
  Manifest plain = wl::parse_manifest(kDefaultManifest);
  CHECK(plain.denoiser.memory_slots == 0 && plain.denoiser.memory_pose_dim == 0);
  CHECK(wl::manifest_to_json(plain).find("memory") == std::string::npos);
  Manifest zero = wl::parse_manifest(edited(ctx, "\"context\": 4, \"memory\": {\"slots\": 0}}"));
  CHECK(zero.denoiser.memory_slots == 0 && zero.denoiser.memory_pose_dim == 0);
  Manifest mem = wl::parse_manifest(
      edited(ctx, "\"context\": 4, \"memory\": {\"slots\": 4, \"pose_dim\": 5}}"));
  CHECK(mem.denoiser.memory_slots == 4 && mem.denoiser.memory_pose_dim == 5);
  const std::string j = wl::manifest_to_json(mem);
  CHECK_MSG(j.find("\"memory\":{\"slots\":4,\"pose_dim\":5}") != std::string::npos, "%s",
            j.c_str());
  CHECK(wl::manifest_to_json(wl::parse_manifest(j)) == j);
  // Memory costs activation memory: the estimate grows with the slots.
  CHECK(wl::estimate_arena_bytes(mem, 1) > wl::estimate_arena_bytes(plain, 1));
  CHECK_REJECTS(ctx, "\"context\": 4, \"memory\": 3}", "manifest.denoiser.memory: expected an object");
  CHECK_REJECTS(ctx, "\"context\": 4, \"memory\": {\"slots\": 17, \"pose_dim\": 5}}",
                "manifest.denoiser.memory.slots");
  CHECK_REJECTS(ctx, "\"context\": 4, \"memory\": {\"slots\": -1, \"pose_dim\": 5}}",
                "manifest.denoiser.memory.slots");
  CHECK_REJECTS(ctx, "\"context\": 4, \"memory\": {\"slots\": 2}}",
                "manifest.denoiser.memory.pose_dim: required field is missing");
  CHECK_REJECTS(ctx, "\"context\": 4, \"memory\": {\"slots\": 2, \"pose_dim\": 65}}",
                "manifest.denoiser.memory.pose_dim");
}

TEST(fixture_model_manifest_parses) {
  // Written by train/goldens.py; present in the source tree (tests run from the repo root).
  const char* path = "native/tests/fixtures/tiny_model.safetensors";
  std::FILE* probe = std::fopen(path, "rb");
  if (!probe) {
    std::printf("  (skipped: %s not found)\n", path);
    return;
  }
  std::fclose(probe);
  auto file = wl::SafetensorsFile::open(path);
  Manifest m = wl::manifest_from_file(file);
  CHECK(m.format_version == 1);
  CHECK(m.latent.height << (m.levels_autoencoder() - 1) == m.frame.height);
  wl::check_arena_budget(m, 4);
}

TEST_MAIN()
