"""Evaluation of a model file against the ground-truth world on held-out seeds.

Every fidelity number sits beside the baselines that keep it honest:
  * rollouts: start from K real frames, roll forward under the same action script as the truth;
    PSNR / SSIM at horizons 1 (teacher-forced: K true frames -> next frame), 8, 32, 128, next to
    the autoencoder ceiling (truth encoded and decoded) and copy-last-frame (the last real frame
    held still); a sharpness ratio (mean image-gradient magnitude of model frames over truth's;
    blur scores low);
  * action following: the image shift between consecutive frames under scripted turn / strafe
    actions (phase correlation) and the zoom under move actions, model vs truth, direction agreement;
  * events: light and spawn applied at the same tick in truth and model; the model's change
    (event vs no-event counterfactual, same noise) is compared with truth's change;
  * collapse: 2,000 self-rolled frames of random play checked for NaN, black, saturated and frozen
    frames;
  * optional engine parity: the same file through libworldloop.so (wl_model_*), fixed noise,
    a short rollout, max abs latent difference vs PyTorch.
Writes <out>/eval.json and <out>/contact_sheet.png (truth row over model row per world, columns =
the horizons).
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import time
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from . import configs, data, edm, export, metrics, png
from . import manifest as manifest_mod
from .train_dyn import denoise as _denoise_dev
from .trainer import autocast, pick_device


# ----------------------------------------------------------------------------------------------
# Model side
# ----------------------------------------------------------------------------------------------

class TorchWorldModel:
    """The exported model (PyTorch modules with the file's weights) run with the engine's sampler
    convention: context latents oldest first, action K-1 leads to the new frame, clean context and
    sampler.context_noise_sigma as conditioning."""

    def __init__(self, path: str, device: torch.device):
        self.manifest, self.ae, self.dn = export.load_model(path)
        self.ae.to(device).eval()
        self.dn.to(device).eval()
        self.device = device
        m = self.manifest
        self.K = m["denoiser"]["context"]
        self.edm = m["edm"]
        self.ctx_sigma = float(m["sampler"].get("context_noise_sigma", 0.0))
        self.default_steps = int(m["sampler"]["steps"])
        self.predicts = edm.predicts_kind(m)
        # Sampler experiments (eval --sigmas / --warm-start; the engine runs neither): explicit
        # noise levels instead of the Karras ramp, and starting from the newest context latent
        # plus noise instead of from noise alone.
        self.sigmas: Optional[List[float]] = None
        self.warm_start = False

    @torch.no_grad()
    def encode(self, frames_u8: torch.Tensor) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> latents [N, C, h, w]."""
        out = []
        for i in range(0, frames_u8.shape[0], 128):
            x = data.to_float_frames(frames_u8[i:i + 128].to(self.device))
            with autocast(self.device):
                out.append(self.ae.encode(x).float())
        return torch.cat(out)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """latents [N, C, h, w] -> float frames [N, 3, H, W] in [-1, 1] (clamped)."""
        out = []
        for i in range(0, z.shape[0], 128):
            with autocast(self.device):
                out.append(self.ae.decode(z[i:i + 128].to(self.device)).float().clamp(-1, 1))
        return torch.cat(out)

    @property
    def memory_slots(self) -> int:
        return int(getattr(self.dn, "memory_slots", 0))

    @torch.no_grad()
    def step(self, ctx: torch.Tensor, acts: torch.Tensor, noise: torch.Tensor,
             steps: int, memory=()) -> torch.Tensor:
        """ctx [N,K,C,h,w], acts [N,K,A], noise [N,C,h,w] -> next latent [N,C,h,w]; memory: () or
        (latents [N,M,C,h,w], pose features [N,M,P], mask [N,M]) for a memory model."""
        if self.sigmas is not None:
            sig, steps = list(self.sigmas) + [0.0], len(self.sigmas)
        else:
            sig = edm.karras_sigmas(steps, self.edm["sigma_min"], self.edm["sigma_max"],
                                    self.edm["rho"])
        n = ctx.shape[0]
        x = noise * sig[0]
        if self.warm_start:
            x = x + ctx[:, -1]
        cs = torch.full((n,), self.ctx_sigma, device=self.device)
        for i in range(steps):
            s = torch.full((n,), sig[i], device=self.device)
            with autocast(self.device):
                d = _denoise_dev(self.dn, x, s, ctx, acts, cs, self.edm["sigma_data"], memory)
            a, b = edm.euler_coefficients(sig[i], sig[i + 1])
            x = a * x + b * d.float()
        base = edm.residual_base(self.predicts, ctx, memory)
        return x if base is None else x + base

    @torch.no_grad()
    def rollout(self, ctx: torch.Tensor, actions: torch.Tensor, steps: int,
                gen: torch.Generator, poses: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Self-rolled latents. ctx [N,K,...] (encoded truth), actions [N, K-1+T, A] where
        actions[:, j] is the action after context/frame j. Returns [N, T, C, h, w].
        poses [N, K+T, 3] (x, y, yaw of the context frames, then of each generated frame): a
        memory model then gets the views retrieved as the runtime does (ViewMemory); without
        poses it runs with every memory slot absent."""
        K = self.K
        T = actions.shape[1] - (K - 1)
        mem = ViewMemory(self, poses) if self.memory_slots and poses is not None else None
        if mem is not None:
            for j in range(K):
                mem.add(ctx[:, j], j)
        outs = []
        for t in range(T):
            noise = torch.randn(ctx[:, 0].shape, generator=gen).to(self.device)
            memory = mem.retrieve(K + t) if mem is not None else ()
            z = self.step(ctx, actions[:, t:t + K].to(self.device), noise, steps, memory)
            outs.append(z)
            if mem is not None:
                mem.add(z, K + t)
            ctx = torch.cat([ctx[:, 1:], z[:, None]], dim=1)
        return torch.stack(outs, dim=1)


class ViewMemory:
    """The memory a memory model is fed in eval rollouts, chosen as in training
    (train/memory_data.py) and in the runtime's default retrieval (src/memory/memory_store.ts):
    of the frames generated (or given) so far, those at least K + 4 frames older than the target
    whose pose overlaps its view, best overlap first (ties to the newer), up to M slots. Poses are
    the truth world's (the runtime's PoseTracker with the level's walls tracks them exactly)."""

    def __init__(self, model: "TorchWorldModel", poses: torch.Tensor):
        dn = model.manifest["denoiser"]
        self.model, self.poses = model, poses.to(model.device, torch.float32)
        self.M = int(dn["memory"]["slots"])
        self.P = int(dn["memory"]["pose_dim"])
        self.exclude = model.K + 4
        d = configs.DynConfig()
        self.fov, self.range = d.memory_fov_deg, d.memory_range
        self.latents: List[torch.Tensor] = []   # [N, C, h, w] per frame index

    def add(self, z: torch.Tensor, index: int) -> None:
        assert index == len(self.latents)
        self.latents.append(z)

    def retrieve(self, target: int):
        from .memory_data import view_overlap
        from .modules import memory_pose_features
        n, dev = self.poses.shape[0], self.model.device
        C, h, w = self.latents[0].shape[1:]
        lat = torch.zeros(n, self.M, C, h, w, device=dev)
        feats = torch.zeros(n, self.M, self.P, device=dev)
        mask = torch.zeros(n, self.M, device=dev)
        last = min(target - self.exclude, len(self.latents) - 1)
        if last < 0:
            return lat, feats, mask
        cur = self.poses[:, target]                                  # [N, 3]
        cand = self.poses[:, :last + 1]                              # [N, L, 3]
        score = view_overlap(cur[:, None], cand, self.fov, self.range)
        # Ties go to the newer view: a tiny bonus growing with the frame index.
        score = torch.where(score > 0, score + 1e-6 * torch.arange(last + 1, device=dev),
                            torch.full_like(score, -1.0))
        m = min(self.M, last + 1)
        top, idx = score.topk(m, dim=1)
        stack = torch.stack(self.latents[:last + 1], dim=1)         # [N, L, C, h, w]
        rows = torch.arange(n, device=dev)[:, None]
        lat[:, :m] = stack[rows, idx]
        view = cand.gather(1, idx[..., None].expand(-1, -1, 3))
        feats[:, :m] = memory_pose_features(cur[:, None], view, (target - idx).float(),
                                            self.P).to(dev)
        mask[:, :m] = (top > 0).float()
        return lat, feats, mask


# ----------------------------------------------------------------------------------------------
# Truth side
# ----------------------------------------------------------------------------------------------

def truth_play(seeds: List[int], ticks: int, frame_size: int, threads: int = 0,
               explore: Optional[dict] = None, with_poses: bool = False):
    """Frames [N, ticks, H, W, 3] uint8 and actions [N, ticks, A] of the exploration policy on
    held-out seeds (frames[:, t] is shown before actions[:, t]); with_poses adds the poses
    [N, ticks, 3] the frames were rendered from."""
    from . import world
    b = world.WorldBatch(seeds, width=frame_size, height=frame_size, threads=threads,
                         explore=explore or {})
    try:
        fr, ac, po = b.generate(ticks)
    finally:
        b.close()
    return (fr, ac, po) if with_poses else (fr, ac)


def truth_replay(seed: int, actions: np.ndarray, frame_size: int) -> np.ndarray:
    """Frames [T+1, H, W, 3] of one world re-played from its start under `actions` [T, A]
    (frame 0 = start)."""
    from . import world
    w = world.World(seed, width=frame_size, height=frame_size)
    try:
        out = [w.frame().copy()]
        for a in actions:
            w.step(a)
            out.append(w.frame().copy())
    finally:
        w.close()
    return np.stack(out)


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------

def _u8(x: torch.Tensor) -> np.ndarray:
    return data.to_uint8_frames(x.cpu()).numpy()


def _mean(xs) -> float:
    xs = [float(v) for v in xs]
    return float(np.mean(xs)) if xs else float("nan")


def zoom_factor(a: torch.Tensor, b: torch.Tensor, candidates=None) -> torch.Tensor:
    """Scale s (about the centre) that best maps frame a onto frame b, over a grid of candidates;
    s > 1 = content grew (walking forward). a, b: [N, 3, H, W]. Returns [N]."""
    if candidates is None:
        candidates = torch.linspace(0.9, 1.1, 41)
    n, _, h, w = a.shape
    m = h // 8
    errs = []
    for s in candidates.tolist():
        theta = torch.tensor([[1.0 / s, 0, 0], [0, 1.0 / s, 0]], dtype=a.dtype,
                             device=a.device).expand(n, 2, 3)
        grid = F.affine_grid(theta, list(a.shape), align_corners=False)
        az = F.grid_sample(a.float(), grid, mode="bilinear", padding_mode="border",
                           align_corners=False)
        errs.append((az - b.float())[..., m:h - m, m:w - m].pow(2).flatten(1).mean(1))
    best = torch.stack(errs, 1).argmin(1)
    return candidates.to(a.device)[best]


def rollout_eval(model: TorchWorldModel, cfg: configs.Config, seeds: List[int], steps: int,
                 horizons: List[int], gen: torch.Generator) -> Dict:
    K, H = model.K, max(horizons)
    warm = 16  # start after some exploration so the context shows motion
    fr, ac, po = truth_play(seeds, warm + K + H, cfg.data.frame_size, with_poses=True)
    po_t = torch.from_numpy(po[:, warm:])            # [N, K+H, 3]
    fr_t = torch.from_numpy(fr[:, warm:])            # [N, K+H, ...]
    ac_t = torch.from_numpy(ac[:, warm:]).float()    # [N, K+H, A]
    N = fr_t.shape[0]
    z_flat = model.encode(fr_t.reshape(-1, *fr_t.shape[2:]))
    z_true = z_flat.reshape(N, K + H, *z_flat.shape[1:])
    truth = data.to_float_frames(fr_t).to(model.device)  # [N, K+H, 3, H, W]
    # Self-rolled model frames 1..H after the K context frames.
    z_roll = model.rollout(z_true[:, :K], ac_t[:, :K - 1 + H], steps, gen, po_t)
    roll = model.decode(z_roll.flatten(0, 1)).reshape(N, H, *truth.shape[2:])
    ae_rec = model.decode(z_true.flatten(0, 1)).reshape(truth.shape)
    # Teacher-forced: every position t >= K from the K true latents before it.
    # Its baselines are taken at the same positions: the autoencoder ceiling of frame t and
    # copy-last = frame t-1 held.
    tf = {k: [] for k in ("psnr", "ssim", "ae_psnr", "ae_ssim", "copy_psnr", "copy_ssim",
                          "sharp_model", "sharp_truth", "sharp_ae")}
    tf_frames = []
    tf_memory = None
    if model.memory_slots:  # memory from the true latents, as the context is
        tf_memory = ViewMemory(model, po_t)
        for j in range(K + H):
            tf_memory.add(z_true[:, j], j)
    for t in range(K, K + H, max(1, H // 16)):
        noise = torch.randn(z_true[:, 0].shape, generator=gen).to(model.device)
        z = model.step(z_true[:, t - K:t], ac_t[:, t - K:t].to(model.device), noise, steps,
                       tf_memory.retrieve(t) if tf_memory is not None else ())
        x = model.decode(z)
        tr = truth[:, t]
        tf["psnr"].append(metrics.psnr(x, tr).mean())
        tf["ssim"].append(metrics.ssim(x, tr).mean())
        tf["ae_psnr"].append(metrics.psnr(ae_rec[:, t], tr).mean())
        tf["ae_ssim"].append(metrics.ssim(ae_rec[:, t], tr).mean())
        tf["copy_psnr"].append(metrics.psnr(truth[:, t - 1], tr).mean())
        tf["copy_ssim"].append(metrics.ssim(truth[:, t - 1], tr).mean())
        tf["sharp_model"].append(metrics.sharpness(x).mean())
        tf["sharp_truth"].append(metrics.sharpness(tr).mean())
        tf["sharp_ae"].append(metrics.sharpness(ae_rec[:, t]).mean())
        tf_frames.append(x)
    res = {"worlds": N, "steps": steps, "horizons": {}}
    for h in horizons:
        t = K + h - 1  # index of the h-th generated frame in the truth clip
        tr = truth[:, t]
        if h == 1:
            res["horizons"]["1"] = {
                "mode": "teacher_forced", "positions": len(tf_frames),
                "psnr": round(_mean(tf["psnr"]), 3), "ssim": round(_mean(tf["ssim"]), 4),
                "psnr_autoencoder": round(_mean(tf["ae_psnr"]), 3),
                "ssim_autoencoder": round(_mean(tf["ae_ssim"]), 4),
                "psnr_copy_last": round(_mean(tf["copy_psnr"]), 3),
                "ssim_copy_last": round(_mean(tf["copy_ssim"]), 4),
                "sharpness_ratio": round(_mean(tf["sharp_model"]) /
                                         max(_mean(tf["sharp_truth"]), 1e-8), 4),
                "sharpness_autoencoder": round(_mean(tf["sharp_ae"]) /
                                               max(_mean(tf["sharp_truth"]), 1e-8), 4),
                "psnr_self_rolled": round(float(metrics.psnr(roll[:, 0], tr).mean()), 3),
            }
            continue
        model_frames = roll[:, h - 1]
        mp = float(metrics.psnr(model_frames, tr).mean())
        ms = float(metrics.ssim(model_frames, tr).mean())
        last = truth[:, K - 1]
        sharp_model = float(metrics.sharpness(roll[:, h - 1]).mean())
        sharp_truth = float(metrics.sharpness(tr).mean())
        res["horizons"][str(h)] = {
            "mode": "self_rolled",
            "psnr": round(mp, 3), "ssim": round(ms, 4),
            "psnr_autoencoder": round(float(metrics.psnr(ae_rec[:, t], tr).mean()), 3),
            "ssim_autoencoder": round(float(metrics.ssim(ae_rec[:, t], tr).mean()), 4),
            "psnr_copy_last": round(float(metrics.psnr(last, tr).mean()), 3),
            "ssim_copy_last": round(float(metrics.ssim(last, tr).mean()), 4),
            "sharpness_ratio": round(sharp_model / max(sharp_truth, 1e-8), 4),
            "sharpness_autoencoder": round(float(metrics.sharpness(ae_rec[:, t]).mean()) /
                                           max(sharp_truth, 1e-8), 4),
            "psnr_self_rolled": round(float(metrics.psnr(roll[:, h - 1], tr).mean()), 3),
        }
    # The autoencoder ceiling over every frame of the clips.
    res["autoencoder_psnr_all"] = round(float(metrics.psnr(
        ae_rec.flatten(0, 1), truth.flatten(0, 1)).mean()), 3)
    res["_sheet"] = (truth, roll, tf_frames[0])
    return res


def action_eval(model: TorchWorldModel, cfg: configs.Config, seeds: List[int], steps: int,
                frames: int, gen: torch.Generator, layout_names: List[str]) -> Dict:
    """Scripted actions from an explored state; direction agreement of the per-frame image motion."""
    K = model.K
    A = len(layout_names)
    warm = 12
    _, ac = truth_play(seeds, warm + K, cfg.data.frame_size)
    tests = {}
    idx = {n: i for i, n in enumerate(layout_names)}
    scripts = []
    for name, val in (("turn", 1.0), ("turn", -1.0), ("strafe", 1.0), ("strafe", -1.0),
                      ("move", 1.0), ("move", -1.0)):
        if name in idx:
            scripts.append((name, val))
    for name, val in scripts:
        agree, total, t_mag, m_mag = 0, 0, [], []
        for i, seed in enumerate(seeds):
            script = np.zeros((frames, A), np.float32)
            script[:, idx[name]] = val
            acts = np.concatenate([ac[i, :warm + K], script])
            tr = truth_replay(seed, acts, cfg.data.frame_size)   # [warm+K+frames+1, ...]
            ctx_frames = torch.from_numpy(tr[warm + 1:warm + 1 + K])
            # Frame j of tr (j >= 1) follows action j-1; the context ends at frame warm+K, the
            # next action is acts[warm+K] = script[0].
            z = model.encode(ctx_frames)[None]
            a_seq = torch.from_numpy(acts[warm + 1:warm + K + frames])[None]
            zr = model.rollout(z, a_seq, steps, gen)[0]
            mf = torch.cat([model.decode(z[0, -1:]), model.decode(zr)])
            tf = data.to_float_frames(torch.from_numpy(tr[warm + K:warm + K + frames + 1])).to(
                model.device)
            if name == "move":
                st = zoom_factor(tf[:-1], tf[1:]) - 1
                sm = zoom_factor(mf[:-1], mf[1:]) - 1
                thr = 0.004
            else:
                st = metrics.phase_shift(tf[:-1], tf[1:])[0]
                sm = metrics.phase_shift(mf[:-1], mf[1:])[0]
                thr = 0.5
            valid = st.abs() > thr   # truth actually moved (not blocked by a wall)
            agree += int(((torch.sign(st) == torch.sign(sm)) & valid).sum())
            total += int(valid.sum())
            t_mag.append(float(st[valid].abs().mean()) if valid.any() else float("nan"))
            m_mag.append(float(sm[valid].abs().mean()) if valid.any() else float("nan"))
        key = f"{name}{'+' if val > 0 else '-'}"
        tests[key] = {"pairs": total, "agreement": round(agree / total, 4) if total else None,
                      "truth_motion": round(float(np.nanmean(t_mag)), 4) if total else None,
                      "model_motion": round(float(np.nanmean(m_mag)), 4) if total else None,
                      "unit": "zoom-1 per frame" if name == "move" else "px per frame"}
    summary = {}
    for n in ("turn", "strafe", "move"):
        ks = [k for k in tests if k.startswith(n)]
        p = sum(tests[k]["pairs"] for k in ks)
        a = sum((tests[k]["agreement"] or 0) * tests[k]["pairs"] for k in ks)
        if p:
            summary[n] = round(a / p, 4)
    return {"tests": tests, "agreement": summary, "frames_per_clip": frames}


@torch.no_grad()
def still_eval(model: TorchWorldModel, cfg: configs.Config, seeds: List[int], steps: int,
               gen: torch.Generator, frames: int = 32) -> Dict:
    """Standing still, as play runs when no key is held: the context is K copies of one explored
    truth frame and every action is zero. The truth world does not change then (tested), so each
    model frame is compared with that frame: PSNR and sharpness ratio after 1, 8 and `frames`
    steps (a player who stops stands for seconds, so the drift over 32 frames matters).
    A model that keeps a still scene still scores near its autoencoder ceiling."""
    K = model.K
    fr, _ = truth_play(seeds, 24, cfg.data.frame_size)
    still = torch.from_numpy(fr[:, -1])                       # [N, H, W, 3]
    z = model.encode(still)                                   # [N, C, h, w]
    ctx = z[:, None].repeat(1, K, 1, 1, 1)
    A = len(model.manifest["actions"]["names"])
    roll = model.decode(model.rollout(ctx, torch.zeros(z.shape[0], K - 1 + frames, A), steps,
                                      gen).flatten(0, 1)).reshape(z.shape[0], frames, 3,
                                                                  *still.shape[1:3])
    truth = data.to_float_frames(still.to(model.device))
    ae = model.decode(z)
    sharp_truth = float(metrics.sharpness(truth).mean())
    out: Dict = {"worlds": len(seeds), "frames": frames,
                 "psnr_autoencoder": round(float(metrics.psnr(ae, truth).mean()), 3)}
    for h in sorted({1, min(8, frames), frames}):
        x = roll[:, h - 1]
        out[str(h)] = {"psnr": round(float(metrics.psnr(x, truth).mean()), 3),
                       "sharpness_ratio": round(float(metrics.sharpness(x).mean()) /
                                                max(sharp_truth, 1e-8), 4)}
    return out


@torch.no_grad()
def action_sensitivity(model: TorchWorldModel, cfg: configs.Config, seeds: List[int],
                       layout_names: List[str], warm: int = 30) -> Dict:
    """How much the model's prediction depends on its newest action, per movement channel: the
    RMS difference of the denoiser's estimate at sigma_max (what a 1-2 step sampler outputs) with
    that channel at +1 vs -1, over the RMS of the true frame-to-frame change, from explored
    states. Near 0: the model ignores the action (it extrapolates the motion in its context)."""
    K = model.K
    fr, ac = truth_play(seeds, warm + 1, cfg.data.frame_size)
    z = model.encode(torch.from_numpy(fr[:, warm - K:warm + 1]).flatten(0, 1))
    z = z.reshape(len(seeds), K + 1, *z.shape[1:])
    ctx, tgt = z[:, :K], z[:, K]
    acts = torch.from_numpy(ac[:, warm - K:warm]).float().to(model.device)
    n = len(seeds)
    sig = torch.full((n,), float(model.edm["sigma_max"]), device=model.device)
    cs = torch.full((n,), model.ctx_sigma, device=model.device)
    change = float((tgt - ctx[:, -1]).pow(2).mean().sqrt())
    out = {}
    for name in ("move", "strafe", "turn"):
        if name not in layout_names:
            continue
        j = layout_names.index(name)
        preds = []
        for v in (1.0, -1.0):
            a = acts.clone()
            a[:, -1, j] = v
            with autocast(model.device):
                preds.append(_denoise_dev(model.dn, torch.zeros_like(tgt), sig, ctx, a, cs,
                                          model.edm["sigma_data"]).float())
        out[name] = round(float((preds[0] - preds[1]).pow(2).mean().sqrt()) / max(change, 1e-8), 4)
    return {"ratio": out, "frame_change_rms": round(change, 4), "worlds": n}


@torch.no_grad()
def memory_use(model: TorchWorldModel, cfg: configs.Config, seeds: List[int],
               targets_at=(40, 64, 88), levels=(None, 1.0, 2.0, 8.0)) -> Dict:
    """Does a memory model read its memory? On explored truth states, the denoiser's estimate at
    sigma_max (what a 1-2 step sampler outputs) with the retrieved views (ViewMemory, from the
    truth latents) and without, compared with the true next latent. Each context noise level
    (None = the manifest's inference level; higher = a context that says less, as after drift;
    8 leaves almost nothing of it, so only the views can help) gets the latent MSE without /
    with memory and the share of the error memory removes (gain; 0 = memory ignored). The
    context is noised with fixed noise at that level and the level is given to the network, as
    in training."""
    if not model.manifest["denoiser"].get("memory"):
        return {"skipped": "model has no memory slots"}
    K, n = model.K, len(seeds)
    fr, ac, po = truth_play(seeds, max(targets_at) + 1, cfg.data.frame_size, with_poses=True)
    z = model.encode(torch.from_numpy(fr).flatten(0, 1))
    z = z.reshape(n, fr.shape[1], *z.shape[1:])
    mem = ViewMemory(model, torch.from_numpy(po))
    for t in range(fr.shape[1]):
        mem.add(z[:, t], t)
    sig = torch.full((n,), float(model.edm["sigma_max"]), device=model.device)
    gen = torch.Generator().manual_seed(1234)
    out = {}
    for lv in levels:
        level = model.ctx_sigma if lv is None else float(lv)
        err = {"without": 0.0, "with": 0.0}
        present = 0.0
        for t in targets_at:
            ctx = z[:, t - K:t]
            ctx = ctx + level * torch.randn(ctx.shape, generator=gen).to(ctx.device)
            acts = torch.from_numpy(ac[:, t - K:t]).float().to(model.device)
            cs = torch.full((n,), level, device=model.device)
            views = mem.retrieve(t)
            present += float(views[2].mean())
            for key, memory in (("without", tuple(torch.zeros_like(v) for v in views)),
                                ("with", views)):
                with autocast(model.device):
                    d = _denoise_dev(model.dn, torch.zeros_like(z[:, t]), sig, ctx, acts, cs,
                                     model.edm["sigma_data"], memory).float()
                err[key] += float((d - z[:, t]).pow(2).mean()) / len(targets_at)
        name = "inference" if lv is None else f"ctx_noise_{lv:g}"
        out[name] = {"level": round(level, 4), "mse_without": round(err["without"], 5),
                     "mse_with": round(err["with"], 5),
                     "gain": round((err["without"] - err["with"]) / max(err["without"], 1e-12), 4),
                     "slots_present": round(present / len(targets_at), 3)}
    return {"levels": out, "worlds": n, "targets_at": list(targets_at)}


def event_eval(model: TorchWorldModel, cfg: configs.Config, seeds: List[int], steps: int,
               gen_seed: int, layout_names: List[str]) -> Dict:
    """Fire each event once at the same tick in truth and model; compare each side's change against
    its own no-event counterfactual (same noise for the model)."""
    K = model.K
    A = len(layout_names)
    warm, after = 12, 3
    _, ac = truth_play(seeds, warm + K, cfg.data.frame_size)
    out = {}
    for ev in ("light", "spawn"):
        if ev not in layout_names:
            continue
        j = layout_names.index(ev)
        rows = []
        for i, seed in enumerate(seeds):
            base = ac[i, :warm + K].copy()
            base[:, j] = 0.0
            idle = np.zeros((after, A), np.float32)
            with_ev = idle.copy()
            with_ev[0, j] = 1.0
            tr_ev = truth_replay(seed, np.concatenate([base, with_ev]), cfg.data.frame_size)
            tr_no = truth_replay(seed, np.concatenate([base, idle]), cfg.data.frame_size)
            t_after = torch.from_numpy(tr_ev[-1:])
            t_no = torch.from_numpy(tr_no[-1:])
            z = model.encode(torch.from_numpy(tr_ev[warm + 1:warm + 1 + K]))[None]
            acts_ev = torch.from_numpy(np.concatenate([base[warm + 1:], with_ev]))[None]
            acts_no = torch.from_numpy(np.concatenate([base[warm + 1:], idle]))[None]
            g1 = torch.Generator().manual_seed(gen_seed + i)
            g2 = torch.Generator().manual_seed(gen_seed + i)
            m_ev = model.decode(model.rollout(z, acts_ev, steps, g1)[0, -1:])
            m_no = model.decode(model.rollout(z, acts_no, steps, g2)[0, -1:])
            te = data.to_float_frames(t_after).to(model.device)
            tn = data.to_float_frames(t_no).to(model.device)
            t_change = (te - tn).abs().mean().item()
            if t_change < 0.01:  # the event changed nothing visible in truth (e.g. wall ahead)
                continue
            m_change = (m_ev - m_no).abs().mean().item()
            mask = ((te - tn).abs().mean(1, keepdim=True) > 0.05).float()
            # Change inside the region truth changed, as a fraction of truth's change there.
            in_mask = ((m_ev - m_no).abs() * mask).sum().item() / max(
                ((te - tn).abs() * mask).sum().item(), 1e-8)
            closer = float(metrics.psnr(m_ev, te)) > float(metrics.psnr(m_no, te))
            dbright_t = float(metrics.mean_brightness(te) - metrics.mean_brightness(tn))
            dbright_m = float(metrics.mean_brightness(m_ev) - metrics.mean_brightness(m_no))
            rows.append({"truth_change": t_change, "model_change": m_change,
                         "change_ratio_in_region": in_mask, "closer_to_truth": closer,
                         "brightness_delta_truth": dbright_t, "brightness_delta_model": dbright_m})
        if not rows:
            out[ev] = {"clips": 0}
            continue
        ratio = _mean(r["model_change"] / r["truth_change"] for r in rows)
        closer = _mean(r["closer_to_truth"] for r in rows)
        out[ev] = {
            "clips": len(rows),
            "change_ratio": round(ratio, 4),
            "change_ratio_in_region": round(_mean(r["change_ratio_in_region"] for r in rows), 4),
            "closer_to_truth_frac": round(closer, 4),
            "brightness_delta_truth": round(_mean(r["brightness_delta_truth"] for r in rows), 4),
            "brightness_delta_model": round(_mean(r["brightness_delta_model"] for r in rows), 4),
            # Visibly applied: the model changes at least a third as much as truth does, and the
            # event frame is closer to the truth event frame than the no-event one is, in most clips.
            "applied": bool(ratio >= 0.33 and closer >= 0.6),
        }
    return out


# The last tenth of a collapse rollout with a sharpness ratio below this is a featureless haze.
FEATURELESS_SHARPNESS = 0.15


def collapse_eval(model: TorchWorldModel, cfg: configs.Config, seed: int, frames: int,
                  steps: int, gen: torch.Generator) -> Dict:
    """Self-roll `frames` frames of random play (exploration-policy actions) and check each frame."""
    K = model.K
    fr, ac, po = truth_play([seed], K + frames, cfg.data.frame_size, with_poses=True)
    z = model.encode(torch.from_numpy(fr[0, :K]))[None]
    acts = torch.from_numpy(ac[:, :K - 1 + frames]).float()
    t0 = time.perf_counter()
    zs = model.rollout(z, acts, steps, gen, torch.from_numpy(po))[0]  # [frames, C, h, w]
    roll_s = time.perf_counter() - t0
    x = model.decode(zs)
    nan = int((~torch.isfinite(zs)).flatten(1).any(1).sum())
    bright = metrics.mean_brightness(x)
    black = int((bright < 0.03).sum())
    u8 = data.to_uint8_frames(x.cpu())
    sat_frac = ((u8 == 255).all(-1).float().flatten(1).mean(1))
    saturated = int((sat_frac > 0.9).sum())
    diffs = (x[1:] - x[:-1]).abs().flatten(1).mean(1)  # mean abs change per frame, [-1,1] units
    moving = (acts[0, K:K - 1 + frames, :3].abs().sum(1) > 0.2).to(diffs.device)
    # Frozen: a run of >= 48 frames in which the player moves yet the image barely changes.
    frozen_runs, run = 0, 0
    longest = 0
    for d, mv in zip(diffs.tolist(), moving.tolist()):
        if mv and d < 0.002:
            run += 1
            longest = max(longest, run)
        else:
            if run >= 48:
                frozen_runs += 1
            run = 0
    if run >= 48:
        frozen_runs += 1
    sharp = metrics.sharpness(x)
    lat_std = zs.flatten(1).std(1)
    seg = max(1, frames // 10)
    timeline = [{"frame": int(i), "brightness": round(float(bright[i:i + seg].mean()), 4),
                 "sharpness": round(float(sharp[i:i + seg].mean()), 4),
                 "latent_std": round(float(lat_std[i:i + seg].mean()), 4),
                 "change_per_frame": round(float(diffs[i:i + seg].mean()), 5)}
                for i in range(0, frames, seg)]
    truth_sharp = float(metrics.sharpness(data.to_float_frames(torch.from_numpy(
        fr[0, K:K + min(frames, 256)]))).mean())
    final_ratio = float(sharp[-seg:].mean()) / max(truth_sharp, 1e-8)
    # A rollout can end as a flat, slowly shifting haze that is neither black, saturated nor
    # frozen; that is a collapse too.
    featureless = final_ratio < FEATURELESS_SHARPNESS
    collapsed = bool(nan or black > frames * 0.05 or saturated > frames * 0.05 or frozen_runs
                     or featureless)
    return {"frames": frames, "nan_frames": nan, "black_frames": black,
            "saturated_frames": saturated, "frozen_runs": frozen_runs,
            "longest_still_while_moving": longest, "timeline": timeline,
            "featureless_end": featureless,
            "final_sharpness_ratio": round(final_ratio, 4),
            "rollout_s": round(roll_s, 2), "collapsed": collapsed, "_frames": x}


# ----------------------------------------------------------------------------------------------
# Engine parity (libworldloop.so through ctypes)
# ----------------------------------------------------------------------------------------------

def find_library(explicit: Optional[str] = None) -> Optional[str]:
    cands = [explicit] if explicit else []
    env = os.environ.get("WL_LIB")
    if env:
        cands.append(env)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for d in ("build-gpu", "build", "build/Release"):
        cands.append(os.path.join(root, d, "native", "libworldloop.so"))
        cands.append(os.path.join(root, d, "libworldloop.so"))
    for c in cands:
        if c and os.path.isfile(c):
            return c
    return None


class _Opts(ctypes.Structure):
    _fields_ = [("backend", ctypes.c_int), ("threads", ctypes.c_int), ("max_batch", ctypes.c_int)]


def engine_parity(path: str, model: TorchWorldModel, lib_path: str, frames: int = 6,
                  steps: int = 2, seed: int = 7) -> Dict:
    """Rolls `frames` latents with fixed noise in the engine and in PyTorch (CPU, f32, weights
    from the same file) and reports the max abs latent difference per frame, both for independent
    rollouts and for single steps from the same (engine) context."""
    lib = ctypes.CDLL(lib_path)
    from .world import check_struct_sizes
    check_struct_sizes(lib, {"wl_model_options": _Opts}, lib_path)
    lib.wl_last_error.restype = ctypes.c_char_p
    lib.wl_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Opts),
                                  ctypes.POINTER(ctypes.c_void_p)]
    lib.wl_model_free.argtypes = [ctypes.c_void_p]
    fp = ctypes.POINTER(ctypes.c_float)
    # (model, batch, context_latents, context_actions, memory (NULL: none), steps, noise, out)
    lib.wl_model_sample_with_noise.argtypes = [ctypes.c_void_p, ctypes.c_int, fp, fp,
                                               ctypes.c_void_p, ctypes.c_int, fp, fp]
    lib.wl_model_decode.argtypes = [ctypes.c_void_p, ctypes.c_int, fp,
                                    ctypes.POINTER(ctypes.c_uint8)]
    opts = _Opts(0, 0, 1)
    h = ctypes.c_void_p()
    if lib.wl_model_load(path.encode(), ctypes.byref(opts), ctypes.byref(h)) != 0:
        raise RuntimeError(f"engine could not load {path}: {lib.wl_last_error().decode()}")
    cpu = TorchWorldModel(path, torch.device("cpu"))  # f32 reference on CPU, no autocast
    try:
        m = cpu.manifest
        K = cpu.K
        C, hh, ww = m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]
        g = torch.Generator().manual_seed(seed)
        fr, ac = truth_play([seed + (1 << 41)], K + frames, m["frame"]["height"])
        ctx0 = cpu.encode(torch.from_numpy(fr[0, :K]))[None].contiguous()
        acts = torch.from_numpy(ac[0]).float()
        noise = torch.randn(frames, steps + 1, 1, C, hh, ww, generator=g)

        def engine_step(ctx, a, nz):
            out = torch.zeros(1, C, hh, ww)
            c = ctx.contiguous()
            a = a.contiguous()
            nz = nz.contiguous()
            st = lib.wl_model_sample_with_noise(
                h, 1, ctypes.cast(c.data_ptr(), fp),
                ctypes.cast(a.data_ptr(), fp), None, steps, ctypes.cast(nz.data_ptr(), fp),
                ctypes.cast(out.data_ptr(), fp))
            if st != 0:
                raise RuntimeError(f"wl_model_sample_with_noise: {lib.wl_last_error().decode()}")
            return out

        ce, ct = ctx0.clone(), ctx0.clone()
        roll_err, step_err = [], []
        for t in range(frames):
            a = acts[t:t + K][None]
            ze = engine_step(ce, a, noise[t])
            zt = cpu.step(ct, a, noise[t, 0], steps)
            zs = cpu.step(ce, a, noise[t, 0], steps)   # PyTorch from the engine's own context
            roll_err.append(float((ze - zt).abs().max()))
            step_err.append(float((ze - zs).abs().max()))
            ce = torch.cat([ce[:, 1:], ze[:, None]], 1)
            ct = torch.cat([ct[:, 1:], zt[:, None]], 1)
        rgb = np.zeros((1, m["frame"]["height"], m["frame"]["width"], 3), np.uint8)
        zc = ce[:, -1].contiguous()
        if lib.wl_model_decode(h, 1, ctypes.cast(zc.data_ptr(), fp),
                               rgb.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))) != 0:
            raise RuntimeError(f"wl_model_decode: {lib.wl_last_error().decode()}")
        ref = data.to_uint8_frames(cpu.decode(zc)).numpy()
        frame_diff = int(np.abs(rgb.astype(np.int32) - ref.astype(np.int32)).max())
    finally:
        lib.wl_model_free(h)
    tol = 1e-3
    return {"library": lib_path, "frames": frames, "steps": steps, "tolerance": tol,
            "max_abs_latent_rollout": max(roll_err), "per_frame_rollout": roll_err,
            "max_abs_latent_step": max(step_err), "max_abs_rgb8_decode": frame_diff,
            "pass": bool(max(roll_err) <= tol)}


