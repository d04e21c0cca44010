"""Stage 1: the autoencoder (128x128 RGB <-> 16x16x8 latents).

Loss = L1 + edge_weight * L1(image gradients) + ssim_weight * (1 - SSIM) + a tiny L2 on the
latents. Pure L1 settles for blurred edges; the gradient and SSIM terms pay for keeping them,
which is what the decoder's sharpness (and the sharpness ratio in eval) depends on.
At the end the latent scale is measured (scale = sigma_data / std of raw latents) and stored in
the checkpoint, from where the denoiser stage and the exporter take it into the manifest.
"""
from __future__ import annotations

import math
import time
from typing import Optional

import torch
import torch.nn as nn

from . import checkpoint, configs, data, metrics, modules
from .trainer import (make_optimizer, Progress, Schedule, autocast, finite_or_raise, maybe_compile,
                      start_stage,
                      stop_requested, unwrap)


class _AEWithLatent(nn.Module):
    """forward returns (reconstruction, raw latent) in one call, so DDP sees one forward."""

    def __init__(self, ae: modules.Autoencoder):
        super().__init__()
        self.ae = ae

    def forward(self, x):
        z = self.ae.encoder(x)
        return self.ae.decoder(z), z


def make_source(cfg: configs.Config, layout: dict, episodes: Optional[str], rank: int,
                seed_offset: int = 0):
    if episodes:
        names = [c["name"] for c in layout["channels"]]
        return data.EpisodeSource(episodes, names, (cfg.data.frame_size, cfg.data.frame_size),
                                  cfg.data.chunk, cfg.data.worlds, seed=cfg.seed + rank)
    return data.WorldStream(cfg.data, seed_offset=seed_offset, rank=rank)


@torch.no_grad()
def measure_latent_scale(ae: modules.Autoencoder, frames: torch.Tensor, sigma_data: float,
                         device: torch.device) -> float:
    zs = []
    for i in range(0, frames.shape[0], 64):
        x = data.to_float_frames(frames[i:i + 64].to(device))
        zs.append(ae.encoder(x).float())
    std = float(torch.cat(zs).std())
    if not math.isfinite(std) or std <= 0:
        raise FloatingPointError(f"autoencoder latents have std {std}; cannot scale them")
    return sigma_data / std


