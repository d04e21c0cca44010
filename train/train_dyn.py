"""Stage 2: the action-conditioned EDM denoiser on frozen autoencoder latents.

Each step draws clips of K+1+U consecutive latents with their actions from the pool and builds one
training batch of (context, actions, target) triples:
  * every clip contributes its teacher-forced triple (K true latents -> latent K);
  * a fraction `unroll_prob` of the clips is also rolled forward U steps with the model's own
    samples (no gradient, the inference sampler), and each rolled context is paired with the TRUE
    next latent. The model thus learns to pull a drifted context back to the world instead of
    compounding its errors (the anti-drift term);
  * context-noise augmentation: a per-sample level s (0 with probability 1 - ctx_noise_prob,
    else U(0, ctx_noise_max)) of Gaussian noise is added to the context latents and s is given to
    the network as conditioning, so it learns not to trust fine context detail blindly.
Convention (same as the engine and src/model_world.ts): context latents oldest first, and action
K-1 is the one that leads from the newest context frame to the frame being generated.
All triples go through ONE forward/backward (one DDP reduction per step).
With dyn.memory_slots > 0 every triple also gets up to M memory views of its target (earlier
frames of the same episode whose pose overlaps the target's; train/memory_data.py), randomly
dropped, and the unrolls sample with them too.
"""
from __future__ import annotations

import time
from typing import Optional

import torch
import torch.nn as nn

from . import checkpoint, configs, data, edm, memory_data, modules
from .train_ae import load_autoencoder, make_source
from .trainer import (EMA, make_optimizer, Progress, Schedule, StepProfiler, autocast,
                      finite_or_raise, maybe_compile, start_stage, stop_requested,
                      to_memory_format, unwrap)


def precondition(sigma: torch.Tensor, sd: float):
    """EDM scalars as [N,1,1,1] tensors on sigma's device (edm.precondition computes the same in
    double on the host for the engine-parity path; float32 on the device is what training needs)."""
    s = sigma.float().view(-1, 1, 1, 1)
    d = torch.sqrt(s * s + sd * sd)
    return sd * sd / (d * d), s * sd / d, 1.0 / d, torch.log(sigma.float()) / 4.0


def denoise(net, x, sigma, ctx, acts, ctx_sigma, sd, memory=()):
    """memory: () or (latents, poses, mask) for a memory-enabled net."""
    c_skip, c_out, c_in, c_noise = precondition(sigma, sd)
    return c_skip * x + c_out * net(c_in * x, c_noise, ctx, acts, ctx_sigma, *memory).float()


@torch.no_grad()
def sample(net, ctx, acts, steps, edm_cfg, ctx_sigma, noise, memory=(), predicts="latent"):
    """Euler on the Karras schedule (the engine's sampler) on the training device; predicts: what
    the net's output means (edm.sample and edm.residual_base say more)."""
    sig = edm.karras_sigmas(steps, edm_cfg["sigma_min"], edm_cfg["sigma_max"], edm_cfg["rho"])
    n = ctx.shape[0]
    x = noise * sig[0]
    cs = torch.full((n,), float(ctx_sigma), device=ctx.device)
    for i in range(steps):
        s = torch.full((n,), sig[i], device=ctx.device)
        d = denoise(net, x, s, ctx, acts, cs, edm_cfg["sigma_data"], memory)
        a, b = edm.euler_coefficients(sig[i], sig[i + 1])
        x = a * x + b * d
    base = edm.residual_base(predicts, ctx, memory)
    return x if base is None else x + base


@torch.no_grad()
def encode_chunks(ae: modules.Autoencoder, frames_u8, device, batch: int = 1024,
                  channels_last: bool = False) -> torch.Tensor:
    """uint8 [N, T, H, W, 3] (numpy) -> scaled latents [N, T, C, h, w] on device. channels_last:
    the encoder's weights are NHWC (trainer.to_memory_format) and its frames stay NHWC, as the
    uint8 frames already are."""
    f = torch.from_numpy(frames_u8)
    n, t = f.shape[:2]
    flat = f.reshape(n * t, *f.shape[2:])
    out = []
    for i in range(0, flat.shape[0], batch):
        x = data.to_float_frames(flat[i:i + batch].to(device, non_blocking=True))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            out.append(ae.encode(x).float())
    z = torch.cat(out)
    return z.reshape(n, t, *z.shape[1:])


