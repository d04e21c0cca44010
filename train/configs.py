"""Named training configurations: smoke (CPU, seconds, run by the tests), cpu (the fallback
default model on 2 cores) and gpu (the real run: ~7 minutes on one H100, data generation included).

A config is plain data. Every architecture size ends up in the model manifest, so nothing here is
hard-coded anywhere else; `override()` lets the CLI change single fields (`--set dyn.lr=1e-4`).
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List


@dataclass
class DataConfig:
    frame_size: int = 128
    worlds: int = 32             # parallel ground-truth worlds in the generator
    threads: int = 0             # world threads (0 = all cores the generator may use)
    episode_ticks: int = 1500    # a world is re-seeded with a fresh level after this many ticks
    chunk: int = 32              # ticks generated per world per generator call
    pool_frames: int = 20000     # frames (AE) / latent clips worth of frames (dyn) kept for sampling
    refresh_per_step: float = 0.25  # target fraction of a batch replaced by fresh data each step
    # Denoiser stage: take one generated chunk into the pool every this many steps. Encoding a
    # chunk (worlds x chunk frames) costs as much as several optimiser steps, and the pool's
    # overlapping windows give each sequence many clips.
    dyn_pull_every: int = 1
    # Event rates of the exploration policy while training (higher than its defaults, because
    # light/spawn are rare in natural play yet must be learnt).
    p_light: float = 0.02
    p_spawn: float = 0.03
    # Random-action bursts (wl_explore_config.p_random): without them the explorer's next action
    # is almost always what the recent motion already shows, and the denoiser learns to
    # extrapolate motion and ignore its actions (measured: docs/training.md).
    p_random: float = 0.06
    random_min: int = 2
    random_max: int = 10
    # Idling (wl_explore_config.p_idle): the explorer's stops still turn a little, so without
    # this only 0.3 % of training clips showed a scene that stays exactly the same, yet a player
    # who holds no key sees one all the time. 0.005 makes it 4.7 % (16 worlds x 1,500 ticks).
    p_idle: float = 0.005
    idle_min: int = 6
    idle_max: int = 40
    seed_base: int = 1           # training seeds start here; held-out eval seeds live far away
    eval_seed_base: int = 1 << 40


@dataclass
class AEConfig:
    channels: List[int] = field(default_factory=lambda: [16, 32, 64, 128])
    blocks: int = 1
    groups: int = 8
    latent_channels: int = 8
    batch: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_steps: int = 200
    max_steps: int = 100000
    edge_weight: float = 0.5     # image-gradient L1 term (keeps edges; pure L1 blurs)
    ssim_weight: float = 0.2     # 1 - SSIM term
    latent_reg: float = 1e-4     # tiny L2 on latents so their scale stays bounded
    ema: float = 0.0             # 0 = no EMA
    # Train the decoder alone, the encoder frozen: the latent space (and so every denoiser trained
    # on it) stays valid, and the latent scale is kept from the checkpoint instead of re-measured.
    # For improving a shipped model's pictures without retraining its denoiser; needs an
    # autoencoder checkpoint to start from (`train import-model`).
    decoder_only: bool = False


@dataclass
class DynConfig:
    channels: List[int] = field(default_factory=lambda: [64, 128, 192])
    blocks: int = 2
    attention_levels: List[int] = field(default_factory=lambda: [1, 2])
    heads: int = 4
    groups: int = 8
    cond_dim: int = 256
    fourier_dim: int = 64
    context: int = 4
    batch: int = 32
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 300
    max_steps: int = 1000000
    # EDM training noise: log-normal(p_mean, p_std), offset noise as in the brief.
    p_mean: float = -1.2
    p_std: float = 1.2
    offset_noise: float = 0.1
    # Share of samples trained exactly at sigma_max. With 1-2 Euler steps the sampler's first
    # evaluation, at sigma_max, makes nearly the whole frame (the next level is ~sigma_min), yet the
    # log-normal above puts ~1% of its mass that high; this trains the level inference relies on.
    sigma_max_prob: float = 0.3
    # Context-noise augmentation: with probability ctx_noise_prob a sample's context latents get
    # N(0, s^2) with s ~ U(0, ctx_noise_max); s is fed to the network as conditioning.
    ctx_noise_prob: float = 0.7
    ctx_noise_max: float = 0.7
    # Inference-time context noise written into the manifest (sampler.context_noise_sigma).
    ctx_noise_infer: float = 0.05
    # Anti-drift unrolls: with probability unroll_prob the clip is extended by `unroll` frames
    # whose contexts contain the model's own (detached) samples instead of truth.
    unroll: int = 2
    unroll_prob: float = 0.5
    unroll_steps: int = 1         # sampler steps used to produce the unrolled context
    sampler_steps: int = 2        # default in the manifest
    ema: float = 0.999            # EMA of the weights; the EMA copy is exported
    # Memory views (docs/memory-model.md; train/memory_data.py). 0 slots = the memory-less model.
    # Views come from >= memory_min_gap steps before the clip, so data.chunk must be longer than
    # the clip by at least that much for any view to exist.
    memory_slots: int = 0
    memory_pose_dim: int = 5
    memory_min_gap: int = 4
    memory_drop: float = 0.25     # each chosen slot is dropped with this probability
    memory_drop_all: float = 0.2  # a whole sample gets no memory with this probability
    # The proxy lab's cache arms only (train/lab_train.py): the cache slots' drop probability on
    # targets where a motion starts (the newest action differs from the one before by more than
    # lab_train.TURN_START_DELTA on some channel), memory_drop on the others; below 0: off.
    memory_drop_turn_start: float = -1.0
    memory_fov_deg: float = 66.0  # view-overlap parameters of candidate selection
    memory_range: float = 7.0
    # Memory-reliant samples. Measured on the training data (16k clips, gpu data config): the
    # target's pose overlaps its own 4-frame context by >= 0.91 in 95% of clips, and a memory
    # view never overlaps it more than the context does, so nothing in ordinary clips rewards
    # reading memory (and the trained models ignore it). With this probability a sample that
    # has memory gets a context noise level drawn from memory_ctx_noise_range instead, far above
    # ctx_noise_max: the context then says little and the target must come from the views. The
    # level is given to the network as usual, so at inference (low level) nothing changes unless
    # the context has drifted. 0 = off.
    # CPU trials from the shipped model (docs/memory-model.md): a 1-3 range taught the network to
    # read noisy contexts better, not to read views; 4-12 started it reading views.
    memory_ctx_noise_prob: float = 0.0
    memory_ctx_noise_range: List[float] = field(default_factory=lambda: [4.0, 12.0])
    # What the network predicts (manifest denoiser.predicts): "latent" (the next latent) or
    # "residual" (copy-then-correct: its change from the newest context latent, so keeping the
    # scene is free). residual_sigma_data is the EDM sigma_data of that change (its std; the
    # latents' own is 0.5); it goes into the manifest's edm.sigma_data.
    predicts: str = "latent"
    residual_sigma_data: float = 0.30  # the lab set's measured change std (docs/lab.md)


@dataclass
class EvalConfig:
    worlds: int = 8
    horizons: List[int] = field(default_factory=lambda: [1, 8, 32, 128])
    rollout: int = 128
    collapse_frames: int = 2000
    steps: int = 2
    action_clips: int = 48        # per direction, for the action-agreement check


@dataclass
class Config:
    name: str = "gpu"
    device: str = "auto"          # auto | cpu | cuda
    seed: int = 0
    ckpt_every: int = 500         # steps
    log_every: int = 25           # steps
    ae_fraction: float = 0.3      # share of `all`'s time budget given to the autoencoder
    compile: bool = False         # torch.compile when available (guarded)
    # torch.compile mode when compile is on: "default", "reduce-overhead" (CUDA graphs: the
    # denoiser's small steps are launch-bound) or "max-autotune".
    compile_mode: str = "default"
    # Weights and activations in NHWC (torch.channels_last): cuDNN's bf16 convolutions run NHWC,
    # so NCHW tensors pay two layout conversions per convolution (~12 ms of run 5's 259 ms step).
    channels_last: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    ae: AEConfig = field(default_factory=AEConfig)
    dyn: DynConfig = field(default_factory=DynConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def _smoke() -> Config:
    c = Config(name="smoke", device="cpu", ckpt_every=4, log_every=2)
    c.data = DataConfig(frame_size=128, worlds=4, threads=2, chunk=12, pool_frames=256,
                        episode_ticks=200)
    c.ae = AEConfig(channels=[8, 16, 16, 16], blocks=1, groups=4, batch=4, warmup_steps=2,
                    max_steps=6)
    c.dyn = DynConfig(channels=[16, 32, 32], blocks=1, attention_levels=[2], heads=2, groups=4,
                      cond_dim=32, fourier_dim=16, batch=4, warmup_steps=2, max_steps=6,
                      unroll=1, unroll_prob=1.0, ema=0.9)
    c.eval = EvalConfig(worlds=2, horizons=[1, 8], rollout=10, collapse_frames=24, steps=1,
                        action_clips=4)
    return c


def _cpu() -> Config:
    # A reduced model that trains meaningfully on 2 shared cores in well under an hour; shipped
    # only as the fallback default when no GPU run exists.
    c = Config(name="cpu", device="cpu", ckpt_every=100, log_every=10, ae_fraction=0.35)
    c.data = DataConfig(worlds=16, threads=1, chunk=16, pool_frames=6000, episode_ticks=800,
                        refresh_per_step=0.5)
    c.ae = AEConfig(channels=[16, 32, 48, 64], blocks=1, groups=8, batch=16, lr=1e-3,
                    warmup_steps=50)
    c.dyn = DynConfig(channels=[48, 96, 128], blocks=1, attention_levels=[2], heads=4, groups=8,
                      cond_dim=128, fourier_dim=32, batch=16, lr=5e-4, warmup_steps=50,
                      unroll=1, unroll_prob=0.3, ema=0.995)
    c.eval = EvalConfig(worlds=4, rollout=128, collapse_frames=2000, steps=2, action_clips=24)
    return c


def _gpu() -> Config:
    # ~7 minutes on one H100 with bf16 autocast: ~2 min autoencoder, ~5 min denoiser.
    c = Config(name="gpu", device="cuda", ckpt_every=1000, log_every=50, ae_fraction=0.3,
               compile=False)
    # Measured on an H100 (run 1): the generator makes ~68k frames/s with 12 threads; pulling a
    # chunk every step made the denoiser stage data-bound (600 samples/s), so it pulls every 8th.
    # The shipped default model has 4 memory slots (docs/memory-model.md), so this config builds
    # it: chunks of 96 ticks give memory views from up to ~90 frames back; a chunk is 3x the
    # frames of the old 32-tick one, so it is pulled every 24th step instead of every 8th.
    # H100 run 3 (profiled, batch 128): ~1,650 samples/s, ~178 ms a step, of which kernels ran
    # ~39 ms; the rest is host-side launch overhead, about the same whatever the batch. So the
    # batch is 4x larger (more GPU work per launch, expected ~4x samples/s; not yet run on a
    # GPU), the learning rate a little higher, and fresh chunks come twice as often per step
    # because each step consumes 4x the clips.
    c.data = DataConfig(worlds=96, threads=12, chunk=96, pool_frames=60000, episode_ticks=1500,
                        refresh_per_step=0.1, dyn_pull_every=12)
    c.ae = AEConfig(batch=64, lr=6e-4, warmup_steps=200)
    # Memory-reliant samples on (not yet run on a GPU): without them the model ignores memory.
    c.dyn = DynConfig(batch=512, lr=4e-4, warmup_steps=200, ema=0.999, memory_slots=4,
                      memory_ctx_noise_prob=0.3)
    c.eval = EvalConfig(worlds=16)
    return c


CONFIGS = {"smoke": _smoke, "cpu": _cpu, "gpu": _gpu}


def get_config(name: str) -> Config:
    if name not in CONFIGS:
        raise ValueError(f"unknown config '{name}' (choose from {', '.join(sorted(CONFIGS))})")
    return CONFIGS[name]()


def override(cfg: Config, assignment: str) -> Config:
    """Applies 'section.field=value' (or 'field=value' for top-level fields) to a copy of cfg.
    The value is parsed to the field's current type; errors name the field."""
    if "=" not in assignment:
        raise ValueError(f"--set expects section.field=value, got '{assignment}'")
    path, raw = assignment.split("=", 1)
    parts = path.strip().split(".")
    cfg = copy.deepcopy(cfg)
    obj: Any = cfg
    for p in parts[:-1]:
        if not hasattr(obj, p) or not dataclasses.is_dataclass(getattr(obj, p)):
            raise ValueError(f"--set {path}: no config section '{p}'")
        obj = getattr(obj, p)
    leaf = parts[-1]
    if not hasattr(obj, leaf) or dataclasses.is_dataclass(getattr(obj, leaf)):
        raise ValueError(f"--set {path}: no config field '{leaf}'")
    cur = getattr(obj, leaf)
    try:
        if isinstance(cur, bool):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError("expected true or false")
            val: Any = raw.lower() in ("true", "1")
        elif isinstance(cur, int):
            val = int(raw)
        elif isinstance(cur, float):
            val = float(raw)
        elif isinstance(cur, list):
            val = [type(cur[0])(x) if cur else int(x) for x in raw.split(",") if x.strip()]
        else:
            val = raw
    except ValueError as e:
        raise ValueError(f"--set {path}: cannot parse '{raw}' as {type(cur).__name__}: {e}")
    setattr(obj, leaf, val)
    return cfg


