// The model manifest: the JSON stored in a safetensors file's __metadata__["worldloop"] that
// describes every size of the networks, the action space and the sampler defaults. Parsing
// validates types (errors name the field path, e.g. "manifest.latent.channels: expected a
// positive integer <= 256, got 0"), bounds every size so a hostile file cannot make us allocate
// absurd memory, and checks the sizes are consistent with each other. See docs/model-format.md.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wl {

class SafetensorsFile;

constexpr int kManifestFormatVersion = 1;
constexpr const char* kManifestMetadataKey = "worldloop";
constexpr const char* kManifestFormatName = "worldloop-model";

// Bounds (inclusive). Generous for real models, small enough to stop absurd allocations.
namespace manifest_limits {
constexpr int kMaxFrameSide = 2048;
constexpr int kMaxLatentChannels = 256;
constexpr int kMaxChannels = 4096;
constexpr int kMaxLevels = 8;       // entries in autoencoder.channels / denoiser.channels
constexpr int kMaxBlocks = 16;      // ResBlocks per level
constexpr int kMaxGroups = 4096;
constexpr int kMaxHeads = 256;
constexpr int kMaxCondDim = 4096;
constexpr int kMaxFourierDim = 4096;
constexpr int kMaxContext = 32;
constexpr int kMaxActionDim = 64;
constexpr int kMaxSteps = 8;
constexpr int kMaxMemorySlots = 16;
constexpr int kMaxMemoryPoseDim = 64;
constexpr int kMaxBatch = 1024;
constexpr uint64_t kMaxArenaBytes = uint64_t(4) << 30;  // 4 GiB
}  // namespace manifest_limits

enum class ActionKind { Axis, Event };
const char* action_kind_name(ActionKind k);  // "axis" / "event"

struct Manifest {
  int format_version = kManifestFormatVersion;
  std::string name;

  struct Frame {
    int height = 0, width = 0;
  } frame;

  struct Latent {
    int channels = 0, height = 0, width = 0;
    double scale = 1.0;  // latent = encoder(x) * scale
  } latent;

  struct Autoencoder {
    std::vector<int> channels;  // channels[i] at frame / 2^i
    int blocks = 0;             // ResBlocks per level
    int groups = 0;             // GroupNorm groups
  } autoencoder;

  struct Denoiser {
    std::vector<int> channels;  // channels[i] at latent / 2^i
    int blocks = 0;
    std::vector<int> attention_levels;  // indices into channels, ascending, unique
    int heads = 0;
    int groups = 0;
    int cond_dim = 0;
    int fourier_dim = 0;
    int context = 0;  // K past latents / actions
    // Retrieved memory views (docs/memory-model.md); 0 = none (the optional "memory" object is
    // absent or has slots 0). pose_dim is 0 exactly when memory_slots is 0.
    int memory_slots = 0;
    int memory_pose_dim = 0;
    // "predicts": what the network's denoised estimate is. false ("latent", also when absent):
    // the next latent. true ("residual", copy-then-correct): its change from the newest context
    // latent; the sampler runs on the change and adds that latent back, so a still scene costs
    // the network nothing (train/edm.py sample()).
    bool predicts_residual = false;
  } denoiser;

  struct Actions {
    std::vector<std::string> names;
    std::vector<float> min, max;
    std::vector<ActionKind> kinds;
    int dim() const { return static_cast<int>(names.size()); }
  } actions;

  // Object kinds the model saw spawned in training ("objects.kinds", optional): what the runtime
  // may place in its world. Empty when the manifest has none.
  std::vector<std::string> object_kinds;

  struct Edm {
    double sigma_data = 0.5, sigma_min = 0.002, sigma_max = 5.0, rho = 7.0;
  } edm;

  struct Sampler {
    int steps = 2;
    double context_noise_sigma = 0.0;
  } sampler;

  std::string training_json;  // the free-form "training" object, re-serialised ("{}" if absent)
  std::string source_json;    // the manifest text as found in the file

  int levels_autoencoder() const { return static_cast<int>(autoencoder.channels.size()); }
  int levels_denoiser() const { return static_cast<int>(denoiser.channels.size()); }
};

// Parses and validates manifest JSON. `where` prefixes the field paths in errors (default
// "manifest"). Throws wl::Error(WL_ERR_FORMAT).
Manifest parse_manifest(std::string_view json_text, const std::string& where = "manifest");

// Reads __metadata__["worldloop"] from an opened file and parses it; errors are prefixed with the
// file's display name ("model.safetensors: manifest.frame.height: ...").
Manifest manifest_from_file(const SafetensorsFile& file);

// Upper-bound estimate of activation memory for `max_batch` worlds (denoiser U-Net with skips and
// attention scores, decoder and encoder at full resolution, context ring). Not the allocator's
// exact number: it exists to reject hostile sizes before anything is allocated.
uint64_t estimate_arena_bytes(const Manifest& m, int max_batch);

// Throws wl::Error(WL_ERR_INVALID_ARGUMENT) when max_batch is outside [1, kMaxBatch] and
// wl::Error(WL_ERR_FORMAT) when the estimate exceeds cap_bytes, naming both numbers.
void check_arena_budget(const Manifest& m, int max_batch,
                        uint64_t cap_bytes = manifest_limits::kMaxArenaBytes);

// Compact JSON of the validated fields (for wl_model_info_json), including "training".
std::string manifest_to_json(const Manifest& m);

}  // namespace wl
