"""The point-cache layer of a lab set (issue 18; docs/lab.md, "The cache-conditioned arm"): for
every world of an existing set, what a point cache fed with TRUE frames and TRUE depth renders at
each tick's camera, encoded by the set's encoder, so that a lab denoiser can be conditioned on it.

`build(set_dir)` regenerates the set's worlds deterministically with depth (lab_set's seeds and
EXPLORE), fails loudly unless the regenerated actions equal train_actions.npy / held_actions.npy
and the held-out and turn frames equal the stored ones, then for each world runs a point cache
(train/point_cache.py over the C ABI): for t = 0..T-1 it renders the cache at camera t BEFORE
inserting frame t (render t shows what frames < t saw), then inserts frame t with its depth.
The set's existing files are not touched; the layer adds, beside them (or in `layer_dir`, so that
layers of several cache policies can stand beside one set):

  cache_meta.json           what was built (policy, intrinsics, digests)
  train_render_latents.npy  float16 [W, T, C, h, w]  encoded renders (invalid pixels black)
  train_render_valid.npy    float32 [W, T]           each render's valid pixel fraction
  train_render_mask.npy     float16 [W, T, h, w]     valid fraction per latent cell
  held_render_latents.npy   float16 [V, Th, C, h, w] (and _valid, _mask), for teacher forcing
  held_depths.npy           float32 [V, Th, H, W]    truth depth (inf = sky), for the eval's cache
  held_poses.npy            float32 [V, Th, 3]       x, y, yaw of each held-out frame
  turn_depths.npy           float32 [V, 2, K+F, H, W] the turn clips' depth
  turn_poses.npy            float32 [V, 2, K+F, 3]
Cameras are rebuilt from poses with point_cache.pose_camera and the intrinsics in cache_meta.json
(exactly World::camera(); tested).
"""
from __future__ import annotations

import json
import os
import time
from typing import Dict, Optional

import numpy as np

from . import lab_set, point_cache
from .engine_ae import EngineAutoencoder

CACHE_VERSION = 1
FILES = ("train_render_latents", "train_render_valid", "train_render_mask", "held_render_latents",
         "held_render_valid", "held_render_mask", "held_depths", "held_poses", "turn_depths",
         "turn_poses")
CAMERA_FIELDS = ("width", "height", "fx", "fy", "cx", "cy", "eye_height")


def intrinsics(frame_size: int) -> point_cache.world.Camera:
    """A camera of the lab's world config (its intrinsics; the pose is seed 1's start)."""
    w = point_cache.world.World(1, width=frame_size, height=frame_size)
    try:
        return point_cache.world_camera(w)
    finally:
        w.close()


def intrinsics_from(meta: Dict) -> point_cache.world.Camera:
    c = point_cache.world.Camera()
    for k in CAMERA_FIELDS:
        setattr(c, k, meta["camera"][k])
    return c


