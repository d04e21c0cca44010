"""The proxy lab's trainer: a small denoiser trained from scratch on a lab set's cached latents,
for a fixed number of optimiser steps (not seconds: arms compare at the same work even when the
machine is busy), then exported with the set's autoencoder as a complete model file that the
micro-eval, the full eval and the engine all run.

An arm is a named list of config overrides (ARMS) applied on top of the lab's base config: the
current training recipe (configs.DynConfig defaults: sigma_max_prob 0.3 of samples at sigma_max,
log-normal elsewhere, context noise on 70 % of samples up to 0.7, half the clips unrolled) on a
denoiser about a tenth of the shipped one's width. `--set dyn.field=value` adds more.
Checkpoints every `ckpt_every` steps; a run resumes from its directory.
"""
from __future__ import annotations

import copy
import json
import os
import time
from typing import Dict, List, Optional

import torch

from . import checkpoint, configs, export, modules, trainer
from .lab_cache import require_filled_layer, slot_inputs
from .lab_set import LabSet
from .train_dyn import build_batch, edm_loss

# The lab's denoiser: the shipped architecture's shape (3 levels, attention at the lowest) at
# about a seventh of its width and one block per level; memory-less.
LAB_DYN = dict(channels=[32, 64, 96], blocks=1, attention_levels=[2], heads=4, groups=8,
               cond_dim=96, fourier_dim=32, context=4, batch=32, lr=5e-4, warmup_steps=100,
               unroll=1, unroll_prob=0.5, ema=0.995, sampler_steps=2, memory_slots=0)

# The sampled-levels recipe (train where a 1-step sampler samples, mostly on clean contexts), and
# the cache arms' two memory slots (render and mask, dropped together on 20 % of the targets).
SAMPLED = ["dyn.sigma_max_prob=0.8", "dyn.ctx_noise_prob=0.2", "dyn.ctx_noise_max=0.3",
           "dyn.unroll_prob=0.25", "dyn.sampler_steps=1"]
RESIDUAL_SAMPLED = ["dyn.predicts=residual"] + SAMPLED
TWO_SLOTS = ["dyn.memory_slots=2", "dyn.memory_drop=0.2"]

# Arms: name -> (overrides, what it tests). "residual" needs the set's change std as its
# sigma_data; lab-train fills it in from meta.json unless given.
ARMS: Dict[str, tuple] = {
    "base": ([], "the current recipe, latent parameterisation"),
    "residual": (["dyn.predicts=residual"],
                 "copy-then-correct: predict the change from the newest context latent"),
    "sampled": (SAMPLED, "train where a 1-step sampler samples (80 % at sigma_max) and mostly on "
                "clean contexts"),
    "residual_sampled": (RESIDUAL_SAMPLED,
                         "copy-then-correct and the sampled-levels recipe together"),
    # Issue 18: one memory slot carrying the point cache's render of the target camera (true
    # frames, true depth: the set's cache layer, train/lab_cache.py); relative pose zero, age 0.
    "cache_residual_sampled": (RESIDUAL_SAMPLED + ["dyn.memory_slots=1", "dyn.memory_drop=0.2"],
                               "residual_sampled plus one memory slot holding the oracle-depth "
                               "point cache's render of the target camera (needs lab-cache-build)"),
    # The same with a second slot carrying the render's valid fraction per latent cell, so that
    # the network knows which render cells are holes (black, never seen) and which are surfaces.
    "cache_mask_residual_sampled": (RESIDUAL_SAMPLED + TWO_SLOTS,
                                    "cache_residual_sampled plus a second memory slot holding "
                                    "the render's latent-cell valid mask (needs lab-cache-build)"),
    # The mask arm with the render's holes filled by the newest context latent (slot 0; the
    # mask slot still says where the holes were).
    "cache_fill_residual_sampled": (RESIDUAL_SAMPLED + TWO_SLOTS,
                                    "cache_mask_residual_sampled with the render's holes filled "
                                    "by the newest context latent (needs lab-cache-build)"),
    # The mask arm with the cache dropped far more often where a motion starts (turn_starts), so
    # that the first step of a turn is learnt from the action more than from the render, which
    # stalls it in the mask arm (docs/notes/2026-12-07-cache-turn-agreement.md).
    "cache_mask_turndrop_residual_sampled": (RESIDUAL_SAMPLED + TWO_SLOTS
                                             + ["dyn.memory_drop_turn_start=0.7"],
                                             "cache_mask_residual_sampled with the cache dropped "
                                             "on 70 % of the targets where a motion starts "
                                             "(20 % elsewhere; needs lab-cache-build)"),
    # The mask arm with the copy taken from the render: the network predicts the change from the
    # render where its cells saw a surface (the newest latent in the holes and without the cache;
    # edm.residual_base), so that on a turn the rotated view costs nothing and the frame before
    # it does; the mask arm stalls at a turn's first frames, hedging between the two
    # (docs/notes/2026-12-07-cache-turn-agreement.md).
    "cache_base_residual_sampled": (["dyn.predicts=residual_cache"] + SAMPLED + TWO_SLOTS,
                                    "cache_mask_residual_sampled predicting the change from the "
                                    "render where valid instead of from the newest latent "
                                    "(needs lab-cache-build)"),
    # The render-as-base arm on renders whose holes hold the previous frame's pixels (a layer
    # built with --fill newest): standing still the base is then about the newest frame itself,
    # where cache_base_residual_sampled's black-holed renders cost 1.3-2.2 dB
    # (docs/notes/2026-12-07-cache-base-arm.md).
    "cache_filled_base_residual_sampled": (["dyn.predicts=residual_render"] + SAMPLED + TWO_SLOTS,
                                           "predicts the change from the render itself, on "
                                           "renders hole-filled with the previous frame (needs "
                                           "lab-cache-build --fill newest)"),
}

