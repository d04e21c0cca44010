"""A depth head for the point cache (issue 18, must-have 4; docs/lab.md, "Predicted depth"): a
small U-Net that predicts a frame's per-pixel depth from its pixels alone, so that a world can
fill its point cache without the truth world's depth buffer (a world started from a picture has
none). Trained here on the lab set's worlds (re-rendered with depth, deterministic), evaluated on
its held-out worlds, and used by `lab-cache-build --depth-head` and `lab-eval --depth-head` in
place of the oracle depth.

It predicts inverse depth scaled to [0, 1] (0 = sky, no surface; 1 = MIN_DEPTH or nearer): the
near surfaces that matter most for reprojection get the finest steps, and sky is a value instead
of an infinity. Input frames are the truth's or, with probability RECON_SHARE, the same frame
encoded and decoded by the set's autoencoder, because in play the head sees decoded frames.

Files: <out>/depth_head.safetensors (weights; metadata: width, min_depth, sky_inv, what it was
trained on), <out>/depth_eval.json, <out>/depth_sheet.png (frame | truth | predicted, per row),
<out>/ckpt/ (resumable), <out>/data/ (the re-rendered worlds, reused while the set is the same).
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint, export, png

MIN_DEPTH = 0.25      # inverse depth saturates here (the nearest truth surface is at 0.32)
SKY_INV = 1.0 / 40.0  # a predicted scaled inverse depth below SKY_INV * MIN_DEPTH is sky (inf);
                      # the farthest truth surface is at 26 world units
RECON_SHARE = 0.5
FORMAT = "worldloop-depth-head-1"


def to_target(depth: np.ndarray) -> np.ndarray:
    """Depth (inf = sky) -> scaled inverse depth in [0, 1], float32."""
    with np.errstate(divide="ignore"):
        inv = np.where(np.isfinite(depth), MIN_DEPTH / np.maximum(depth, 1e-6), 0.0)
    return np.clip(inv, 0.0, 1.0).astype(np.float32)


def to_depth(inv: np.ndarray) -> np.ndarray:
    """Scaled inverse depth -> depth, inf where it says sky."""
    inv = np.asarray(inv, np.float32)
    with np.errstate(divide="ignore"):
        return np.where(inv > SKY_INV * MIN_DEPTH, MIN_DEPTH / np.maximum(inv, 1e-9),
                        np.inf).astype(np.float32)


def _conv(ci: int, co: int, stride: int = 1) -> nn.Module:
    return nn.Sequential(nn.Conv2d(ci, co, 3, stride, 1), nn.GroupNorm(math.gcd(8, co), co),
                         nn.SiLU())


class DepthNet(nn.Module):
    """Frames [N, 3, H, W] scaled to [-1, 1] -> scaled inverse depth [N, H, W]. The pixel's row
    and column go in as two more channels: on a flat floor at a fixed eye height depth is a
    function of the row, and a wall's depth is read where it meets the floor. Four stride-2
    levels down to H/16 (a receptive field over the whole 128-px frame, so a near wall's full
    height is in view), two convs there, and back up with a skip from each level."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.width = w
        self.inc = _conv(5, w)
        self.down = nn.ModuleList([_conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2),
                                   _conv(4 * w, 6 * w, 2), _conv(6 * w, 8 * w, 2)])
        self.mid = nn.Sequential(_conv(8 * w, 8 * w), _conv(8 * w, 8 * w))
        self.up = nn.ModuleList([_conv(14 * w, 6 * w), _conv(10 * w, 4 * w),
                                 _conv(6 * w, 2 * w), _conv(3 * w, w)])
        self.out = nn.Conv2d(w, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(n, 1, h, w)
        skips = [self.inc(torch.cat([x, ys, xs], 1))]
        for d in self.down:
            skips.append(d(skips[-1]))
        y = self.mid(skips.pop())
        for u in self.up:
            y = u(torch.cat([F.interpolate(y, scale_factor=2, mode="nearest"), skips.pop()], 1))
        return torch.sigmoid(self.out(y))[:, 0]


def _frames_in(frames_u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames_u8)).permute(0, 3, 1, 2).float() / 127.5 - 1