def build_batch(cfg: configs.DynConfig, z: torch.Tensor, a: torch.Tensor, model, edm_cfg,
                n_unroll: int, device, memory_for=None):
    """(contexts [M,K,C,h,w], actions [M,K,A], targets [M,C,h,w], memory) from clips
    z [B,K+1+U,...]. memory_for(j) -> (latents, poses, mask) for the targets at clip step j of
    every clip (None: no memory); memory is () or those three concatenated like the targets."""
    K, U = cfg.context, cfg.unroll
    ctxs, acts, tgts = [z[:, :K]], [a[:, :K]], [z[:, K]]
    mems = [memory_for(K)] if memory_for else []
    if n_unroll > 0 and U > 0:
        ctx = z[:n_unroll, :K]
        was_training = model.training
        model.eval()
        with autocast(device):
            for u in range(U):
                act = a[:n_unroll, u:u + K]
                noise = torch.randn_like(ctx[:, 0])
                # The frame being sampled is clip step K+u: memory relative to it.
                mem = tuple(t[:n_unroll] for t in memory_for(K + u)) if memory_for else ()
                pred = sample(model, ctx, act, cfg.unroll_steps, edm_cfg, cfg.ctx_noise_infer,
                              noise, mem, cfg.predicts).float()
                ctx = torch.cat([ctx[:, 1:], pred[:, None]], dim=1)
                ctxs.append(ctx)
                acts.append(a[:n_unroll, u + 1:u + 1 + K])
                tgts.append(z[:n_unroll, K + u + 1])
                if memory_for:
                    mems.append(tuple(t[:n_unroll] for t in memory_for(K + u + 1)))
        model.train(was_training)
    memory = tuple(torch.cat(parts) for parts in zip(*mems)) if mems else ()
    return torch.cat(ctxs), torch.cat(acts), torch.cat(tgts), memory


def memory_reliant_levels(s_ctx: torch.Tensor, memory, cfg: configs.DynConfig, device):
    """Context noise levels with memory-reliant samples mixed in (DynConfig.memory_ctx_noise_*):
    a sample with at least one memory view present gets, with probability memory_ctx_noise_prob,
    a level drawn from memory_ctx_noise_range, so its target has to come from the views."""
    if not memory or cfg.memory_ctx_noise_prob <= 0:
        return s_ctx
    lo, hi = cfg.memory_ctx_noise_range
    m = s_ctx.shape[0]
    has_view = memory[2].sum(dim=1) > 0
    pick = has_view & (torch.rand(m, device=device) < cfg.memory_ctx_noise_prob)
    heavy = lo + torch.rand(m, device=device) * (hi - lo)
    return torch.where(pick, heavy, s_ctx)


def edm_loss(net, ctx, acts, target, cfg: configs.DynConfig, sd: float, device,
             sigma_max: float = 5.0, memory=()):
    m = target.shape[0]
    base = edm.residual_base(cfg.predicts, ctx, memory)
    if base is not None:
        # Copy-then-correct: the target is the change from the newest context latent (or the
        # cache's render) as the sampler will see it (clean: the engine does not noise its
        # context).
        target = target - base
    # Context-noise augmentation.
    aug = (torch.rand(m, device=device) < cfg.ctx_noise_prob).float()
    s_ctx = aug * torch.rand(m, device=device) * cfg.ctx_noise_max
    s_ctx = memory_reliant_levels(s_ctx, memory, cfg, device)
    ctx = ctx + s_ctx.view(-1, 1, 1, 1, 1) * torch.randn_like(ctx)
    # EDM noise with offset noise (a per-sample, per-channel constant shift).
    sigma = torch.exp(cfg.p_mean + cfg.p_std * torch.randn(m, device=device))
    at_max = torch.rand(m, device=device) < cfg.sigma_max_prob
    sigma = torch.where(at_max, torch.full_like(sigma, sigma_max), sigma)
    eps = torch.randn_like(target) + cfg.offset_noise * torch.randn(
        m, target.shape[1], 1, 1, device=device)
    x = target + sigma.view(-1, 1, 1, 1) * eps
    c_skip, c_out, c_in, c_noise = precondition(sigma, sd)
    with autocast(device):
        f = net(c_in * x, c_noise, ctx, acts, s_ctx, *memory)
    # The loss in F-space equals lambda(sigma) * ||D - target||^2 with EDM's weighting.
    f_target = (target - c_skip * x) / c_out
    return (f.float() - f_target).pow(2).mean()