# ----------------------------------------------------------------------------------------------
# Contact sheet and entry point
# ----------------------------------------------------------------------------------------------

def contact_sheet(truth: torch.Tensor, roll: torch.Tensor, tf: torch.Tensor, K: int,
                  horizons: List[int], rows: int = 3) -> np.ndarray:
    """Per world: a truth row over a model row, one column per horizon (h=1 is teacher-forced),
    separated by a 2-pixel gap."""
    n = min(rows, truth.shape[0])
    H, W = truth.shape[-2:]
    gap = 2
    img = np.full((n * (2 * H + gap) + (n - 1) * 4, len(horizons) * (W + gap) - gap, 3), 32,
                  np.uint8)
    for i in range(n):
        y0 = i * (2 * H + gap + 4)
        for j, h in enumerate(horizons):
            x0 = j * (W + gap)
            t = _u8(truth[i, K + h - 1][None])[0]
            m = _u8((tf[i] if h == 1 else roll[i, h - 1])[None])[0]
            img[y0:y0 + H, x0:x0 + W] = t
            img[y0 + H + gap:y0 + 2 * H + gap, x0:x0 + W] = m
    return img


def check_sigmas(sigmas: List[float]) -> None:
    """An explicit sampler schedule (--sigmas): 1..8 finite levels > 0, strictly decreasing (the
    sampler ends each run at 0 after the last)."""
    if (not sigmas or len(sigmas) > 8 or any(not (math.isfinite(v) and v > 0) for v in sigmas) or
            any(a <= b for a, b in zip(sigmas, sigmas[1:]))):
        raise ValueError(f"--sigmas: 1..8 finite noise levels > 0, strictly decreasing; got {sigmas}")


