// The autoencoder's two halves as Backend op sequences, mirroring train/modules.py
// (Encoder / Decoder). The latent scale is folded into the weights at load: the encoder's last
// conv is multiplied by it and the decoder's first conv weight divided by it, so both networks
// consume and produce scaled latents directly.
#pragma once
#include <vector>

#include "model/layers.h"
#include "model/manifest.h"

namespace wl {

class DecoderNet {
 public:
  // Plans weights ("autoencoder.decoder.*") and activations for max_batch worlds.
  void plan(BuildCtx& b, const Manifest& m);
  // latent [n, C, h, w] (arena) -> rgb [n, 3, H, W] (arena, output()).
  void run(const Exec& e, const float* latent) const;
  const Act& output() const { return out_; }

 private:
  struct Level {
    std::vector<ResBlockLayer> blocks;
    bool has_up = false;
    Act upsampled;  // nearest x2 of the level's result, before the conv
    Conv up;
    Act up_out;
  };
  Conv conv_in_;
  Act in_out_;
  std::vector<Level> levels_;  // index = resolution level (0 = full frame)
  Norm norm_out_;
  Conv conv_out_;
  Act out_;
  int frame_h_ = 0, frame_w_ = 0;
};

class EncoderNet {
 public:
  void plan(BuildCtx& b, const Manifest& m);
  // rgb [n, 3, H, W] in [-1, 1] (arena) -> scaled latent [n, C, h, w] (output()).
  void run(const Exec& e, const float* rgb) const;
  const Act& output() const { return out_; }

 private:
  struct Level {
    std::vector<ResBlockLayer> blocks;
    bool has_down = false;
    Conv down;
    Act down_out;
  };
  Conv conv_in_;
  Act in_out_;
  std::vector<Level> levels_;
  Norm norm_out_;
  Conv conv_out_;
  Act out_;
  int frame_h_ = 0, frame_w_ = 0;
};

}  // namespace wl