class DynStep:
    """One optimiser step of the denoiser stage: sample clips from the pool (with memory views when
    the net has slots), unroll a share of them with the model's own samples, one forward/backward
    over every target, clip, AdamW, EMA. run() calls it every step and `train bench-step` times
    it, so the benchmark measures exactly the trainer's path.

    net is what trains (possibly DDP- and/or compile-wrapped); sampler_net is what the unrolls
    sample with; model is the bare module (its parameters are clipped, its weights averaged)."""

    def __init__(self, cfg: configs.Config, manifest: dict, model: nn.Module, net: nn.Module,
                 sampler_net: nn.Module, opt, ema: Optional[EMA], pool, device: torch.device,
                 prof: Optional[StepProfiler] = None):
        self.cfg, self.c, self.manifest = cfg, cfg.dyn, manifest
        self.model, self.net, self.sampler_net = model, net, sampler_net
        self.opt, self.ema, self.pool, self.device = opt, ema, pool, device
        self.prof = prof if prof is not None else StepProfiler("", "dyn", 0, device, False)
        self.clip_len = self.c.context + 1 + self.c.unroll
        self.n_unroll = int(round(self.c.batch * self.c.unroll_prob))
        self.sd = manifest["edm"]["sigma_data"]
        self.use_memory = self.c.memory_slots > 0

    def __call__(self, step: int, lr: float):
        """(loss, grad norm, targets in this step's batch, share of memory slots present or
        None); the loss and the norms stay tensors so nothing here waits for the device."""
        c, prof = self.c, self.prof
        for g in self.opt.param_groups:
            g["lr"] = lr
        memory_for = None
        with prof.phase("phase:sample_and_unroll"):
            if self.use_memory:
                z, a, s_idx, t0 = self.pool.sample_clips(c.batch, self.clip_len,
                                                         c.memory_min_gap + 1)

                def memory_for(j, s_idx=s_idx, t0=t0):
                    return self.pool.memory(s_idx, t0, t0 + j, c.memory_slots, c.memory_pose_dim,
                                            c.memory_min_gap, c.memory_drop, c.memory_drop_all,
                                            c.memory_fov_deg, c.memory_range)
            else:
                z, a = self.pool.sample(c.batch, self.clip_len)
            ctx, acts, tgt, mem = build_batch(c, z, a, self.sampler_net, self.manifest["edm"],
                                              self.n_unroll, self.device, memory_for)
        with prof.phase("phase:forward_loss"):
            loss = edm_loss(self.net, ctx, acts, tgt, c, self.sd, self.device,
                            self.manifest["edm"]["sigma_max"], mem)
        # Share of memory slots present this step (logged; a tensor, so no sync here).
        mem_present = mem[2].mean() if self.use_memory else None
        with prof.phase("phase:backward"):
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
        with prof.phase("phase:optimizer_ema"):
            gn = torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            if self.ema is not None:
                self.ema.update(self.model, step)
        prof.after_step()
        return loss, gn, tgt.shape[0], mem_present