def cell_fraction(mask_u8: np.ndarray, lat_hw) -> np.ndarray:
    """uint8 masks [..., H, W] (255 valid) -> valid fraction per latent cell [..., h, w]."""
    H, W = mask_u8.shape[-2:]
    h, w = lat_hw
    m = (mask_u8 > 0).astype(np.float32).reshape(*mask_u8.shape[:-2], h, H // h, w, W // w)
    return m.mean(axis=(-3, -1))


CRACK_REACH = 2   # fill_cracks: a hole pixel with render on both sides within this many pixels


def fill_cracks(rgb: np.ndarray, mask: np.ndarray, reach: int = CRACK_REACH):
    """Closes the render's cracks: the thin holes (a few pixels wide) between a surface's points
    where a surface is seen closer or more obliquely than when it was cached. A hole pixel with
    valid pixels on both sides within `reach` pixels, left and right or above and below, takes
    the mean of the valid pixels in its (2 reach + 1)² window and becomes valid; wide holes (sky,
    the newly revealed side of a turn) stay holes. rgb uint8 [H, W, 3], mask uint8 [H, W] (255
    valid) -> new (rgb, mask)."""
    v = mask > 0
    H, W = v.shape
    pv = np.pad(v, reach)
    side = lambda dy, dx: pv[reach + dy:reach + dy + H, reach + dx:reach + dx + W]  # noqa: E731
    near = lambda sign, axis: np.logical_or.reduce(  # noqa: E731
        [side(sign * k, 0) if axis == 0 else side(0, sign * k) for k in range(1, reach + 1)])
    crack = ~v & ((near(-1, 1) & near(1, 1)) | (near(-1, 0) & near(1, 0)))
    if not crack.any():
        return rgb, mask
    pr = np.pad(rgb.astype(np.float32) * v[..., None], ((reach, reach), (reach, reach), (0, 0)))
    acc, cnt = np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            acc += pr[reach + dy:reach + dy + H, reach + dx:reach + dx + W]
            cnt += side(dy, dx)
    out, m = rgb.copy(), mask.copy()
    out[crack] = np.round(acc[crack] / cnt[crack, None]).clip(0, 255).astype(np.uint8)
    m[crack] = 255
    return out, m


FILLS = ("none", "newest")


def fill_holes(rgb: np.ndarray, mask: np.ndarray, newest: np.ndarray) -> np.ndarray:
    """The render with every hole pixel (mask 0) taken from the newest frame at the same screen
    position (a layer built with fill "newest"): standing still the render is then the newest
    frame wherever the cache has nothing, and on a turn only the revealed strip is a guess.
    rgb, newest uint8 [..., H, W, 3], mask uint8 [..., H, W] -> uint8 [..., H, W, 3]."""
    return np.where(mask[..., None] > 0, rgb, newest)


def require_filled_layer(predicts: str, layer, who: str) -> None:
    """A denoiser that predicts the change from the render itself ("residual_render") must read
    renders whose holes hold the previous frame (a layer built with --fill newest): a black hole
    copied as its base would be a black frame. `who` names the arm or model in the error."""
    if predicts == "residual_render" and (layer is None or layer.fill != "newest"):
        have = "no cache layer" if layer is None else f"{layer.dir} has fill '{layer.fill}'"
        raise ValueError(f"{who} predicts residual_render (the change from the render itself): it "
                         f"needs a cache layer built with `lab-cache-build --fill newest` "
                         f"(--cache-dir; {have})")


def cache_renders(frames: np.ndarray, depths: np.ndarray, poses: np.ndarray, intr,
                  policy: str = "newest", threads: int = 1, fill: str = "none"):
    """One world's sequence: frames uint8 [T,H,W,3], depths [T,H,W], poses [T,3] -> renders uint8
    [T,H,W,3] and masks uint8 [T,H,W], render t made before frame t is inserted. fill "newest":
    render t's holes take frame t - 1 (fill_holes; render 0 keeps them black); the masks are
    the renders' own either way."""
    if fill not in FILLS:
        raise ValueError(f"lab cache: fill '{fill}': choose from {', '.join(FILLS)}")
    T = frames.shape[0]
    out = np.empty_like(frames)
    masks = np.empty(frames.shape[:3], np.uint8)
    with point_cache.PointCache(policy, threads=threads) as cache:
        for t in range(T):
            cam = point_cache.pose_camera(intr, *poses[t])
            out[t], _, masks[t] = cache.render(cam)
            if fill == "newest" and t > 0:
                out[t] = fill_holes(out[t], masks[t], frames[t - 1])
            cache.insert(cam, frames[t], depths[t])
    return out, masks


def _explore_depth(seeds, ticks: int, frame_size: int):
    from . import world
    b = world.WorldBatch(seeds, width=frame_size, height=frame_size, explore=lab_set.EXPLORE)
    try:
        return b.generate(ticks, depth=True)
    finally:
        b.close()


def _turn_depths(seeds, held_actions, K, frames, warm, frame_size, turn_index):
    """lab_set._turn_clips replayed with depth and poses kept."""
    acts = lab_set.turn_scripts(held_actions, K, frames, warm, turn_index)
    out_f = np.empty((len(seeds), 2, K + frames, frame_size, frame_size, 3), np.uint8)
    out_d = np.empty((len(seeds), 2, K + frames, frame_size, frame_size), np.float32)
    out_p = np.empty((len(seeds), 2, K + frames, 3), np.float32)
    for i, seed in enumerate(seeds):
        for d in range(2):
            out_f[i, d], out_d[i, d], out_p[i, d] = lab_set.replay(seed, frame_size, acts[i, d],
                                                                   warm)
    return out_f, out_d, out_p


def _mismatch(what: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or not np.array_equal(a, b):
        raise ValueError(f"lab cache: the regenerated {what} differ from the set's (the world, "
                         "the explorer or lab_set.EXPLORE changed since the set was built); "
                         "rebuild the set (python3 -m train lab-build) before its cache layer")


def build(set_dir: str, policy: str = "newest", group: int = 32, log=print,
          layer_dir: Optional[str] = None, fill: str = "none",
          depth_head: Optional[str] = None) -> Dict:
    """Builds the layer of `set_dir` into `layer_dir` (default: the set's own directory); fill:
    what the renders' holes hold before encoding (cache_renders); depth_head: a lab depth head's
    file (train/lab_depth.py) whose predicted depth the renders are made with instead of the
    truth's (held_depths, turn_depths stay the truth's: the eval predicts its own)."""
    if fill not in FILLS:
        raise ValueError(f"lab cache: fill '{fill}': choose from {', '.join(FILLS)}")
    if policy not in point_cache.POLICIES:
        raise ValueError(f"lab cache: policy '{policy}': choose from "
                         f"{', '.join(point_cache.POLICIES)}")
    head = None
    if depth_head is not None:
        from .lab_depth import DepthHead
        head = DepthHead(depth_head)
    layer_dir = layer_dir or set_dir
    os.makedirs(layer_dir, exist_ok=True)
    if os.path.exists(os.path.join(layer_dir, "cache_meta.json")) and layer_dir != set_dir:
        raise FileExistsError(f"{layer_dir}: already holds a cache layer; pick a new --layer-dir")
    t_start = time.time()
    with open(os.path.join(set_dir, "meta.json")) as f:
        meta = json.load(f)
    size = int(meta["frame_size"])
    C, h, w = meta["latent"]
    K = int(meta["context"])
    ae = EngineAutoencoder(meta["model"], batch=lab_set.ENCODE_BATCH)
    intr = intrinsics(size)
    a_train = np.load(os.path.join(set_dir, "train_actions.npy"), mmap_mode="r")
    W, T = int(meta["train"]["worlds"]), int(meta["train"]["ticks"])
    base = int(meta["train"]["seed_base"])
    path = lambda n: os.path.join(layer_dir, n + ".npy")  # noqa: E731
    set_path = lambda n: os.path.join(set_dir, n + ".npy")  # noqa: E731
    z_r = np.lib.format.open_memmap(path("train_render_latents"), "w+", np.float16, (W, T, C, h, w))
    valid = np.empty((W, T), np.float32)
    cells = np.empty((W, T, h, w), np.float16)
    for g0 in range(0, W, group):
        seeds = [base + i for i in range(g0, min(W, g0 + group))]
        fr, ac, po, dp = _explore_depth(seeds, T, size)
        _mismatch(f"training actions of worlds {g0}..{g0 + len(seeds) - 1}", ac,
                  np.asarray(a_train[g0:g0 + len(seeds)]))
        for j in range(len(seeds)):
            dj = dp[j] if head is None else head.predict(fr[j])
            ren, m = cache_renders(fr[j], dj, po[j], intr, policy, threads=2, fill=fill)
            z_r[g0 + j] = lab_set.encode_frames(ae, ren)
            valid[g0 + j] = (m > 0).mean(axis=(1, 2))
            cells[g0 + j] = cell_fraction(m, (h, w))
        log(f"[lab cache] train worlds {g0 + len(seeds)}/{W} ({time.time() - t_start:.0f} s)")
    z_r.flush()
    del z_r
    np.save(path("train_render_valid"), valid)
    np.save(path("train_render_mask"), cells)

    V, Th = int(meta["held"]["worlds"]), int(meta["held"]["ticks"])
    held_seeds = [int(meta["held"]["seed_base"]) + i for i in range(V)]
    fr, ac, po, dp = _explore_depth(held_seeds, Th, size)
    _mismatch("held-out actions", ac, np.load(set_path("held_actions")))
    _mismatch("held-out frames", fr, np.load(set_path("held_frames")))
    zs, vs, cs = [], [], []
    for j in range(V):
        ren, m = cache_renders(fr[j], dp[j] if head is None else head.predict(fr[j]), po[j],
                               intr, policy, fill=fill)
        zs.append(lab_set.encode_frames(ae, ren))
        vs.append((m > 0).mean(axis=(1, 2)))
        cs.append(cell_fraction(m, (h, w)))
    np.save(path("held_render_latents"), np.stack(zs))
    np.save(path("held_render_valid"), np.stack(vs).astype(np.float32))
    np.save(path("held_render_mask"), np.stack(cs).astype(np.float16))
    np.save(path("held_depths"), dp)
    np.save(path("held_poses"), po)
    names = [c["name"] for c in point_cache.world.action_layout()["channels"]]
    tf, td, tp = _turn_depths(held_seeds, ac, K, int(meta["held"]["turn_frames"]),
                              int(meta["held"]["turn_warm"]), size, names.index("turn"))
    _mismatch("turn-clip frames", tf, np.load(set_path("turn_frames")))
    np.save(path("turn_depths"), td)
    np.save(path("turn_poses"), tp)
    cmeta = {
        "version": CACHE_VERSION, "policy": policy, "fill": fill, "set_sha256": meta["sha256"],
        "depth": "oracle" if head is None else {"head": depth_head,
                                                "sha256": lab_set._sha256_file(depth_head)},
        "camera": {k: getattr(intr, k) for k in CAMERA_FIELDS},
        "render": "rendered at camera t before frame t is inserted (frames < t, "
                  + ("true depth" if head is None else "the depth head's depth") + "); "
                  + ("invalid pixels black" if fill == "none" else
                     "invalid pixels from frame t - 1 (black at t = 0)")
                  + "; encoded by the set's encoder",
        "train_valid_mean": round(float(valid.mean()), 4),
        "train_valid_zero_share": round(float((valid == 0).mean()), 4),
        "build_s": round(time.time() - t_start, 1),
        "sha256": {f: lab_set._sha256_file(path(f)) for f in FILES},
    }
    with open(os.path.join(layer_dir, "cache_meta.json"), "w") as f:
        json.dump(cmeta, f, indent=1)
    log(f"[lab cache] done in {cmeta['build_s']} s: mean valid fraction "
        f"{cmeta['train_valid_mean']} -> {layer_dir}")
    return cmeta


# What a cache arm's memory slots hold, slot by slot: "render" is the render's latent; "mask" is
# the render's valid fraction per latent cell, repeated over the latent's channels, so that the
# network can tell a hole (black in the render, encoded to some latent) from a dark surface;
# "filled" is the render's latent with its holes filled by the newest context latent, cell by
# cell in proportion to the cell's invalid fraction (a fully valid cell is the render's, a full
# hole the newest latent's), so that a hole reads as "as before" instead of black.
SLOT_KINDS = ("render", "mask", "filled")


def slot_inputs(kinds, lat, valid, cells, pose_dim: int, keep=None, newest=None,
                min_valid: float = 0.0):
    """Memory inputs of a cache arm for B targets: lat [B, C, h, w] the render latents, valid [B]
    the render's valid pixel fraction, cells [B, h, w] its valid fraction per latent cell (read
    for a "mask" or "filled" slot), newest [B, C, h, w] the newest context latent (read for a
    "filled" slot), keep [B] bool (None = all kept: False drops the cache for that target, every
    slot together), min_valid: the cache is withheld (every slot) from a target whose render's
    valid fraction is below it. Returns memory [B, M, C, h, w], pose features [B, M, P] (relative
    pose zero, age 0) and slot masks [B, M]: 1 where the render has a valid pixel (at least
    min_valid of them) and the target keeps its cache."""
    import torch
    from . import modules
    if not kinds or any(k not in SLOT_KINDS for k in kinds):
        raise ValueError(f"cache slots {list(kinds)}: each one of {', '.join(SLOT_KINDS)}")
    B, C = lat.shape[:2]
    if any(k in ("mask", "filled") for k in kinds) and (
            cells is None or tuple(cells.shape) != (B,) + tuple(lat.shape[2:])):
        raise ValueError(f"a mask or filled slot needs the cell mask [B, h, w] = "
                         f"{[B] + list(lat.shape[2:])}, got "
                         f"{None if cells is None else list(cells.shape)}")
    if "filled" in kinds and (newest is None or tuple(newest.shape) != tuple(lat.shape)):
        raise ValueError(f"a filled slot needs the newest context latent {list(lat.shape)}, got "
                         f"{None if newest is None else list(newest.shape)}")
    parts = []
    for k in kinds:
        if k == "render":
            parts.append(lat)
        elif k == "mask":
            parts.append(cells.to(lat.dtype)[:, None].expand(B, C, *lat.shape[2:]))
        else:
            c = cells.to(lat.dtype)[:, None]
            parts.append(c * lat + (1 - c) * newest.to(lat.dtype))
    M = len(kinds)
    zero = torch.zeros(B, M, 3)
    feats = modules.memory_pose_features(zero, zero, torch.zeros(B, M), pose_dim)
    present = (valid > 0) & (valid >= min_valid)
    if keep is not None:
        present = present & keep
    mask = present.float()[:, None].expand(B, M).contiguous()
    return torch.stack(parts, dim=1), feats, mask


class CacheLayer:
    """A set's cache layer, loaded: render latents and cell masks as float32 tensors, the rest
    numpy. layer_dir: where the layer was built (default: beside the set's files)."""

    def __init__(self, set_dir: str, layer_dir: Optional[str] = None):
        import torch
        layer_dir = layer_dir or set_dir
        p = os.path.join(layer_dir, "cache_meta.json")
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{layer_dir}: no cache layer (no cache_meta.json); build it "
                                    f"with `python3 -m train lab-cache-build --set-dir {set_dir}`")
        with open(p) as f:
            self.meta = json.load(f)
        with open(os.path.join(set_dir, "meta.json")) as f:
            set_meta = json.load(f)
        if self.meta.get("version") != CACHE_VERSION or self.meta["set_sha256"] != set_meta["sha256"]:
            raise ValueError(f"{p}: built for another set or version; rebuild the cache layer")
        load = lambda n: np.load(os.path.join(layer_dir, n + ".npy"))  # noqa: E731
        self.dir = layer_dir
        self.policy = self.meta.get("policy", "newest")
        self.fill = self.meta.get("fill", "none")
        # "oracle", or {"head": path, "sha256": ...} for renders made with predicted depth.
        self.depth = self.meta.get("depth", "oracle")
        self.train_latents = torch.from_numpy(load("train_render_latents").astype(np.float32))
        self.train_valid = torch.from_numpy(load("train_render_valid"))
        self.train_cells = torch.from_numpy(load("train_render_mask").astype(np.float32))
        self.held_latents = torch.from_numpy(load("held_render_latents").astype(np.float32))
        self.held_valid = torch.from_numpy(load("held_render_valid"))
        self.held_cells = torch.from_numpy(load("held_render_mask").astype(np.float32))
        self.held_depths = load("held_depths")
        self.held_poses = load("held_poses")
        self.turn_depths = load("turn_depths")
        self.turn_poses = load("turn_poses")
        self.intrinsics = intrinsics_from(self.meta)
