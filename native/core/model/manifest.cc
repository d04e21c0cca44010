#include "model/manifest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "capi/error.h"
#include "model/json.h"
#include "model/safetensors.h"

namespace wl {

const char* action_kind_name(ActionKind k) { return k == ActionKind::Axis ? "axis" : "event"; }

namespace {

using json::Field;
namespace L = manifest_limits;

// Largest magnitude accepted for free-form floats (action ranges, scales): keeps arithmetic on
// them finite without constraining real models.
constexpr double kMaxAbsFloat = 1e6;

std::vector<int> channel_list(const Field& f, int max_levels) {
  size_t n = f.size(1, static_cast<size_t>(max_levels));
  std::vector<int> out;
  for (size_t i = 0; i < n; ++i) out.push_back(f.at(i).positive_int(L::kMaxChannels));
  return out;
}

void check_groups_divide(const Field& groups_field, int groups, const std::vector<int>& channels,
                         const std::string& channels_name) {
  for (size_t i = 0; i < channels.size(); ++i)
    if (channels[i] % groups != 0)
      groups_field.fail(std::to_string(groups) + " does not divide " + channels_name + "[" +
                        std::to_string(i) + "] = " + std::to_string(channels[i]));
}

void parse_frame(const Field& root, Manifest& m) {
  Field f = root.at("frame");
  m.frame.height = f.at("height").positive_int(L::kMaxFrameSide);
  m.frame.width = f.at("width").positive_int(L::kMaxFrameSide);
}

void parse_latent(const Field& root, Manifest& m) {
  Field f = root.at("latent");
  m.latent.channels = f.at("channels").positive_int(L::kMaxLatentChannels);
  m.latent.height = f.at("height").positive_int(L::kMaxFrameSide);
  m.latent.width = f.at("width").positive_int(L::kMaxFrameSide);
  m.latent.scale = f.at("scale").positive_number(kMaxAbsFloat);
}

void parse_autoencoder(const Field& root, Manifest& m) {
  Field f = root.at("autoencoder");
  Field channels = f.at("channels");
  m.autoencoder.channels = channel_list(channels, L::kMaxLevels);
  m.autoencoder.blocks = f.at("blocks").positive_int(L::kMaxBlocks);
  Field groups = f.at("groups");
  m.autoencoder.groups = groups.positive_int(L::kMaxGroups);
  check_groups_divide(groups, m.autoencoder.groups, m.autoencoder.channels, "autoencoder.channels");

  // Each extra level halves the resolution: frame = latent * 2^(levels - 1), on both axes.
  const int shift = m.levels_autoencoder() - 1;
  const int64_t want_h = int64_t(m.latent.height) << shift;
  const int64_t want_w = int64_t(m.latent.width) << shift;
  if (want_h != m.frame.height || want_w != m.frame.width)
    channels.fail(std::to_string(m.levels_autoencoder()) + " levels map latent " +
                  std::to_string(m.latent.height) + "x" + std::to_string(m.latent.width) +
                  " to frame " + std::to_string(want_h) + "x" + std::to_string(want_w) +
                  " (latent * 2^" + std::to_string(shift) + "), but frame is " +
                  std::to_string(m.frame.height) + "x" + std::to_string(m.frame.width));
}

void parse_denoiser(const Field& root, Manifest& m) {
  Field f = root.at("denoiser");
  auto& d = m.denoiser;
  Field channels = f.at("channels");
  d.channels = channel_list(channels, L::kMaxLevels);
  const int levels = m.levels_denoiser();
  const int div = 1 << (levels - 1);
  if (m.latent.height % div != 0 || m.latent.width % div != 0)
    channels.fail(std::to_string(levels) + " levels halve the latent " +
                  std::to_string(levels - 1) + " times, so latent height and width must be " +
                  "divisible by " + std::to_string(div) + ", got " +
                  std::to_string(m.latent.height) + "x" + std::to_string(m.latent.width));
  d.blocks = f.at("blocks").positive_int(L::kMaxBlocks);

  Field attn = f.at("attention_levels");
  size_t n_attn = attn.size(0, static_cast<size_t>(levels));
  std::set<int> seen;
  for (size_t i = 0; i < n_attn; ++i) {
    Field a = attn.at(i);
    int level = static_cast<int>(a.integer(0, levels - 1));
    if (!seen.insert(level).second) a.fail("level " + std::to_string(level) + " listed twice");
  }
  d.attention_levels.assign(seen.begin(), seen.end());

  Field heads = f.at("heads");
  d.heads = heads.positive_int(L::kMaxHeads);
  for (int level : d.attention_levels)
    if (d.channels[level] % d.heads != 0)
      heads.fail(std::to_string(d.heads) + " heads do not divide denoiser.channels[" +
                 std::to_string(level) + "] = " + std::to_string(d.channels[level]) +
                 " (an attention level)");

  Field groups = f.at("groups");
  d.groups = groups.positive_int(L::kMaxGroups);
  check_groups_divide(groups, d.groups, d.channels, "denoiser.channels");

  d.cond_dim = f.at("cond_dim").positive_int(L::kMaxCondDim);
  Field fourier = f.at("fourier_dim");
  d.fourier_dim = fourier.positive_int(L::kMaxFourierDim);
  if (d.fourier_dim % 2 != 0)
    fourier.fail("expected an even number (cos/sin pairs), got " + std::to_string(d.fourier_dim));
  d.context = f.at("context").positive_int(L::kMaxContext);

  // Optional: absent (or slots 0) is the memory-less network of format version 1 files.
  if (auto mem = f.get("memory")) {
    mem->expect_object();
    d.memory_slots = static_cast<int>(mem->at("slots").integer(0, L::kMaxMemorySlots));
    if (d.memory_slots > 0) d.memory_pose_dim = mem->at("pose_dim").positive_int(L::kMaxMemoryPoseDim);
  }
  if (auto predicts = f.get("predicts")) {
    const std::string& p = predicts->string();
    if (p == "residual")
      d.predicts_residual = true;
    else if (p != "latent")
      predicts->fail("expected \"latent\" or \"residual\", got \"" + p.substr(0, 32) + "\"");
  }
}

// An array of 1..max distinct names of 1..64 bytes; `what` names one in the duplicate error.
std::vector<std::string> unique_names(const Field& list, size_t max, const char* what) {
  const size_t n = list.size(1, max);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    Field name = list.at(i);
    const std::string& s = name.string();
    if (s.empty() || s.size() > 64) name.fail("expected a name of 1..64 bytes");
    if (!seen.insert(s).second) name.fail(std::string("duplicate ") + what + " " + json::describe(name.value()));
    out.push_back(s);
  }
  return out;
}

void parse_actions(const Field& root, Manifest& m) {
  Field f = root.at("actions");
  auto& a = m.actions;
  Field names = f.at("names");
  a.names = unique_names(names, static_cast<size_t>(L::kMaxActionDim), "action name");
  const size_t n = a.names.size();
  Field mins = f.at("min");
  Field maxs = f.at("max");
  Field kinds = f.at("kinds");
  mins.size(n, n);
  maxs.size(n, n);
  kinds.size(n, n);
  for (size_t i = 0; i < n; ++i) {
    double lo = mins.at(i).number(-kMaxAbsFloat, kMaxAbsFloat);
    double hi = maxs.at(i).number(-kMaxAbsFloat, kMaxAbsFloat);
    if (!(lo < hi))
      maxs.at(i).fail("max must be greater than min (" + json::describe(mins.at(i).value()) +
                      ") for action \"" + a.names[i] + "\"");
    a.min.push_back(static_cast<float>(lo));
    a.max.push_back(static_cast<float>(hi));
    Field k = kinds.at(i);
    const std::string& ks = k.string();
    if (ks == "axis")
      a.kinds.push_back(ActionKind::Axis);
    else if (ks == "event")
      a.kinds.push_back(ActionKind::Event);
    else
      k.fail("expected \"axis\" or \"event\", got " + json::describe(k.value()));
  }
}

void parse_objects(const Field& root, Manifest& m) {
  auto f = root.get("objects");
  if (!f) return;
  f->expect_object();
  m.object_kinds = unique_names(f->at("kinds"), 64, "object kind");
}

void parse_edm(const Field& root, Manifest& m) {
  Field f = root.at("edm");
  m.edm.sigma_data = f.at("sigma_data").positive_number(1e3);
  m.edm.sigma_min = f.at("sigma_min").positive_number(1e3);
  Field smax = f.at("sigma_max");
  m.edm.sigma_max = smax.positive_number(1e3);
  if (!(m.edm.sigma_min < m.edm.sigma_max))
    smax.fail("sigma_max must be greater than sigma_min (" + json::describe(f.at("sigma_min").value()) +
              "), got " + json::describe(smax.value()));
  m.edm.rho = f.at("rho").positive_number(100.0);
}

void parse_sampler(const Field& root, Manifest& m) {
  Field f = root.at("sampler");
  m.sampler.steps = static_cast<int>(f.at("steps").integer(1, L::kMaxSteps));
  m.sampler.context_noise_sigma = f.at("context_noise_sigma").number(0.0, 1e3);
}

// Multiplication that sticks at UINT64_MAX instead of wrapping, for size estimates.
uint64_t sat_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

std::string mib(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

Manifest parse_manifest(std::string_view json_text, const std::string& where) {
  json::Value doc = json::parse(json_text, where, 16u << 20);
  Field root(doc, where);
  root.expect_object();

  Manifest m;
  Field format = root.at("format");
  if (format.string() != kManifestFormatName)
    format.fail(std::string("expected \"") + kManifestFormatName + "\", got " +
                json::describe(format.value()));
  Field version = root.at("format_version");
  int64_t v = version.integer(1, INT32_MAX);
  if (v > kManifestFormatVersion)
    version.fail("format version " + std::to_string(v) + " is newer than this build reads (" +
                 std::to_string(kManifestFormatVersion) + "); upgrade worldloop to load this model");
  m.format_version = static_cast<int>(v);
  Field name = root.at("name");
  m.name = name.string();
  if (m.name.empty() || m.name.size() > 256) name.fail("expected a name of 1..256 bytes");

  parse_frame(root, m);
  parse_latent(root, m);
  parse_autoencoder(root, m);
  parse_denoiser(root, m);
  parse_actions(root, m);
  parse_objects(root, m);
  parse_edm(root, m);
  parse_sampler(root, m);

  m.training_json = "{}";
  if (auto training = root.get("training")) {
    training->expect_object();
    m.training_json = json::dump(training->value());
  }
  m.source_json = std::string(json_text);
  return m;
}

Manifest manifest_from_file(const SafetensorsFile& file) {
  const std::string* text = file.metadata(kManifestMetadataKey);
  if (!text)
    throw Error(WL_ERR_FORMAT, file.display_name() + ": __metadata__ has no \"" +
                                   kManifestMetadataKey +
                                   "\" manifest (not a worldloop model file?)");
  return parse_manifest(*text, file.display_name() + ": manifest");
}

uint64_t estimate_arena_bytes(const Manifest& m, int max_batch) {
  const auto& d = m.denoiser;
  const uint64_t C = static_cast<uint64_t>(m.latent.channels);
  const uint64_t K = static_cast<uint64_t>(d.context);
  const uint64_t lh = static_cast<uint64_t>(m.latent.height), lw = static_cast<uint64_t>(m.latent.width);

  // Denoiser U-Net: skip activations kept per block on the way down, a few full-resolution
  // working buffers of the widest concat, attention score matrices at attention levels.
  uint64_t floats = 0;
  const uint64_t M = static_cast<uint64_t>(d.memory_slots);
  uint64_t widest = C * (K + 1 + M);
  for (size_t i = 0; i < d.channels.size(); ++i) {
    uint64_t hw = (lh >> i) * (lw >> i);
    floats = sat_add(floats, sat_mul(sat_mul(uint64_t(d.blocks + 1), uint64_t(d.channels[i])), hw));
    widest = std::max<uint64_t>(widest, 2 * uint64_t(d.channels[i]));
  }
  floats = sat_add(floats, sat_mul(sat_mul(4, widest), lh * lw));
  uint64_t attn = 0;
  for (int level : d.attention_levels) {
    uint64_t hw = (lh >> level) * (lw >> level);
    attn = std::max(attn, sat_mul(sat_mul(hw, hw), uint64_t(d.heads)));
  }
  floats = sat_add(floats, attn);
  floats = sat_add(floats, sat_mul(C * lh * lw, K + 4));  // context ring, noisy latent, output
  // Memory latents (input copy + concat), per-slot pose embeddings.
  floats = sat_add(floats, sat_mul(C * lh * lw, 2 * M));
  floats = sat_add(floats, sat_mul(M, 2 * uint64_t(d.fourier_dim) + uint64_t(d.memory_pose_dim)));

  // Autoencoder (decoder every frame, encoder for seeding): the widest level at its resolution,
  // four working buffers each, plus the RGB output.
  const uint64_t H = static_cast<uint64_t>(m.frame.height), W = static_cast<uint64_t>(m.frame.width);
  uint64_t ae_widest = 0;
  for (size_t i = 0; i < m.autoencoder.channels.size(); ++i)
    ae_widest = std::max(ae_widest, sat_mul(uint64_t(m.autoencoder.channels[i]), (H >> i) * (W >> i)));
  floats = sat_add(floats, sat_mul(8, ae_widest));
  floats = sat_add(floats, 3 * H * W);

  uint64_t batch = static_cast<uint64_t>(std::max(max_batch, 1));
  return sat_mul(sat_mul(floats, 4), batch);
}

void check_arena_budget(const Manifest& m, int max_batch, uint64_t cap_bytes) {
  if (max_batch < 1 || max_batch > L::kMaxBatch)
    throw Error(WL_ERR_INVALID_ARGUMENT, "max_batch " + std::to_string(max_batch) +
                                             " is outside 1.." + std::to_string(L::kMaxBatch));
  uint64_t need = estimate_arena_bytes(m, max_batch);
  if (need > cap_bytes)
    throw Error(WL_ERR_FORMAT,
                "manifest sizes need an estimated " + mib(need) + " of activation memory for " +
                    "max_batch " + std::to_string(max_batch) + ", more than the cap of " +
                    mib(cap_bytes) + " (frame " + std::to_string(m.frame.height) + "x" +
                    std::to_string(m.frame.width) + ", latent " + std::to_string(m.latent.channels) +
                    "x" + std::to_string(m.latent.height) + "x" + std::to_string(m.latent.width) +
                    ")");
}

std::string manifest_to_json(const Manifest& m) {
  using json::Value;
  auto ints = [](const std::vector<int>& v) {
    json::Array a;
    for (int x : v) a.push_back(Value::number(x));
    return Value::array(std::move(a));
  };
  // Shortest decimal that round-trips the float, so 0.1f prints as 0.1, not 0.10000000149011612.
  auto floats = [](const std::vector<float>& v) {
    json::Array a;
    for (float x : v) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, x);
      double d = x;
      std::from_chars(buf, r.ptr, d);
      a.push_back(Value::number(d));
    }
    return Value::array(std::move(a));
  };
  json::Array names, kinds;
  for (const auto& n : m.actions.names) names.push_back(Value::string(n));
  for (auto k : m.actions.kinds) kinds.push_back(Value::string(action_kind_name(k)));