def run(cfg: configs.Config, out: str, time_budget: Optional[float] = None,
        max_steps: Optional[int] = None, resume: bool = True,
        episodes: Optional[str] = None, profile_steps: int = 0) -> dict:
    r = cfg.dyn.memory_ctx_noise_range
    if not 0 <= cfg.dyn.memory_ctx_noise_prob <= 1 or len(r) != 2 or not 0 <= r[0] <= r[1]:
        raise ValueError(f"dyn.memory_ctx_noise_prob must be in [0, 1] and "
                         f"dyn.memory_ctx_noise_range two levels lo,hi with 0 <= lo <= hi; got "
                         f"{cfg.dyn.memory_ctx_noise_prob} and {r}")
    dd, device = start_stage(cfg.device, cfg.seed + 1000)
    ae, ae_state = load_autoencoder(out, device, cfg)
    for p in ae.parameters():
        p.requires_grad_(False)
    layout = ae_state["layout"]
    scale = float(ae_state["latent_scale"])
    manifest = configs.manifest_for(cfg, layout, latent_scale=scale)
    c = cfg.dyn
    model = to_memory_format(modules.Denoiser(manifest).to(device), cfg.channels_last)
    ae = to_memory_format(ae, cfg.channels_last)
    ema = EMA(model, c.ema) if c.ema > 0 else None
    opt = make_optimizer(model.parameters(), c.lr, c.weight_decay, device)
    step, samples_total, elapsed_total = 0, 0, 0.0
    rewarm_from = 0
    history = []
    if resume:
        p = checkpoint.find_latest(out, "dyn")
        if p:
            st = checkpoint.load(p)
            model.load_state_dict(st["model"])
            if ema is not None:
                ema.shadow.load_state_dict(st["ema"] if st.get("ema") is not None
                                           else st["model"])
            if st.get("optimizer") is not None:
                opt.load_state_dict(st["optimizer"])
            else:  # slim resume state (weights only): fresh moments, warm up again
                rewarm_from = int(st["step"])
            step, samples_total = int(st["step"]), int(st.get("samples", 0))
            history = list(st.get("history") or [])
            elapsed_total = float(st.get("elapsed_s", 0.0))
            if st.get("latent_scale") and abs(float(st["latent_scale"]) - scale) > 1e-6:
                raise ValueError(f"{p}: denoiser was trained on latents with scale "
                                 f"{st['latent_scale']}, the autoencoder now has {scale}; "
                                 "start the denoiser afresh (--fresh)")
            if dd.main:
                print(f"[dyn] resumed from {p} at step {step}", flush=True)
    steps_cap = max_steps if max_steps is not None else c.max_steps
    net: nn.Module = model
    if dd.active:
        net = nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    net = maybe_compile(net, cfg.compile, cfg.compile_mode)

    K, U = c.context, c.unroll
    clip_len = K + 1 + U
    if cfg.data.chunk < clip_len:
        raise ValueError(f"data.chunk {cfg.data.chunk} is shorter than a clip (K+1+U = {clip_len})")
    source = make_source(cfg, layout, episodes, dd.rank, seed_offset=500_000 + step * 7)
    A = len(layout["channels"])
    lat = (manifest["latent"]["channels"], manifest["latent"]["height"],
           manifest["latent"]["width"])
    use_memory = c.memory_slots > 0
    if use_memory and episodes:
        raise ValueError("dyn.memory_slots > 0 trains on ground-truth worlds (it needs poses); "
                         "drop --episodes or set dyn.memory_slots=0")
    if use_memory and cfg.data.chunk < clip_len + c.memory_min_gap + 1:
        raise ValueError(f"dyn.memory_slots > 0 needs data.chunk >= clip length {clip_len} + "
                         f"dyn.memory_min_gap {c.memory_min_gap} + 1 so earlier views exist; "
                         f"data.chunk is {cfg.data.chunk}")
    pool_cls = memory_data.PosedClipPool if use_memory else data.ClipPool
    pool = pool_cls(max(8, cfg.data.pool_frames // cfg.data.chunk), cfg.data.chunk, lat, A,
                    device, seed=cfg.seed + dd.rank + step)
    prog = Progress(out, "dyn", dd.main, time_budget, steps_cap, step)
    sched = Schedule(c.lr, c.warmup_steps, time_budget, steps_cap, warm_origin=rewarm_from)

    def pull(block: bool) -> int:
        item = source.get(block=block)
        if item is None:
            return 0
        fr, ac = item[0], item[1]
        if use_memory:
            pool.add(encode_chunks(ae, fr, device, channels_last=cfg.channels_last), torch.from_numpy(ac).to(device),
                     torch.from_numpy(item[2]) if len(item) > 2 else None)
        else:
            pool.add(encode_chunks(ae, fr, device, channels_last=cfg.channels_last), torch.from_numpy(ac).to(device))
        return fr.shape[0]

    warm = min(pool.capacity, max(8, (4 * c.batch) // max(1, cfg.data.chunk // clip_len)))
    while pool.size < warm:
        pull(True)
    prog.event({"event": "start", "step0": step, "pool_seqs": pool.size, "device": str(device),
                "world_size": dd.world, "budget_s": time_budget, "latent_scale": scale})
    fresh, stop, last_ckpt = 0, False, step
    t_data = 0.0
    prof = StepProfiler(out, "dyn", profile_steps, device, dd.main)
    # Unrolls sample without gradients through the compiled module when there is one; under DDP
    # through the bare module (a DDP forward outside backward would desynchronise the ranks).
    train_step = DynStep(cfg, manifest, model, net, unwrap(net) if dd.active else net, opt, ema,
                         pool, device, prof)
    try:
        while not stop:
            t0 = time.perf_counter()
            # At most one chunk every dyn_pull_every steps: encoding fresh frames must not
            # starve the optimiser.
            if step % max(1, cfg.data.dyn_pull_every) == 0:
                with prof.phase("phase:data_pull"):
                    fresh += pull(False)
            t_data += time.perf_counter() - t0
            lr = sched.lr(step, prog.elapsed(), prog.step0)
            loss, gn, n_targets, mem_present = train_step(step, lr)
            step += 1
            m = n_targets * dd.world
            prog.add_samples(m)
            samples_total += m
            if step % cfg.log_every == 0:
                finite_or_raise(loss.detach(), "dyn", step)
                scalars = {"loss": float(loss.detach()), "grad_norm": float(gn), "lr": lr}
                if use_memory:
                    scalars["memory_present"] = float(mem_present)
                prog.log(step, scalars,
                         {"fresh_seqs": fresh, "data_s": round(t_data, 2),
                          "gen_fps": round(getattr(source, "frames_per_second", lambda: 0)(), 0)})
                fresh, t_data = 0, 0.0
            if dd.main and step - last_ckpt >= cfg.ckpt_every:
                _save(out, model, ema, opt, step, samples_total,
                      elapsed_total + prog.elapsed(), cfg, layout, scale, ae_state["step"],
                      history)
                last_ckpt = step
            done = step >= steps_cap or stop_requested() or (
                time_budget is not None and prog.elapsed() >= time_budget)
            stop = dd.any_flag(done, device)
    finally:
        source.close()
    summary = {"event": "end", "step": step, "samples": samples_total,
               "elapsed_s": round(elapsed_total + prog.elapsed(), 1)}
    prog.event(summary)
    if dd.main:
        _save(out, model, ema, opt, step, samples_total, elapsed_total + prog.elapsed(), cfg,
              layout, scale, ae_state["step"], history)
        print(f"[dyn] done: step {step}, {samples_total} samples", flush=True)
    dd.barrier()
    dd.close()
    return summary


def _save(out, model, ema, opt, step, samples, elapsed, cfg, layout, scale, ae_step, history=()):
    checkpoint.save(out, "dyn", {
        "history": list(history),
        "step": step, "samples": samples, "elapsed_s": elapsed,
        "model": unwrap(model).state_dict(),
        "ema": ema.shadow.state_dict() if ema is not None else None,
        "optimizer": opt.state_dict(), "config": cfg.to_dict(), "layout": layout,
        "latent_scale": scale, "ae_step": ae_step, "time": time.time(),
    })


def load_denoiser(out: str, device: torch.device, manifest: dict, use_ema: bool = True):
    p = checkpoint.find_latest(out, "dyn")
    if not p:
        raise FileNotFoundError(f"{out}: no denoiser checkpoint (run `python3 -m train dyn` first)")
    st = checkpoint.load(p)
    dn = modules.Denoiser(manifest)
    sd = st["ema"] if use_ema and st.get("ema") is not None else st["model"]
    dn.load_state_dict(sd)
    return dn.to(device).eval(), st