def run(model_path: str, cfg: configs.Config, out: str, device: Optional[str] = None,
        engine_lib: Optional[str] = None, quick: bool = False, seed: int = 0,
        context_noise: Optional[float] = None, sigmas: Optional[List[float]] = None,
        warm_start: bool = False) -> Dict:
    """context_noise: evaluate with this sampler.context_noise_sigma instead of the manifest's
    (for tuning it; the engine would still use the manifest's, so parity is skipped).
    sigmas / warm_start: sampler experiments (TorchWorldModel); parity is skipped with them too."""
    if context_noise is not None:
        manifest_mod.check_context_noise(context_noise, "--context-noise")
    if sigmas is not None:
        check_sigmas(sigmas)
    dev = pick_device(device or cfg.device)
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    model = TorchWorldModel(model_path, dev)
    if context_noise is not None:
        model.ctx_sigma = float(context_noise)
    model.sigmas = list(sigmas) if sigmas is not None else None
    model.warm_start = warm_start
    names = model.manifest["actions"]["names"]
    e = cfg.eval
    steps = len(sigmas) if sigmas is not None else (e.steps or model.default_steps)
    gen = torch.Generator().manual_seed(seed)
    seeds = [cfg.data.eval_seed_base + i for i in range(e.worlds)]
    res: Dict = {"model": os.path.abspath(model_path), "config": cfg.name, "device": str(dev),
                 "held_out_seeds": [seeds[0], seeds[-1]], "sampler_steps": steps,
                 "context_noise_sigma": model.ctx_sigma, "quick": quick}
    if sigmas is not None or warm_start:
        res["sampler_experiment"] = {"sigmas": sigmas, "warm_start": warm_start}
    horizons = list(e.horizons)
    r = rollout_eval(model, cfg, seeds, steps, horizons, gen)
    truth, roll, tf = r.pop("_sheet")
    res["rollout"] = r
    png.write_png(os.path.join(out, "contact_sheet.png"),
                  contact_sheet(truth, roll, tf, model.K, horizons))
    print(f"[eval] rollouts done ({time.perf_counter() - t0:.0f}s)", flush=True)
    n_act = max(2, min(len(seeds), e.action_clips // 6 if quick else e.action_clips // 3))
    res["actions"] = action_eval(model, cfg, seeds[:n_act], steps, 8, gen, names)
    res["actions"]["sensitivity"] = action_sensitivity(model, cfg, seeds, names)
    # Its own generator: the measures after it draw from `gen` exactly as before it existed.
    res["still"] = still_eval(model, cfg, seeds, steps, torch.Generator().manual_seed(seed + 7))
    print(f"[eval] actions done ({time.perf_counter() - t0:.0f}s)", flush=True)
    res["memory_use"] = memory_use(model, cfg, seeds)
    res["events"] = event_eval(model, cfg, seeds[:max(2, min(len(seeds), 8))], steps, seed + 99,
                               names)
    print(f"[eval] events done ({time.perf_counter() - t0:.0f}s)", flush=True)
    cf = e.collapse_frames if not quick else min(e.collapse_frames, 256)
    col = collapse_eval(model, cfg, cfg.data.eval_seed_base + 999, cf, steps, gen)
    col_frames = col.pop("_frames")
    res["collapse"] = col
    strip = [_u8(col_frames[i][None])[0] for i in np.linspace(0, cf - 1, 8).astype(int)]
    png.write_png(os.path.join(out, "collapse_strip.png"), np.concatenate(strip, axis=1))
    print(f"[eval] collapse check done ({time.perf_counter() - t0:.0f}s)", flush=True)
    lib = find_library(engine_lib)
    if context_noise is not None:
        res["parity"] = {"skipped": "--context-noise overrides the manifest the engine reads"}
    elif sigmas is not None or warm_start:
        res["parity"] = {"skipped": "--sigmas / --warm-start are samplers the engine does not run"}
    elif lib:
        try:
            res["parity"] = engine_parity(model_path, model, lib, steps=steps)
        except Exception as ex:  # reported, not fatal: eval numbers stand on their own
            res["parity"] = {"error": f"{type(ex).__name__}: {ex}", "library": lib}
    else:
        res["parity"] = {"skipped": "libworldloop.so not found (pass --engine-lib or set WL_LIB)"}
    res["targets"] = targets(res)
    res["eval_s"] = round(time.perf_counter() - t0, 1)
    with open(os.path.join(out, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(summary_text(res), flush=True)
    return res


def targets(res: Dict) -> Dict:
    """The issue's targets, each with the measured value and whether it is met."""
    hz = res["rollout"]["horizons"]
    out = {}

    def put(name, value, ok):
        out[name] = {"value": value, "met": bool(ok) if value is not None else None}
    ceiling = res["rollout"].get("autoencoder_psnr_all")
    if ceiling is not None:
        put("autoencoder_ceiling_ge_32dB", ceiling, ceiling >= 32)
    if "1" in hz:
        ae = hz["1"]["psnr_autoencoder"]  # the ceiling at the teacher-forced positions
        put("teacher_forced_within_2dB_of_ceiling", round(ae - hz["1"]["psnr"], 3),
            ae - hz["1"]["psnr"] <= 2)
    for h, margin in (("8", 4), ("32", 3)):
        if h in hz:
            d = round(hz[h]["psnr"] - hz[h]["psnr_copy_last"], 3)
            put(f"h{h}_beats_copy_last_by_{margin}dB", d, d >= margin)
    for h in ("32", "128"):
        if h in hz:
            put(f"sharpness_ratio_h{h}_ge_0.8", hz[h]["sharpness_ratio"],
                hz[h]["sharpness_ratio"] >= 0.8)
    t = res.get("actions", {}).get("agreement", {}).get("turn")
    put("turn_agreement_ge_0.9", t, t is not None and t >= 0.9)
    c = res.get("collapse", {})
    put(f"no_collapse_{c.get('frames', 0)}_frames", not c.get("collapsed", True),
        not c.get("collapsed", True))
    for ev in ("light", "spawn"):
        e = res.get("events", {}).get(ev)
        if e and "applied" in e:
            put(f"event_{ev}_applied", e["change_ratio"], e["applied"])
    p = res.get("parity", {})
    if "max_abs_latent_rollout" in p:
        put("engine_parity_1e-3", p["max_abs_latent_rollout"], p["pass"])
    return out


def summary_text(res: Dict) -> str:
    # The autoencoder's own sharpness ratio is the ceiling of the model's (older eval JSONs lack it).
    lines = ["horizon  model PSNR/SSIM   AE ceiling   copy-last   sharpness (AE)"]
    for h, v in res["rollout"]["horizons"].items():
        ae_sharp = v.get("sharpness_autoencoder")
        lines.append(f"{h:>7}  {v['psnr']:6.2f} / {v['ssim']:.3f}   {v['psnr_autoencoder']:6.2f}"
                     f"      {v['psnr_copy_last']:6.2f}      {v['sharpness_ratio']:.3f}"
                     + (f" ({ae_sharp:.3f})" if ae_sharp is not None else ""))
    ag = res.get("actions", {}).get("agreement", {})
    lines.append("action direction agreement: " + ", ".join(f"{k} {v:.2f}" for k, v in ag.items()))
    sens = res.get("actions", {}).get("sensitivity", {}).get("ratio", {})
    if sens:
        lines.append("action sensitivity (0 = ignored): " +
                     ", ".join(f"{k} {v:.3f}" for k, v in sens.items()))
    st = res.get("still")
    if st:
        hs = sorted(int(k) for k in st if k.isdigit())
        lines.append(f"standing still (vs the unchanged truth frame; AE {st['psnr_autoencoder']:.2f}): " +
                     "; ".join(f"{h} step{'s' if h > 1 else ''} {st[str(h)]['psnr']:.2f} dB, "
                               f"sharpness {st[str(h)]['sharpness_ratio']:.3f}" for h in hs))
    mu = res.get("memory_use", {}).get("levels")
    if mu:
        lines.append("memory use (share of the sigma_max error the views remove; 0 = ignored): " +
                     ", ".join(f"{k} {v['gain']:+.3f}" for k, v in mu.items()))
    for ev, v in res.get("events", {}).items():
        if "applied" in v:
            lines.append(f"event {ev}: change ratio {v['change_ratio']:.2f}, closer-to-truth "
                         f"{v['closer_to_truth_frac']:.2f}, applied {v['applied']}")
    c = res.get("collapse", {})
    lines.append(f"collapse over {c.get('frames')} frames: {c.get('collapsed')} "
                 f"(nan {c.get('nan_frames')}, black {c.get('black_frames')}, saturated "
                 f"{c.get('saturated_frames')}, frozen runs {c.get('frozen_runs')}, featureless "
                 f"end {c.get('featureless_end')}: sharpness ratio {c.get('final_sharpness_ratio')})")
    p = res.get("parity", {})
    if "max_abs_latent_rollout" in p:
        lines.append(f"engine parity: max abs latent {p['max_abs_latent_rollout']:.2e} "
                     f"(tolerance {p['tolerance']}) -> {'pass' if p['pass'] else 'FAIL'}")
    else:
        lines.append(f"engine parity: {p}")
    met = sum(1 for v in res["targets"].values() if v["met"])
    lines.append(f"targets met: {met}/{len(res['targets'])}")
    return "\n".join(lines)
