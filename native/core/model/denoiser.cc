#include "model/denoiser.h"

#include <string>

#include "capi/error.h"

namespace wl {

void DenoiserNet::plan(BuildCtx& b, const Manifest& m) {
  const std::string p = "denoiser.";
  const auto& d = m.denoiser;
  const auto& ch = d.channels;
  const int L = int(ch.size()), g = d.groups;
  C_ = m.latent.channels;
  K_ = d.context;
  A_ = m.actions.dim();
  h_ = m.latent.height;
  w_ = m.latent.width;
  fourier_half_ = d.fourier_dim / 2;
  if (d.blocks < 1 || L < 1)
    throw Error(WL_ERR_FORMAT, "manifest.denoiser: needs at least one level and one block");
  cond_dim_ = d.cond_dim;

  noise_freqs_ = b.weights.tensor(p + "cond.noise_fourier.freqs", {fourier_half_}, b.part);
  ctx_freqs_ = b.weights.tensor(p + "cond.ctx_noise_fourier.freqs", {fourier_half_}, b.part);
  action_w_ = b.weights.tensor(p + "cond.action_proj.weight", {d.fourier_dim, K_ * A_}, b.part);
  action_b_ = b.weights.tensor(p + "cond.action_proj.bias", {d.fourier_dim}, b.part);
  fc1_w_ = b.weights.tensor(p + "cond.fc1.weight", {cond_dim_, d.fourier_dim}, b.part);
  fc1_b_ = b.weights.tensor(p + "cond.fc1.bias", {cond_dim_}, b.part);
  fc2_w_ = b.weights.tensor(p + "cond.fc2.weight", {cond_dim_, cond_dim_}, b.part);
  fc2_b_ = b.weights.tensor(p + "cond.fc2.bias", {cond_dim_}, b.part);
  const size_t nb = size_t(b.batch);
  emb_noise_ = b.plan.take(nb * d.fourier_dim);
  emb_ctx_ = b.plan.take(nb * d.fourier_dim);
  emb_act_ = b.plan.take(nb * d.fourier_dim);
  emb_ = b.plan.take(nb * d.fourier_dim);
  hidden_ = b.plan.take(nb * cond_dim_);
  cond_ = b.plan.take(nb * cond_dim_);
  M_ = d.memory_slots;
  P_ = d.memory_pose_dim;
  if (M_ > 0) {
    mem_fc1_w_ = b.weights.tensor(p + "cond.memory_pose.fc1.weight", {d.fourier_dim, P_}, b.part);
    mem_fc1_b_ = b.weights.tensor(p + "cond.memory_pose.fc1.bias", {d.fourier_dim}, b.part);
    mem_fc2_w_ = b.weights.tensor(p + "cond.memory_pose.fc2.weight", {d.fourier_dim, d.fourier_dim},
                                  b.part);
    mem_fc2_b_ = b.weights.tensor(p + "cond.memory_pose.fc2.bias", {d.fourier_dim}, b.part);
    mem_hidden_ = b.plan.take(size_t(M_) * nb * d.fourier_dim);
    mem_emb_ = b.plan.take(size_t(M_) * nb * d.fourier_dim);
  }

  x_in_ = plan_act(b, C_, h_, w_);
  cat_in_ = plan_act(b, C_ * (K_ + 1), h_, w_);
  const int cin = C_ * (K_ + 1 + M_);
  if (M_ > 0) cat_mem_ = plan_act(b, cin, h_, w_);
  conv_in_ = plan_conv(b, p + "conv_in", cin, ch[0], 3, 1);
  in_out_ = plan_act(b, ch[0], h_, w_);
  b.backend.reserve_conv(conv_in_.shape(b.batch, h_, w_));

  auto heads_at = [&](int level) {
    for (int a : d.attention_levels)
      if (a == level) return d.heads;
    return 0;
  };
  down_.resize(L);
  for (int i = 0; i < L; ++i) {
    DownLevel& lv = down_[i];
    const int h = h_ >> i, w = w_ >> i;
    for (int j = 0; j < d.blocks; ++j) {
      const int cin = j == 0 ? (i == 0 ? ch[0] : ch[i - 1]) : ch[i];
      lv.blocks.push_back(plan_resblock(
          b, p + "down." + std::to_string(i) + ".blocks." + std::to_string(j), cin, ch[i], h, w,
          g, cond_dim_, heads_at(i)));
    }
    if (i + 1 < L) {
      lv.has_down = true;
      lv.down = plan_conv(b, p + "down." + std::to_string(i) + ".downsample", ch[i], ch[i], 3, 2);
      lv.down_out = plan_act(b, ch[i], h / 2, w / 2);
      b.backend.reserve_conv(lv.down.shape(b.batch, h, w));
    }
  }
  up_.resize(L);
  for (int i = L - 1; i >= 0; --i) {
    UpLevel& lv = up_[i];
    const int h = h_ >> i, w = w_ >> i;
    if (i + 1 < L) {
      lv.has_up = true;
      lv.upsampled = plan_act(b, ch[i + 1], h, w);
      lv.up = plan_conv(b, p + "up." + std::to_string(i) + ".upsample", ch[i + 1], ch[i], 3, 1);
      lv.up_out = plan_act(b, ch[i], h, w);
      b.backend.reserve_conv(lv.up.shape(b.batch, h, w));
    }
    lv.cat = plan_act(b, 2 * ch[i], h, w);
    for (int j = 0; j < d.blocks; ++j)
      lv.blocks.push_back(plan_resblock(
          b, p + "up." + std::to_string(i) + ".blocks." + std::to_string(j),
          j == 0 ? 2 * ch[i] : ch[i], ch[i], h, w, g, cond_dim_, heads_at(i)));
  }
  norm_out_ = plan_norm(b, p + "norm_out", ch[0], g);
  conv_out_ = plan_conv(b, p + "conv_out", ch[0], C_, 3, 1);
  out_ = plan_act(b, C_, h_, w_);
  GroupNormShape gs;
  gs.n = b.batch;
  gs.c = ch[0];
  gs.hw = h_ * w_;
  gs.groups = g;
  gs.eps = kGroupNormEps;
  b.backend.reserve_gn_silu_conv(gs, conv_out_.shape(b.batch, h_, w_));
}

void DenoiserNet::run(const Exec& e, const float* x, const Scalars& s, const float* context,
                      const float* actions, const Memory* memory) const {
  if ((M_ > 0) != (memory != nullptr))
    throw Error(WL_ERR_INTERNAL, "denoiser: memory inputs do not match memory_slots");
  Backend& be = e.be;
  const int n = e.n, F = 2 * fourier_half_;
  // Conditioning: fc2(SiLU(fc1(Fourier(c_noise) + action_proj(actions) + Fourier(ctx_sigma)))).
  be.fourier(n, fourier_half_, s.c_noise, e.at(noise_freqs_), e.at(emb_noise_));
  be.fourier(n, fourier_half_, s.ctx_sigma, e.at(ctx_freqs_), e.at(emb_ctx_));
  be.linear(n, K_ * A_, F, actions, e.at(action_w_), e.at(action_b_), e.at(emb_act_));
  // Same summation order as PyTorch: (noise + actions) + ctx.
  be.add(size_t(n) * F, e.at(emb_noise_), e.at(emb_act_), e.at(emb_));
  be.add(size_t(n) * F, e.at(emb_), e.at(emb_ctx_), e.at(emb_));
  if (M_ > 0) {
    // + sum over slots of mask * fc2(SiLU(fc1(pose))): all M*n rows in one linear each; the
    // slot-major layout makes slot m's rows one contiguous [n, F] block for the sum.
    const int rows = M_ * n;
    float* hid = e.at(mem_hidden_);
    float* emb = e.at(mem_emb_);
    be.linear(rows, P_, F, memory->poses, e.at(mem_fc1_w_), e.at(mem_fc1_b_), hid);
    be.silu(size_t(rows) * F, hid, hid);
    be.linear(rows, F, F, hid, e.at(mem_fc2_w_), e.at(mem_fc2_b_), emb);
    be.scale_add(rows, size_t(F), memory->mask_host, emb, nullptr, nullptr, emb);
    const size_t block = size_t(n) * F;
    for (int m = 1; m < M_; ++m) be.add(block, emb, emb + m * block, emb);
    be.add(block, e.at(emb_), emb, e.at(emb_));
  }
  be.linear(n, F, cond_dim_, e.at(emb_), e.at(fc1_w_), e.at(fc1_b_), e.at(hidden_));
  be.silu(size_t(n) * cond_dim_, e.at(hidden_), e.at(hidden_));
  be.linear(n, cond_dim_, cond_dim_, e.at(hidden_), e.at(fc2_w_), e.at(fc2_b_), e.at(cond_));
  const float* cond = e.at(cond_);
  for (const DownLevel& lv : down_)
    for (const ResBlockLayer& r : lv.blocks) {
      run_ada_linear(e, r.ada1, cond);
      run_ada_linear(e, r.ada2, cond);
    }
  for (const UpLevel& lv : up_)
    for (const ResBlockLayer& r : lv.blocks) {
      run_ada_linear(e, r.ada1, cond);
      run_ada_linear(e, r.ada2, cond);
    }

  // Trunk input: concat(c_in * x, context) on channels.
  be.scale_add(n, x_in_.per(), s.c_in, x, nullptr, nullptr, e.at(x_in_));
  be.concat_channels(n, C_, K_ * C_, h_ * w_, e.at(x_in_), context, e.at(cat_in_));
  const float* trunk_in = e.at(cat_in_);
  if (M_ > 0) {
    // ... then the (masked) memory latents after the context.
    be.concat_channels(n, C_ * (K_ + 1), M_ * C_, h_ * w_, trunk_in, memory->latents,
                       e.at(cat_mem_));
    trunk_in = e.at(cat_mem_);
  }
  run_conv(e, conv_in_, h_, w_, trunk_in, e.at(in_out_));
  const float* cur = e.at(in_out_);
  const int L = int(down_.size());
  for (int i = 0; i < L; ++i) {
    const DownLevel& lv = down_[i];
    for (const ResBlockLayer& r : lv.blocks) {
      run_resblock(e, r, cur);
      cur = e.at(r.result());
    }
    if (lv.has_down) {
      run_conv(e, lv.down, h_ >> i, w_ >> i, cur, e.at(lv.down_out));
      cur = e.at(lv.down_out);
    }
  }
  for (int i = L - 1; i >= 0; --i) {
    const UpLevel& lv = up_[i];
    const int h = h_ >> i, w = w_ >> i;
    if (lv.has_up) {
      e.be.upsample_nearest2x(n, lv.up.cin, h / 2, w / 2, cur, e.at(lv.upsampled));
      run_conv(e, lv.up, h, w, e.at(lv.upsampled), e.at(lv.up_out));
      cur = e.at(lv.up_out);
    }
    // The skip is the down level's last block result (kept alive: every activation has its
    // own slot within the denoiser's region).
    const float* skip = e.at(down_[i].blocks.back().result());
    be.concat_channels(n, lv.cat.c / 2, lv.cat.c / 2, h * w, cur, skip, e.at(lv.cat));
    cur = e.at(lv.cat);
    for (const ResBlockLayer& r : lv.blocks) {
      run_resblock(e, r, cur);
      cur = e.at(r.result());
    }
  }
  GroupNormParams np;
  np.gamma = e.at(norm_out_.gamma);
  np.beta = e.at(norm_out_.beta);
  np.silu = true;
  GroupNormShape gs;
  gs.n = n;
  gs.c = norm_out_.c;
  gs.hw = h_ * w_;
  gs.groups = norm_out_.groups;
  gs.eps = kGroupNormEps;
  be.gn_silu_conv2d(gs, np, conv_out_.shape(n, h_, w_), cur, e.at(conv_out_.w),
                    e.at(conv_out_.b), nullptr, e.at(out_));
}

}  // namespace wl