# Arms fed by the cache layer (train/lab_cache.py): what each memory slot holds, in slot order.
# The list goes into the exported manifest's "training" entry, where the micro-eval reads it.
CACHE_ARMS: Dict[str, tuple] = {
    "cache_residual_sampled": ("render",),
    "cache_mask_residual_sampled": ("render", "mask"),
    "cache_fill_residual_sampled": ("filled", "mask"),
    "cache_mask_turndrop_residual_sampled": ("render", "mask"),
    "cache_base_residual_sampled": ("render", "mask"),
    "cache_filled_base_residual_sampled": ("render", "mask"),
}

# turn_starts: a target starts a motion when its action (the newest context action, the one that
# leads to it) differs from the action before by more than this on some channel. Channels span
# [-1, 1] (turn, move, strafe). The threshold leaves out the explorer's strafe jitter (a few
# hundredths from tick to tick, on 61 % of the lab set's ticks) and keeps every switch between
# its modes (turning, walking, standing, a random action): 13.6 % of the set's ticks.
TURN_START_DELTA = 0.25


def turn_starts(newest: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """[B] bool: the targets whose action newest [B, A] differs from the action before it,
    previous [B, A], by more than TURN_START_DELTA on at least one channel."""
    return (newest - previous).abs().amax(dim=-1) > TURN_START_DELTA


def target_drop(c: configs.DynConfig, a: torch.Tensor, j: int):
    """The cache's drop probability for the targets at clip step j of clips with actions
    a [B, L, A]: memory_drop, or with memory_drop_turn_start >= 0 a [B] tensor holding that
    probability where the target starts a motion (turn_starts of actions j-1 and j-2)."""
    if c.memory_drop_turn_start < 0:
        return c.memory_drop
    if j < 2:
        raise ValueError(f"turn-start dropout needs two actions before the target (clip step {j})")
    start = turn_starts(a[:, j - 1], a[:, j - 2])
    return torch.where(start, torch.tensor(c.memory_drop_turn_start),
                       torch.tensor(c.memory_drop))


def cache_memory(layer, w: torch.Tensor, t: torch.Tensor, pose_dim: int, drop,
                 gen: torch.Generator, held: bool = False, kinds=("render",), newest=None):
    """The cache slots for targets at ticks t [B] of worlds w [B] (lab_cache.slot_inputs):
    memory [B, M, C, h, w], pose features [B, M, P] (relative pose zero, age 0), mask [B, M]: 1
    where the render has any valid pixel, all slots dropped together with probability `drop` (a
    float, or a [B] tensor: one per target, target_drop) so the model also works without the
    cache. newest [B, C, h, w]: the newest context latent, for a "filled" slot."""
    lat = (layer.held_latents if held else layer.train_latents)[w, t]
    valid = (layer.held_valid if held else layer.train_valid)[w, t]
    need_cells = "mask" in kinds or "filled" in kinds
    cells = (layer.held_cells if held else layer.train_cells)[w, t] if need_cells else None
    if isinstance(drop, torch.Tensor) and drop.shape != w.shape:
        raise ValueError(f"per-target drop probabilities {list(drop.shape)} for {len(w)} targets")
    drops = bool((torch.as_tensor(drop) > 0).any())
    keep = torch.rand(len(w), generator=gen) >= drop if drops else None
    return slot_inputs(kinds, lat, valid, cells, pose_dim, keep, newest)


def lab_config(arm: str, sets: List[str], change_std: float) -> configs.Config:
    if arm not in ARMS:
        raise ValueError(f"unknown arm '{arm}' (choose from {', '.join(ARMS)})")
    cfg = configs.get_config("cpu")
    cfg.name = f"lab-{arm}"
    cfg.ckpt_every = 250
    cfg.log_every = 50
    cfg.dyn = configs.DynConfig(**LAB_DYN)
    cfg.dyn.residual_sigma_data = round(change_std, 4)
    for s in ARMS[arm][0] + list(sets):
        cfg = configs.override(cfg, s)
    return cfg


def manifest_for(cfg: configs.Config, base_manifest: dict, arm: str) -> dict:
    """The set's model manifest with the lab denoiser in place of the shipped one."""
    m = copy.deepcopy(base_manifest)
    layout = {"channels": [{"name": n, "min": lo, "max": hi, "kind": k} for n, lo, hi, k in zip(
        m["actions"]["names"], m["actions"]["min"], m["actions"]["max"], m["actions"]["kinds"])]}
    fresh = configs.manifest_for(cfg, layout, latent_scale=m["latent"]["scale"])
    m["denoiser"] = fresh["denoiser"]
    m["edm"] = fresh["edm"]
    m["sampler"] = fresh["sampler"]
    m["name"] = f"lab-{arm}"
    m["training"] = {"note": "proxy-lab arm: small denoiser on cached latents (train/lab_train.py)",
                     "arm": arm, "steps": 0}
    return m


def run(set_root: str, out: str, arm: str, steps: int, sets: List[str] = (),
        seed: int = 0, log=print, cache_dir: Optional[str] = None) -> str:
    """Trains the arm to `steps` total optimiser steps (resuming from `out`), exports
    <out>/model.safetensors and returns its path. cache_dir: a cache arm's layer (default: the
    one beside the set's files)."""
    lab = LabSet(set_root)
    layer, kinds = None, CACHE_ARMS.get(arm)
    if kinds:
        from .lab_cache import CacheLayer
        layer = CacheLayer(set_root, cache_dir)
    elif cache_dir:
        raise ValueError(f"--cache-dir is for the cache arms ({', '.join(CACHE_ARMS)}), not '{arm}'")
    trainer.use_all_cpus()
    cfg = lab_config(arm, list(sets), lab.meta["change_std"])
    c = cfg.dyn
    if c.memory_drop_turn_start > 1:
        raise ValueError(f"dyn.memory_drop_turn_start {c.memory_drop_turn_start}: a probability "
                         "(0..1), or below 0 for off")
    if c.memory_drop_turn_start >= 0 and not kinds:
        raise ValueError(f"dyn.memory_drop_turn_start is for the cache arms "
                         f"({', '.join(CACHE_ARMS)}), not '{arm}'")
    require_filled_layer(c.predicts, layer, f"arm '{arm}'")
    if kinds and c.memory_slots != len(kinds):
        raise ValueError(f"arm '{arm}' fills {len(kinds)} memory slot(s) ({', '.join(kinds)}); "
                         f"dyn.memory_slots is {c.memory_slots}")
    base_manifest, ae, _ = export.load_model(lab.meta["model"])
    manifest = manifest_for(cfg, base_manifest, arm)
    if kinds:
        manifest["training"]["cache_slots"] = list(kinds)
        manifest["training"]["cache_policy"] = layer.policy
        manifest["training"]["cache_fill"] = layer.fill
        manifest["training"]["cache_depth"] = layer.depth
    device = torch.device("cpu")
    torch.manual_seed(seed)
    model = modules.Denoiser(manifest)
    ema = trainer.EMA(model, c.ema)
    opt = trainer.make_optimizer(model.parameters(), c.lr, c.weight_decay, device)
    step, t_prev = 0, 0.0
    gen = torch.Generator().manual_seed(seed + 1)
    os.makedirs(out, exist_ok=True)
    p = checkpoint.find_latest(out, "lab")
    if p:
        st = checkpoint.load(p)
        if st.get("arm") != arm or st.get("config") != cfg.to_dict():
            raise ValueError(f"{p}: this run directory holds arm '{st.get('arm')}' with another "
                             "config; use a new --out")
        model.load_state_dict(st["model"])
        ema.shadow.load_state_dict(st["ema"])
        opt.load_state_dict(st["optimizer"])
        gen.set_state(st["generator"])
        torch.set_rng_state(st["torch_rng"])
        step, t_prev = int(st["step"]), float(st["elapsed_s"])
        log(f"[lab {arm}] resumed at step {step}")
    with open(os.path.join(out, "arm.json"), "w") as f:
        json.dump({"arm": arm, "what": ARMS[arm][1], "overrides": ARMS[arm][0] + list(sets),
                   "steps": steps, "set": os.path.abspath(set_root),
                   "cache_layer": os.path.abspath(layer.dir) if layer else None,
                   "config": cfg.to_dict(),
                   "params": modules.count_params(model)}, f, indent=1)
    sched = trainer.Schedule(c.lr, c.warmup_steps, None, steps)
    K, U = c.context, c.unroll
    n_unroll = int(round(c.batch * c.unroll_prob))
    sd = manifest["edm"]["sigma_data"]
    t0 = time.time()
    metrics_f = open(os.path.join(out, "metrics.jsonl"), "a")

    def save():
        checkpoint.save(out, "lab", {
            "arm": arm, "config": cfg.to_dict(), "step": step, "model": model.state_dict(),
            "ema": ema.shadow.state_dict(), "optimizer": opt.state_dict(),
            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
            "elapsed_s": t_prev + time.time() - t0})

    loss_sum, loss_n = 0.0, 0
    while step < steps:
        lr = sched.lr(step, 0.0, 0)
        for g in opt.param_groups:
            g["lr"] = lr
        memory_for = None
        if layer is None:
            z, a = lab.sample_clips(gen, c.batch, K + 1 + U)
        else:
            z, a, wi, tick0 = lab.sample_clips(gen, c.batch, K + 1 + U, with_index=True)
            # Teacher-forced and unrolled targets alike get the render of the target tick made
            # from TRUE frames (a simplification: in play the cache holds the model's frames).
            # A filled slot's holes take the newest context latent of the clip (true, as the
            # render is: unrolled targets' contexts end in the model's own latent instead).
            # The drop probability may depend on whether the target starts a motion.
            memory_for = lambda j: cache_memory(layer, wi, tick0 + j, c.memory_pose_dim,  # noqa: E731
                                                target_drop(c, a, j), gen, kinds=kinds,
                                                newest=z[:, j - 1])
        ctx, acts, tgt, mem = build_batch(c, z, a, model, manifest["edm"], n_unroll, device,
                                          memory_for)
        model.train()
        loss = edm_loss(model, ctx, acts, tgt, c, sd, device, manifest["edm"]["sigma_max"], mem)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update(model, step)
        step += 1
        loss_sum, loss_n = loss_sum + float(loss.detach()), loss_n + 1
        if step % cfg.log_every == 0 or step == steps:
            trainer.finite_or_raise(loss.detach(), f"lab {arm}", step)
            el = t_prev + time.time() - t0
            rec = {"step": step, "loss": round(loss_sum / loss_n, 5), "lr": lr,
                   "elapsed_s": round(el, 1)}
            metrics_f.write(json.dumps(rec) + "\n")
            metrics_f.flush()
            log(f"[lab {arm}] step {step}/{steps} loss {rec['loss']:.4f} lr {lr:.2e} "
                f"{step / max(el, 1e-9):.1f} steps/s")
            loss_sum, loss_n = 0.0, 0
        if step % cfg.ckpt_every == 0:
            save()
    save()
    metrics_f.close()
    manifest["training"]["steps"] = step
    manifest["training"]["elapsed_s"] = round(t_prev + time.time() - t0, 1)
    path = os.path.join(out, "model.safetensors")
    export.export_model(path, manifest, ae, ema.shadow)
    log(f"[lab {arm}] exported {path}")
    return path