  json::Object denoiser = {{"channels", ints(m.denoiser.channels)},
                           {"blocks", Value::number(m.denoiser.blocks)},
                           {"attention_levels", ints(m.denoiser.attention_levels)},
                           {"heads", Value::number(m.denoiser.heads)},
                           {"groups", Value::number(m.denoiser.groups)},
                           {"cond_dim", Value::number(m.denoiser.cond_dim)},
                           {"fourier_dim", Value::number(m.denoiser.fourier_dim)},
                           {"context", Value::number(m.denoiser.context)}};
  // Only when present, so a memory-less model's info is what it always was.
  if (m.denoiser.predicts_residual) denoiser.push_back({"predicts", Value::string("residual")});
  if (m.denoiser.memory_slots > 0)
    denoiser.push_back({"memory", Value::object({{"slots", Value::number(m.denoiser.memory_slots)},
                                                 {"pose_dim", Value::number(m.denoiser.memory_pose_dim)}})});

  json::Object members = {
      {"format", Value::string(kManifestFormatName)},
      {"format_version", Value::number(m.format_version)},
      {"name", Value::string(m.name)},
      {"frame", Value::object({{"height", Value::number(m.frame.height)},
                               {"width", Value::number(m.frame.width)}})},
      {"latent", Value::object({{"channels", Value::number(m.latent.channels)},
                                {"height", Value::number(m.latent.height)},
                                {"width", Value::number(m.latent.width)},
                                {"scale", Value::number(m.latent.scale)}})},
      {"autoencoder", Value::object({{"channels", ints(m.autoencoder.channels)},
                                     {"blocks", Value::number(m.autoencoder.blocks)},
                                     {"groups", Value::number(m.autoencoder.groups)}})},
      {"denoiser", Value::object(std::move(denoiser))},
      {"actions", Value::object({{"names", Value::array(std::move(names))},
                                 {"min", floats(m.actions.min)},
                                 {"max", floats(m.actions.max)},
                                 {"kinds", Value::array(std::move(kinds))}})},
      {"edm", Value::object({{"sigma_data", Value::number(m.edm.sigma_data)},
                             {"sigma_min", Value::number(m.edm.sigma_min)},
                             {"sigma_max", Value::number(m.edm.sigma_max)},
                             {"rho", Value::number(m.edm.rho)}})},
      {"sampler", Value::object({{"steps", Value::number(m.sampler.steps)},
                                 {"context_noise_sigma", Value::number(m.sampler.context_noise_sigma)}})},
  };
  if (!m.object_kinds.empty()) {
    std::vector<Value> kinds;
    for (const auto& k : m.object_kinds) kinds.push_back(Value::string(k));
    members.push_back({"objects", Value::object({{"kinds", Value::array(std::move(kinds))}})});
  }
  const Value doc = Value::object(std::move(members));
  std::string out = json::dump(doc);
  // "training" is already compact JSON from the file; splice it in rather than re-parsing.
  out.pop_back();
  out += ",\"training\":" + (m.training_json.empty() ? std::string("{}") : m.training_json) + "}";
  return out;
}

}  // namespace wl
