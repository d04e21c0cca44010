#include "model/autoencoder.h"

#include <string>

namespace wl {
namespace {

GroupNormShape gn(int n, int c, int h, int w, int groups) {
  GroupNormShape s;
  s.n = n;
  s.c = c;
  s.hw = h * w;
  s.groups = groups;
  s.eps = kGroupNormEps;
  return s;
}

// GN (affine) -> SiLU -> conv, fused.
void run_norm_silu_conv(const Exec& e, const Norm& norm, const Conv& conv, int h, int w,
                        const float* x, float* y) {
  GroupNormParams p;
  p.gamma = e.at(norm.gamma);
  p.beta = e.at(norm.beta);
  p.silu = true;
  e.be.gn_silu_conv2d(gn(e.n, norm.c, h, w, norm.groups), p, conv.shape(e.n, h, w), x,
                      e.at(conv.w), e.at(conv.b), nullptr, y);
}

}  // namespace

void DecoderNet::plan(BuildCtx& b, const Manifest& m) {
  const std::string p = "autoencoder.decoder.";
  const auto& ch = m.autoencoder.channels;
  const int L = int(ch.size()), C = m.latent.channels, g = m.autoencoder.groups;
  frame_h_ = m.frame.height;
  frame_w_ = m.frame.width;
  const int lh = m.latent.height, lw = m.latent.width;
  conv_in_ = plan_conv(b, p + "conv_in", C, ch[L - 1], 3, 1, float(1.0 / m.latent.scale));
  in_out_ = plan_act(b, ch[L - 1], lh, lw);
  b.backend.reserve_conv(conv_in_.shape(b.batch, lh, lw));
  levels_.resize(L);
  for (int i = L - 1; i >= 0; --i) {
    Level& lv = levels_[i];
    const int h = frame_h_ >> i, w = frame_w_ >> i;
    for (int j = 0; j < m.autoencoder.blocks; ++j)
      lv.blocks.push_back(plan_resblock(b, p + "levels." + std::to_string(i) + ".blocks." +
                                               std::to_string(j),
                                        ch[i], ch[i], h, w, g, 0, 0));
    if (i > 0) {
      lv.has_up = true;
      lv.upsampled = plan_act(b, ch[i], 2 * h, 2 * w);
      lv.up = plan_conv(b, p + "levels." + std::to_string(i) + ".up", ch[i], ch[i - 1], 3, 1);
      lv.up_out = plan_act(b, ch[i - 1], 2 * h, 2 * w);
      b.backend.reserve_conv(lv.up.shape(b.batch, 2 * h, 2 * w));
    }
  }
  norm_out_ = plan_norm(b, p + "norm_out", ch[0], g);
  conv_out_ = plan_conv(b, p + "conv_out", ch[0], 3, 3, 1);
  out_ = plan_act(b, 3, frame_h_, frame_w_);
  b.backend.reserve_gn_silu_conv(gn(b.batch, ch[0], frame_h_, frame_w_, g),
                                 conv_out_.shape(b.batch, frame_h_, frame_w_));
}

void DecoderNet::run(const Exec& e, const float* latent) const {
  const int L = int(levels_.size());
  run_conv(e, conv_in_, frame_h_ >> (L - 1), frame_w_ >> (L - 1), latent, e.at(in_out_));
  const float* x = e.at(in_out_);
  for (int i = L - 1; i >= 0; --i) {
    const Level& lv = levels_[i];
    for (const ResBlockLayer& r : lv.blocks) {
      run_resblock(e, r, x);
      x = e.at(r.result());
    }
    if (lv.has_up) {
      const int h = frame_h_ >> i, w = frame_w_ >> i;
      e.be.upsample_nearest2x(e.n, lv.up.cin, h, w, x, e.at(lv.upsampled));
      run_conv(e, lv.up, 2 * h, 2 * w, e.at(lv.upsampled), e.at(lv.up_out));
      x = e.at(lv.up_out);
    }
  }
  run_norm_silu_conv(e, norm_out_, conv_out_, frame_h_, frame_w_, x, e.at(out_));
}

void EncoderNet::plan(BuildCtx& b, const Manifest& m) {
  const std::string p = "autoencoder.encoder.";
  const auto& ch = m.autoencoder.channels;
  const int L = int(ch.size()), C = m.latent.channels, g = m.autoencoder.groups;
  frame_h_ = m.frame.height;
  frame_w_ = m.frame.width;
  conv_in_ = plan_conv(b, p + "conv_in", 3, ch[0], 3, 1);
  in_out_ = plan_act(b, ch[0], frame_h_, frame_w_);
  b.backend.reserve_conv(conv_in_.shape(b.batch, frame_h_, frame_w_));
  levels_.resize(L);
  for (int i = 0; i < L; ++i) {
    Level& lv = levels_[i];
    const int h = frame_h_ >> i, w = frame_w_ >> i;
    for (int j = 0; j < m.autoencoder.blocks; ++j)
      lv.blocks.push_back(plan_resblock(b, p + "levels." + std::to_string(i) + ".blocks." +
                                               std::to_string(j),
                                        ch[i], ch[i], h, w, g, 0, 0));
    if (i + 1 < L) {
      lv.has_down = true;
      lv.down = plan_conv(b, p + "levels." + std::to_string(i) + ".down", ch[i], ch[i + 1], 3, 2);
      lv.down_out = plan_act(b, ch[i + 1], h / 2, w / 2);
      b.backend.reserve_conv(lv.down.shape(b.batch, h, w));
    }
  }
  const int lh = frame_h_ >> (L - 1), lw = frame_w_ >> (L - 1);
  norm_out_ = plan_norm(b, p + "norm_out", ch[L - 1], g);
  const float s = float(m.latent.scale);
  conv_out_ = plan_conv(b, p + "conv_out", ch[L - 1], C, 3, 1, s, s);
  out_ = plan_act(b, C, lh, lw);
  b.backend.reserve_gn_silu_conv(gn(b.batch, ch[L - 1], lh, lw, g),
                                 conv_out_.shape(b.batch, lh, lw));
}

void EncoderNet::run(const Exec& e, const float* rgb) const {
  const int L = int(levels_.size());
  run_conv(e, conv_in_, frame_h_, frame_w_, rgb, e.at(in_out_));
  const float* x = e.at(in_out_);
  for (int i = 0; i < L; ++i) {
    const Level& lv = levels_[i];
    for (const ResBlockLayer& r : lv.blocks) {
      run_resblock(e, r, x);
      x = e.at(r.result());
    }
    if (lv.has_down) {
      run_conv(e, lv.down, frame_h_ >> i, frame_w_ >> i, x, e.at(lv.down_out));
      x = e.at(lv.down_out);
    }
  }
  run_norm_silu_conv(e, norm_out_, conv_out_, frame_h_ >> (L - 1), frame_w_ >> (L - 1), x,
                     e.at(out_));
}

}  // namespace wl