def run(cfg: configs.Config, out: str, time_budget: Optional[float] = None,
        max_steps: Optional[int] = None, resume: bool = True,
        episodes: Optional[str] = None) -> dict:
    dd, device = start_stage(cfg.device, cfg.seed)
    layout = data.action_layout()
    manifest = configs.manifest_for(cfg, layout)
    ae = modules.Autoencoder(manifest).to(device)
    c = cfg.ae
    if c.decoder_only:
        for prm in ae.encoder.parameters():
            prm.requires_grad_(False)
    trained = [prm for prm in ae.parameters() if prm.requires_grad]
    opt = make_optimizer(trained, c.lr, c.weight_decay, device)
    step, samples_total, elapsed_total = 0, 0, 0.0
    rewarm_from = 0
    kept_scale: Optional[float] = None
    p = checkpoint.find_latest(out, "ae") if resume else None
    if c.decoder_only and not p:
        raise ValueError(f"ae.decoder_only: {out} has no autoencoder checkpoint to keep the "
                         "encoder of (run `python3 -m train import-model --model FILE` first, "
                         "or train without ae.decoder_only)")
    if p:
        st = checkpoint.load(p)
        ae.load_state_dict(st["model"])
        if c.decoder_only:
            kept_scale = st.get("latent_scale")
            if kept_scale is None:
                raise ValueError(f"{p}: no latent scale to keep (ae.decoder_only needs a "
                                 "finished autoencoder)")
        opt_state = st.get("optimizer")
        if opt_state is not None and len(opt_state["param_groups"][0]["params"]) == len(trained):
            opt.load_state_dict(opt_state)
        else:  # weights only, or the other set of trained parameters: fresh moments, warm up
            rewarm_from = int(st["step"])
        step, samples_total = int(st["step"]), int(st.get("samples", 0))
        elapsed_total = float(st.get("elapsed_s", 0.0))
        if dd.main:
            what = " (decoder only: encoder and latent scale kept)" if c.decoder_only else ""
            print(f"[ae] resumed from {p} at step {step}{what}", flush=True)
    steps_cap = max_steps if max_steps is not None else c.max_steps
    if step >= steps_cap and not time_budget:
        if dd.main:
            print(f"[ae] already at step {step} >= {steps_cap}; nothing to do", flush=True)
        dd.close()
        return {"step": step}
    net: nn.Module = _AEWithLatent(ae)
    if dd.active:
        net = nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    net = maybe_compile(net, cfg.compile)

    source = make_source(cfg, layout, episodes, dd.rank, seed_offset=step * 7)
    f = cfg.data.frame_size
    pool = data.FramePool(cfg.data.pool_frames, f, f, device, seed=cfg.seed + dd.rank + step)
    prog = Progress(out, "ae", dd.main, time_budget, steps_cap, step)
    sched = Schedule(c.lr, c.warmup_steps, time_budget, steps_cap, warm_origin=rewarm_from)
    warm = min(cfg.data.pool_frames, max(4 * c.batch, cfg.data.worlds * cfg.data.chunk))
    while pool.size < warm:
        pool.add(source.get(block=True)[0])
    prog.event({"event": "start", "step0": step, "pool": pool.size, "device": str(device),
                "world_size": dd.world, "budget_s": time_budget})
    fresh_in, drawn = 0, 0
    stop = False
    last_ckpt = step
    try:
        while not stop:
            item = source.get(block=False)
            while item is not None:
                pool.add(item[0])
                fresh_in += item[0].shape[0] * item[0].shape[1]
                item = source.get(block=False) if fresh_in < 4 * c.batch * cfg.log_every else None
            lr = sched.lr(step, prog.elapsed(), prog.step0)
            for g in opt.param_groups:
                g["lr"] = lr
            x = pool.sample(c.batch)
            drawn += c.batch
            with autocast(device):
                rec, z = net(x)
            rec = rec.float()
            l1 = (rec - x).abs().mean()
            edge = metrics.edge_l1(rec, x)
            ss = metrics.ssim(rec, x).mean()
            reg = z.float().pow(2).mean()
            loss = l1 + c.edge_weight * edge + c.ssim_weight * (1 - ss) + c.latent_reg * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            opt.step()
            step += 1
            prog.add_samples(c.batch * dd.world)
            samples_total += c.batch * dd.world
            if step % cfg.log_every == 0:
                finite_or_raise(loss.detach(), "ae", step)
                with torch.no_grad():
                    ps = float(metrics.psnr(rec.detach(), x).mean())
                prog.log(step, {"loss": float(loss), "l1": float(l1), "edge": float(edge),
                                "ssim": float(ss), "psnr": ps, "lr": lr},
                         {"fresh_frac": round(fresh_in / max(1, drawn), 3),
                          "gen_fps": round(getattr(source, "frames_per_second", lambda: 0)(), 0)})
                fresh_in, drawn = 0, 0
            if dd.main and step - last_ckpt >= cfg.ckpt_every:
                # The scale is measured at every checkpoint so a run cut short (timeout) still
                # leaves a checkpoint the denoiser stage can use.
                sc = kept_scale
                if sc is None:
                    ae.eval()
                    sc = measure_latent_scale(ae, pool.buf[torch.randperm(pool.size)[:256].to(
                        pool.buf.device)], manifest["edm"]["sigma_data"], device)
                    ae.train()
                _save(out, ae, opt, step, samples_total, elapsed_total + prog.elapsed(), cfg,
                      layout, sc)
                last_ckpt = step
            done = step >= steps_cap or stop_requested() or (
                time_budget is not None and prog.elapsed() >= time_budget)
            stop = dd.any_flag(done, device)
    finally:
        source.close()
    # Latent scale from a sample of the pool (rank 0 decides; identical weights on all ranks).
    ae.eval()
    n = min(pool.size, 1024)
    idx = torch.randperm(pool.size)[:n].to(pool.buf.device)
    scale = kept_scale if kept_scale is not None else measure_latent_scale(
        ae, pool.buf[idx], manifest["edm"]["sigma_data"], device)
    with torch.no_grad():
        x = data.to_float_frames(pool.buf[idx[:256]])
        ps = float(metrics.psnr(ae.decoder(ae.encoder(x)), x).mean())
    summary = {"event": "end", "step": step, "samples": samples_total,
               "elapsed_s": round(elapsed_total + prog.elapsed(), 1), "latent_scale": scale,
               "train_psnr": round(ps, 2)}
    prog.event(summary)
    if dd.main:
        _save(out, ae, opt, step, samples_total, elapsed_total + prog.elapsed(), cfg, layout,
              scale)
        print(f"[ae] done: step {step}, train PSNR {ps:.2f} dB, latent scale {scale:.4f}",
              flush=True)
    dd.barrier()
    dd.close()
    return summary


def _save(out, ae, opt, step, samples, elapsed, cfg, layout, scale):
    checkpoint.save(out, "ae", {
        "step": step, "samples": samples, "elapsed_s": elapsed, "model": unwrap(ae).state_dict(),
        "optimizer": opt.state_dict(), "config": cfg.to_dict(), "layout": layout,
        "latent_scale": scale, "time": time.time(),
    })


def load_autoencoder(out: str, device: torch.device, cfg: Optional[configs.Config] = None):
    """(autoencoder with its latent scale set, checkpoint state) from a run directory."""
    p = checkpoint.find_latest(out, "ae")
    if not p:
        raise FileNotFoundError(f"{out}: no autoencoder checkpoint (run `python3 -m train ae` "
                                "first)")
    st = checkpoint.load(p)
    ccfg = configs.from_dict(st["config"]) if cfg is None else cfg
    scale = st.get("latent_scale")
    if scale is None:
        raise ValueError(f"{p}: autoencoder checkpoint has no latent scale (training was "
                         "interrupted before the end; rerun `train ae` to finish it)")
    m = configs.manifest_for(ccfg, st["layout"], latent_scale=scale)
    ae = modules.Autoencoder(m)
    ae.load_state_dict(st["model"])
    ae.scale = float(scale)
    return ae.to(device).eval(), st