class DepthHead:
    """A trained head, loaded from its file: predict(frames uint8 [N, H, W, 3]) -> depth float32
    [N, H, W] (inf = sky), the form point_cache.insert takes."""

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no depth head there; train one with "
                                    "`python3 -m train lab-depth`")
        try:
            tensors, meta = export.read_safetensors(path)
        except (ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a depth head file ({e})") from e
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: format '{meta.get('format')}', expected '{FORMAT}' (a "
                             "file written by `python3 -m train lab-depth`)")
        self.path, self.meta = path, meta
        self.net = DepthNet(int(meta["width"]))
        want = self.net.state_dict()
        if set(tensors) != set(want):
            raise ValueError(f"{path}: tensors do not match a width-{meta['width']} depth head")
        for k, v in want.items():
            if tuple(tensors[k].shape) != tuple(v.shape):
                raise ValueError(f"{path}: tensor {k} has shape {list(tensors[k].shape)}, "
                                 f"expected {list(v.shape)}")
        self.net.load_state_dict({k: torch.from_numpy(np.asarray(a, np.float32))
                                  for k, a in tensors.items()})
        self.net.eval()

    @torch.no_grad()
    def inverse(self, frames_u8: np.ndarray, batch: int = 32) -> np.ndarray:
        out = [self.net(_frames_in(frames_u8[i:i + batch])).numpy()
               for i in range(0, frames_u8.shape[0], batch)]
        return np.concatenate(out) if out else np.zeros(frames_u8.shape[:3], np.float32)

    def predict(self, frames_u8: np.ndarray) -> np.ndarray:
        lead = frames_u8.shape[:-3]
        flat = frames_u8.reshape(-1, *frames_u8.shape[-3:])
        return to_depth(self.inverse(flat)).reshape(*lead, *frames_u8.shape[-3:-1])


def save_head(path: str, net: DepthNet, info: Dict) -> None:
    meta = {"format": FORMAT, "width": net.width, "min_depth": MIN_DEPTH, "sky_inv": SKY_INV}
    meta.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in info.items()})
    tmp = path + ".tmp"
    export.write_safetensors(tmp, [(k, v, "F32") for k, v in net.state_dict().items()], meta)
    os.replace(tmp, path)


def _worlds(set_dir: str, which: str, count: Optional[int], log, cache_dir: Optional[str] = None):
    """Frames uint8 [N, H, W, 3], their reconstructions, depths [N, H, W], poses [W, T, 3] and
    the set's meta, of the set's training ("train") or held-out ("held") worlds, regenerated with
    depth and checked against the set's stored actions. cache_dir: keep them there (as .npy) and
    reuse them while the set and the world count are the same (a resumed run skips the minutes
    of re-rendering and encoding)."""
    from . import lab_cache, lab_set
    from .engine_ae import EngineAutoencoder
    with open(os.path.join(set_dir, "meta.json")) as f:
        meta = json.load(f)
    part = meta[which]
    n = int(part["worlds"]) if count is None else min(int(count), int(part["worlds"]))
    key = {"set_sha256": meta["sha256"], "which": which, "worlds": n}
    names = ("frames", "recon", "depths", "poses")
    if cache_dir:
        kp = os.path.join(cache_dir, f"{which}_data.json")
        if os.path.isfile(kp):
            with open(kp) as f:
                if json.load(f) == key:
                    arrs = [np.load(os.path.join(cache_dir, f"{which}_{k}.npy")) for k in names]
                    log(f"[lab depth] {which}: {n} worlds from {cache_dir}")
                    return (*arrs, meta)
    seeds = [int(part["seed_base"]) + i for i in range(n)]
    fr, ac, po, dp = lab_cache._explore_depth(seeds, int(part["ticks"]), int(meta["frame_size"]))
    stored = np.load(os.path.join(set_dir, f"{which}_actions.npy"), mmap_mode="r")
    lab_cache._mismatch(f"{which} actions", ac, np.asarray(stored[:n]))
    fr, dp = fr.reshape(-1, *fr.shape[2:]), dp.reshape(-1, *dp.shape[2:])
    ae = EngineAutoencoder(meta["model"], batch=lab_set.ENCODE_BATCH)
    rec = ae.decode(ae.encode(fr))
    log(f"[lab depth] {which}: {n} worlds, {fr.shape[0]} frames with depth and reconstructions")
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        for k, a in zip(names, (fr, rec, dp, po)):
            np.save(os.path.join(cache_dir, f"{which}_{k}.npy"), a)
        with open(os.path.join(cache_dir, f"{which}_data.json"), "w") as f:
            json.dump(key, f)
    return fr, rec, dp, po, meta


