"""A decoder trained against a critic: fine-tunes the set's decoder (same shape, so the engine runs
it unchanged) with L1 + an image-gradient term + a hinge adversarial term from a small patch
critic, on two kinds of latents:
  * the frozen encoder's latents of the lab set's training frames (the autoencoder's own case),
  * a denoiser's teacher-forced predictions of those latents from the set's contexts (the vague
    latents play shows), paired with the true frame,
so that it learns to draw detail where the latent is vague. The frames are re-rendered from the
set's seeds (the worlds are deterministic), not stored.

The critic is a PatchGAN-style stack of stride-2 4x4 convolutions: one logit per 16x16 patch
(8x8 patches on a 128x128 frame), so it judges local texture, not layout.
"""
from __future__ import annotations

import json
import os
import time
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint, data, export, metrics, trainer
from .eval import TorchWorldModel
from .lab_set import EXPLORE, LabSet


class PatchCritic(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.GroupNorm(8, 2 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.GroupNorm(8, 4 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 4 * w, 4, 2, 1), nn.GroupNorm(8, 4 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 1, 3, 1, 1))

    def forward(self, x):
        return self.net(x)


def _frames_of(lab: LabSet, worlds: np.ndarray) -> np.ndarray:
    """The true frames [n, T, H, W, 3] of the given training worlds, re-rendered from their seeds
    exactly as lab-build explored them."""
    from . import world
    seeds = [lab.meta["train"]["seed_base"] + int(i) for i in worlds]
    size, T = lab.meta["frame_size"], lab.meta["train"]["ticks"]
    b = world.WorldBatch(seeds, width=size, height=size, explore=lab.meta.get("explore", EXPLORE))
    try:
        return b.generate(T)[0]
    finally:
        b.close()


def run(set_root: str, out: str, steps: int, denoiser_model: Optional[str] = None,
        batch: int = 8, lr: float = 5e-5, adv_weight: float = 0.1, edge_weight: float = 0.5,
        predicted_share: float = 0.5, adv_start: int = 50, seed: int = 0, log=print) -> str:
    """Trains to `steps` total steps (resumes from `out`), exports <out>/model.safetensors (the
    set's model with the new decoder; its denoiser is `denoiser_model`'s when given) and
    returns its path."""
    lab = LabSet(set_root)
    trainer.use_all_cpus()
    torch.manual_seed(seed)
    manifest, ae, dn = export.load_model(lab.meta["model"])
    if denoiser_model:
        dmf, _, dn = export.load_model(denoiser_model)
        manifest = dict(manifest, denoiser=dmf["denoiser"], edm=dmf["edm"], sampler=dmf["sampler"])
    predictor = TorchWorldModel(denoiser_model or lab.meta["model"], torch.device("cpu")) \
        if predicted_share > 0 else None
    for p in ae.encoder.parameters():
        p.requires_grad_(False)
    critic = PatchCritic()
    opt_g = torch.optim.AdamW(ae.decoder.parameters(), lr=lr, betas=(0.5, 0.9))
    opt_d = torch.optim.AdamW(critic.parameters(), lr=2 * lr, betas=(0.5, 0.9))
    gen = torch.Generator().manual_seed(seed + 1)
    step, t_prev = 0, 0.0
    os.makedirs(out, exist_ok=True)
    p = checkpoint.find_latest(out, "lab")
    if p:
        st = checkpoint.load(p)
        if st.get("arm") != "critic":
            raise ValueError(f"{p}: not a critic run; use a new --out")
        ae.decoder.load_state_dict(st["decoder"])
        critic.load_state_dict(st["critic"])
        opt_g.load_state_dict(st["opt_g"])
        opt_d.load_state_dict(st["opt_d"])
        gen.set_state(st["generator"])
        step, t_prev = int(st["step"]), float(st["elapsed_s"])
        log(f"[critic] resumed at step {step}")
    K = lab.meta["context"]
    W, T = lab.train_latents.shape[:2]
    t0 = time.time()
    mf = open(os.path.join(out, "metrics.jsonl"), "a")
    frames, worlds = None, None

    def save():
        checkpoint.save(out, "lab", {
            "arm": "critic", "step": step, "decoder": ae.decoder.state_dict(),
            "critic": critic.state_dict(), "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(), "generator": gen.get_state(),
            "elapsed_s": t_prev + time.time() - t0})

    while step < steps:
        # A group of 8 worlds re-rendered every 25 steps: rendering is cheap, holding all frames is not.
        if frames is None or step % 25 == 0:
            worlds = torch.randint(0, W, (8,), generator=gen).numpy()
            frames = _frames_of(lab, worlds)
        wi = torch.randint(0, len(worlds), (batch,), generator=gen)
        ti = torch.randint(K, T, (batch,), generator=gen)
        truth = data.to_float_frames(torch.from_numpy(frames[wi.numpy(), ti.numpy()]))
        z = lab.train_latents[torch.from_numpy(worlds)[wi], ti]
        n_pred = int(round(batch * predicted_share))
        if predictor is not None and n_pred:
            w_idx = torch.from_numpy(worlds)[wi[:n_pred]]
            t_idx = ti[:n_pred, None] + torch.arange(-K, 0)[None]
            ctx = lab.train_latents[w_idx[:, None], t_idx]
            acts = lab.train_actions[w_idx[:, None], t_idx]
            noise = torch.randn(ctx[:, 0].shape, generator=gen)
            z = torch.cat([predictor.step(ctx, acts, noise, predictor.default_steps), z[n_pred:]])
        fake = ae.decode(z)
        # Critic step (hinge).
        if step >= adv_start:
            d_loss = F.relu(1 - critic(truth)).mean() + F.relu(1 + critic(fake.detach())).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        else:
            d_loss = torch.zeros(())
        # Decoder step.
        rec = (fake - truth).abs().mean() + edge_weight * metrics.edge_l1(fake, truth)
        adv = -critic(fake).mean() if step >= adv_start else torch.zeros(())
        g_loss = rec + adv_weight * adv
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        torch.nn.utils.clip_grad_norm_(ae.decoder.parameters(), 1.0)
        opt_g.step()
        step += 1
        if step % 10 == 0 or step == steps:
            trainer.finite_or_raise(g_loss.detach(), "critic", step)
            rec_ = {"step": step, "rec": round(float(rec), 5), "adv": round(float(adv), 4),
                    "d_loss": round(float(d_loss), 4),
                    "elapsed_s": round(t_prev + time.time() - t0, 1)}
            mf.write(json.dumps(rec_) + "\n")
            mf.flush()
            log(f"[critic] step {step}/{steps} rec {rec_['rec']:.4f} adv {rec_['adv']:.3f} "
                f"critic {rec_['d_loss']:.3f}")
        if step % 100 == 0:
            save()
    save()
    mf.close()
    manifest = dict(manifest, name="lab-critic-decoder")
    manifest["training"] = {"note": "decoder fine-tuned against a patch critic (train/critic.py)",
                            "steps": step, "adv_weight": adv_weight,
                            "predicted_share": predicted_share,
                            "denoiser_model": denoiser_model or lab.meta["model"]}
    path = os.path.join(out, "model.safetensors")
    export.export_model(path, manifest, ae, dn)
    log(f"[critic] exported {path}")
    return path