def from_dict(d: Dict[str, Any]) -> Config:
    """Rebuilds a Config from to_dict() output (checkpoints store it); unknown keys are ignored so
    old checkpoints stay loadable."""
    def build(cls, src):
        kw = {}
        for f in dataclasses.fields(cls):
            if f.name in src:
                v = src[f.name]
                sub = {"data": DataConfig, "ae": AEConfig, "dyn": DynConfig, "eval": EvalConfig}
                if cls is Config and f.name in sub and isinstance(v, dict):
                    v = build(sub[f.name], v)
                kw[f.name] = v
        return cls(**kw)
    return build(Config, d)


def manifest_for(cfg: Config, layout: Dict[str, Any], latent_scale: float = 1.0,
                 name: str = "") -> Dict[str, Any]:
    """The model manifest (train/manifest.py schema) for a config and the world's action layout
    ({"channels":[{"name","min","max","kind"},...]})."""
    from . import manifest as mf
    m = mf.default_manifest()
    f = cfg.data.frame_size
    down = 2 ** (len(cfg.ae.channels) - 1)
    m["name"] = name or f"worldloop-{cfg.name}"
    m["frame"] = {"height": f, "width": f}
    m["latent"] = {"channels": cfg.ae.latent_channels, "height": f // down, "width": f // down,
                   "scale": float(latent_scale)}
    m["autoencoder"] = {"channels": list(cfg.ae.channels), "blocks": cfg.ae.blocks,
                        "groups": cfg.ae.groups}
    d = cfg.dyn
    m["denoiser"] = {"channels": list(d.channels), "blocks": d.blocks,
                     "attention_levels": list(d.attention_levels), "heads": d.heads,
                     "groups": d.groups, "cond_dim": d.cond_dim, "fourier_dim": d.fourier_dim,
                     "context": d.context}
    if d.memory_slots:
        m["denoiser"]["memory"] = {"slots": d.memory_slots, "pose_dim": d.memory_pose_dim}
    if d.predicts != "latent":
        m["denoiser"]["predicts"] = d.predicts
        m["edm"]["sigma_data"] = float(d.residual_sigma_data)
    ch = layout["channels"]
    m["actions"] = {"names": [c["name"] for c in ch], "min": [float(c["min"]) for c in ch],
                    "max": [float(c["max"]) for c in ch], "kinds": [c["kind"] for c in ch]}
    # The object kinds the training worlds spawned: what the runtime may place in this model's
    # world (src/object_placement.ts). Layouts kept by older checkpoints have none.
    if layout.get("objects"):
        m["objects"] = {"kinds": list(layout["objects"])}
    m["sampler"] = {"steps": d.sampler_steps, "context_noise_sigma": d.ctx_noise_infer}
    return mf.check(m)