def evaluate(head: "DepthHead", frames: np.ndarray, recon: np.ndarray, depths: np.ndarray) -> Dict:
    """Depth error lines on frames and on their reconstructions: abs_rel (mean |d' - d| / d over
    the truth's surfaces, a surface called sky counting as 1), delta_1.1 (share of surface pixels
    within 10 %), sky_agreement (share of pixels where sky-or-not agrees), inv_mae (scaled
    inverse depth, all pixels)."""
    res = {}
    surf = np.isfinite(depths)
    tgt = to_target(depths)
    for name, x in (("truth_frames", frames), ("decoded_frames", recon)):
        inv = head.inverse(x)
        d = to_depth(inv)
        both = np.isfinite(d) & surf
        dd, tt = np.where(both, d, 1.0), np.where(surf, depths, 1.0)
        rel = np.where(both, np.abs(dd - tt) / tt, 1.0)[surf]
        ratio = np.where(both, np.maximum(dd / tt, tt / dd), np.inf)[surf]
        res[name] = {"abs_rel": round(float(rel.mean()), 4),
                     "abs_rel_median": round(float(np.median(rel)), 4),
                     "delta_1.1": round(float((ratio < 1.1).mean()), 4),
                     "sky_agreement": round(float((np.isfinite(d) == surf).mean()), 4),
                     "inv_mae": round(float(np.abs(inv - tgt).mean()), 5)}
    return res


def render_check(frames: np.ndarray, depths: np.ndarray, predicted: np.ndarray, poses: np.ndarray,
                 intr) -> Dict:
    """The cache with predicted vs true depth: per held-out world, a newest-policy cache fed
    frames 0..t-1 renders camera t (lab_cache.cache_renders); PSNR over the valid pixels of
    ticks 1.. against the true frame t, and their valid fraction. frames [V, T, H, W, 3],
    depths / predicted [V, T, H, W], poses [V, T, 3]."""
    from . import lab_cache
    out = {}
    for name, dep in (("oracle_depth", depths), ("predicted_depth", predicted)):
        se, n, valid = 0.0, 0, []
        for v in range(frames.shape[0]):
            ren, masks = lab_cache.cache_renders(frames[v], dep[v], poses[v], intr, "newest")
            ok = masks[1:] > 0   # render 0 saw nothing
            valid.extend(ok.mean(axis=(1, 2)).tolist())
            diff = ren[1:][ok].astype(np.float64) - frames[v, 1:][ok]
            se, n = se + float((diff ** 2).sum()), n + int(diff.size)
        mse = se / max(n, 1)
        out[name] = {"valid_psnr": round(float(10 * np.log10(255.0 ** 2 / max(mse, 1e-9))), 3),
                     "valid_fraction": round(float(np.mean(valid)), 4)}
    return out


def _depth_rgb(inv: np.ndarray) -> np.ndarray:
    g = (np.clip(inv, 0, 1) ** 0.5 * 255).round().astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def run(set_dir: str, out: str, minutes: float = 10.0, worlds: int = 96, width: int = 16,
        batch: int = 16, lr: float = 1e-3, seed: int = 0, log=print) -> str:
    """Trains (resuming from <out>/ckpt) for about `minutes` of wall time in all, evaluates on the
    held-out worlds, writes the head file and its eval; returns the head's path."""
    from . import lab_cache, trainer
    trainer.use_all_cpus()
    torch.manual_seed(seed)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    data_dir = os.path.join(out, "data")
    fr, rec, dp, _, meta = _worlds(set_dir, "train", worlds, log, data_dir)
    tgt = to_target(dp)
    net = DepthNet(width)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    step, spent = 0, 0.0
    ck = checkpoint.find_latest(out, "depth")
    if ck:
        st = checkpoint.load(ck)
        if st.get("width") != width:
            raise ValueError(f"{ck}: a width-{st.get('width')} head; pass --width "
                             f"{st.get('width')} or a new --out")
        net.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, spent = int(st["step"]), float(st["seconds"])
        log(f"[lab depth] resumed at step {step} ({spent:.0f} s trained)")
    gen = torch.Generator().manual_seed(seed + step)
    budget = minutes * 60.0
    N = fr.shape[0]

    def save():
        checkpoint.save(out, "depth", {"step": step, "model": net.state_dict(),
                                       "opt": opt.state_dict(), "width": width,
                                       "seconds": spent})

    t_train = time.time()
    last_save = t_train
    net.train()
    while spent + (time.time() - t_train) < budget:
        idx = torch.randint(0, N, (batch,), generator=gen).numpy()
        use_rec = (torch.rand(batch, generator=gen) < RECON_SHARE).numpy()
        x = np.where(use_rec[:, None, None, None], rec[idx], fr[idx])
        if torch.rand(1, generator=gen).item() < 0.5:  # the world is mirror-symmetric
            x, y = x[:, :, ::-1], tgt[idx][:, :, ::-1]
        else:
            y = tgt[idx]
        frac = min(1.0, (spent + time.time() - t_train) / budget)
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * frac))
        p = net(_frames_in(x))
        loss = (p - torch.from_numpy(np.ascontiguousarray(y))).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            log(f"[lab depth] step {step} loss {loss.item():.4f} "
                f"({spent + time.time() - t_train:.0f}/{budget:.0f} s)")
        if time.time() - last_save > 120:
            spent, t_train = spent + time.time() - t_train, time.time()
            save()
            last_save = time.time()
    spent += time.time() - t_train
    save()
    net.eval()
    path = os.path.join(out, "depth_head.safetensors")
    save_head(path, net, {"set_sha256": meta["sha256"], "train_worlds": worlds, "steps": step,
                          "batch": batch, "seconds": round(spent, 1)})
    del fr, rec, dp, tgt
    head = DepthHead(path)
    hf, hr, hd, poses, _ = _worlds(set_dir, "held", None, log, data_dir)
    res = {"head": path, "steps": step, "train_seconds": round(spent, 1),
           "train_worlds": worlds, "width": width,
           "held_out": evaluate(head, hf, hr, hd)}
    V, T = int(meta["held"]["worlds"]), int(meta["held"]["ticks"])
    hf4, hd4 = hf.reshape(V, T, *hf.shape[1:]), hd.reshape(V, T, *hd.shape[1:])
    pred = head.predict(hf4)
    res["cache_render"] = render_check(hf4, hd4, pred, poses,
                                       lab_cache.intrinsics(int(meta["frame_size"])))
    res["seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "depth_eval.json"), "w") as f:
        json.dump(res, f, indent=1)
    rows = []
    for i in range(0, min(4, V)):
        k = i * T + T // 2
        rows.append(np.concatenate([hf[k], _depth_rgb(to_target(hd[k])),
                                    _depth_rgb(head.inverse(hf[k:k + 1])[0]),
                                    _depth_rgb(head.inverse(hr[k:k + 1])[0])], axis=1))
    png.write_png(os.path.join(out, "depth_sheet.png"), np.concatenate(rows, axis=0))
    log(f"[lab depth] {json.dumps(res)}")
    return path
