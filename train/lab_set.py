"""The proxy lab's cached data set: ground-truth worlds explored once, encoded once with a fixed
encoder, kept on disk outside git, so that every lab arm trains and is judged on the same latents.

A set directory holds
  meta.json              what was built, from what (encoder file and its sha256), and checksums
  train_latents.npy      float16 [W, T, C, h, w]   W training worlds, T ticks each
  train_actions.npy      float32 [W, T, A]         actions[:, t] leads from frame t to frame t+1
  held_latents.npy       float16 [V, Th, C, h, w]  held-out worlds (seeds far from training's)
  held_frames.npy        uint8   [V, Th, H, W, 3]  their true frames (the eval compares pixels)
  held_actions.npy       float32 [V, Th, A]
  turn_frames.npy        uint8   [V, 2, K+F, H, W, 3]  from a held-out state: K frames of play then
                                                  F frames turning right (0) / left (1)
  turn_latents.npy       float16 [V, 2, K, C, h, w]  the encoded first K frames (the context)
  turn_actions.npy       float32 [V, 2, K-1+F, A]  the actions after each context/rolled frame
Everything is deterministic: the worlds are seeded, the explorer is counter-based and the
encoder is the engine's (train/engine_ae.py), which computes each frame alone; meta.json records
sha256 digests of every array. The engine's kernels differ by ISA in the last bits, so two
machines may build sets that differ there (the frames do not).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Dict, Optional

import numpy as np
import torch

from . import data, export
from .engine_ae import EngineAutoencoder

SET_VERSION = 1
TRAIN_SEED_BASE = 3_000_000
HELD_SEED_BASE = (1 << 41) + 17
# Exploration while building the set: the training policy's rates (configs.DataConfig) with idling
# doubled, so that standing still is as present as turning and random bursts; events (light,
# spawn) off, because the lab decides how frames follow actions, not how events show.
EXPLORE = {"p_light": 0.0, "p_spawn": 0.0, "p_random": 0.06, "random_min": 2, "random_max": 10,
           "p_idle": 0.01, "idle_min": 6, "idle_max": 40}
ENCODE_BATCH = 32
FILES = ("train_latents", "train_actions", "held_latents", "held_frames", "held_actions",
         "turn_frames", "turn_latents", "turn_actions")


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def encode_frames(ae, frames_u8: np.ndarray) -> np.ndarray:
    """uint8 [..., H, W, 3] -> float16 latents [..., C, h, w] (the engine's f32 encoder)."""
    return ae.encode(frames_u8).astype(np.float16)


def _explore(seeds, ticks: int, frame_size: int):
    from . import world
    b = world.WorldBatch(seeds, width=frame_size, height=frame_size, explore=EXPLORE)
    try:
        return b.generate(ticks)
    finally:
        b.close()


def replay(seed: int, frame_size: int, actions: np.ndarray, keep_from: int = 0):
    """A fresh world of `seed` stepped through `actions`: its frames uint8 [n, H, W, 3], depths
    float32 [n, H, W] and poses float32 [n, 3] (x, y, yaw) from frame `keep_from` on (frame 0 is
    the world before the first action, so n = len(actions) + 1 - keep_from). The one replay the
    set's turn clips, the cache layer and the eval's return clips share."""
    from . import world
    w = world.World(int(seed), width=frame_size, height=frame_size)
    try:
        f, d, p = [w.frame().copy()], [w.depth().copy()], [w.pose()]
        for a in actions:
            w.step(a)
            f.append(w.frame().copy())
            d.append(w.depth().copy())
            p.append(w.pose())
    finally:
        w.close()
    return (np.stack(f[keep_from:]), np.stack(d[keep_from:]),
            np.asarray(p[keep_from:], np.float32))


def turn_scripts(held_actions: np.ndarray, K: int, frames: int, warm: int, turn_index: int):
    """For each held-out world, per direction (right, left), the actions of its turn clip: its
    first warm + K-1 explored actions, then `frames` of turning. [V, 2, warm+K-1+frames, A]."""
    V, _, A = held_actions.shape
    out = np.empty((V, 2, warm + K - 1 + frames, A), np.float32)
    for d, val in enumerate((1.0, -1.0)):
        script = np.zeros((frames, A), np.float32)
        script[:, turn_index] = val
        out[:, d] = np.concatenate([held_actions[:, :warm + K - 1],
                                    np.broadcast_to(script, (V, frames, A))], axis=1)
    return out


def _turn_clips(seeds, held_actions: np.ndarray, K: int, frames: int, warm: int,
                frame_size: int, turn_index: int):
    """For each held-out seed: replay its first `warm` explored actions, then K-1 more of its own
    and `frames` of turning right / left; keep the last K+frames frames."""
    acts = turn_scripts(held_actions, K, frames, warm, turn_index)
    out_f = np.empty((len(seeds), 2, K + frames, frame_size, frame_size, 3), np.uint8)
    for i, seed in enumerate(seeds):
        for d in range(2):
            out_f[i, d] = replay(seed, frame_size, acts[i, d], warm)[0]
    return out_f, acts[:, :, warm:]


def build(out: str, model_path: str, train_worlds: int = 384, ticks: int = 64,
          held_worlds: int = 16, held_ticks: int = 48, context: int = 4, turn_frames: int = 12,
          group: int = 32, log=print) -> Dict:
    """Builds the set into `out` (created; existing set files are replaced). Returns meta."""
    if train_worlds < 1 or held_worlds < 1 or ticks < context + 4 or held_ticks < context + 8:
        raise ValueError(f"lab set too small: train_worlds {train_worlds}, held_worlds "
                         f"{held_worlds}, ticks {ticks}, held_ticks {held_ticks} (context {context})")
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"{model_path}: no such model file (the lab encodes with its "
                                "autoencoder)")
    os.makedirs(out, exist_ok=True)
    t_start = time.time()
    manifest = export.load_model(model_path)[0]
    ae = EngineAutoencoder(model_path, batch=ENCODE_BATCH)
    size = int(manifest["frame"]["height"])
    lat = (manifest["latent"]["channels"], manifest["latent"]["height"],
           manifest["latent"]["width"])
    names = data.action_layout()["channels"]
    A = len(names)
    turn_index = [c["name"] for c in names].index("turn")

    z_train = np.lib.format.open_memmap(os.path.join(out, "train_latents.npy"), "w+",
                                        np.float16, (train_worlds, ticks, *lat))
    a_train = np.empty((train_worlds, ticks, A), np.float32)
    for g0 in range(0, train_worlds, group):
        seeds = [TRAIN_SEED_BASE + i for i in range(g0, min(train_worlds, g0 + group))]
        fr, ac, _ = _explore(seeds, ticks, size)
        z_train[g0:g0 + len(seeds)] = encode_frames(ae, fr)
        a_train[g0:g0 + len(seeds)] = ac
        log(f"[lab set] train worlds {g0 + len(seeds)}/{train_worlds} "
            f"({time.time() - t_start:.0f} s)")
    z_train.flush()
    del z_train
    np.save(os.path.join(out, "train_actions.npy"), a_train)

    held_seeds = [HELD_SEED_BASE + i for i in range(held_worlds)]
    fr, ac, _ = _explore(held_seeds, held_ticks, size)
    np.save(os.path.join(out, "held_frames.npy"), fr)
    np.save(os.path.join(out, "held_actions.npy"), ac)
    np.save(os.path.join(out, "held_latents.npy"), encode_frames(ae, fr))
    warm = 16
    tf, ta = _turn_clips(held_seeds, ac, context, turn_frames, warm, size, turn_index)
    np.save(os.path.join(out, "turn_frames.npy"), tf)
    np.save(os.path.join(out, "turn_actions.npy"), ta)
    np.save(os.path.join(out, "turn_latents.npy"), encode_frames(ae, tf[:, :, :context]))
    log(f"[lab set] held-out worlds {held_worlds} and turn clips ({time.time() - t_start:.0f} s)")

    z = np.load(os.path.join(out, "train_latents.npy"), mmap_mode="r")
    step = np.asarray(z[:, 1:], np.float32) - np.asarray(z[:, :-1], np.float32)
    meta = {
        "version": SET_VERSION, "model": os.path.abspath(model_path),
        "model_sha256": _sha256_file(model_path),
        "autoencoder_sha256": autoencoder_sha256(model_path), "frame_size": size, "latent": list(lat),
        "context": context, "actions": [c["name"] for c in names],
        "train": {"worlds": train_worlds, "ticks": ticks, "seed_base": TRAIN_SEED_BASE},
        "held": {"worlds": held_worlds, "ticks": held_ticks, "seed_base": HELD_SEED_BASE,
                 "turn_frames": turn_frames, "turn_warm": warm},
        "explore": EXPLORE,
        # The std of the latents and of their frame-to-frame change: the EDM sigma_data of the
        # two parameterisations (latent and residual).
        "latent_std": round(float(np.asarray(z, np.float32).std()), 5),
        "change_std": round(float(step.std()), 5),
        "still_share": round(float((np.abs(step).reshape(step.shape[0], step.shape[1], -1)
                                    .max(-1) < 1e-3).mean()), 5),
        "build_s": round(time.time() - t_start, 1),
        "sha256": {f: _sha256_file(os.path.join(out, f + ".npy")) for f in FILES},
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"[lab set] done in {meta['build_s']} s: {train_worlds * ticks} training latents, "
        f"change std {meta['change_std']} vs latent std {meta['latent_std']} -> {out}")
    return meta


class LabSet:
    """A built set, loaded (latents as float32 tensors; frames stay uint8 numpy)."""

    def __init__(self, root: str, verify: bool = False):
        p = os.path.join(root, "meta.json")
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{root}: not a lab set (no meta.json); build one with "
                                    "`python3 -m train lab-build --out {root}`")
        with open(p) as f:
            self.meta = json.load(f)
        if self.meta.get("version") != SET_VERSION:
            raise ValueError(f"{p}: lab set version {self.meta.get('version')}, this code reads "
                             f"{SET_VERSION}; rebuild it")
        if self.meta.get("autoencoder_sha256") != autoencoder_sha256(self.meta["model"]):
            raise ValueError(f"{p}: built with the autoencoder of {self.meta['model']}, which is "
                             "missing or has another autoencoder now; rebuild the set "
                             "(python3 -m train lab-build)")
        if verify:
            for name, digest in self.meta["sha256"].items():
                if _sha256_file(os.path.join(root, name + ".npy")) != digest:
                    raise ValueError(f"{root}/{name}.npy: checksum differs from meta.json; "
                                     "rebuild the set")
        load = lambda n: np.load(os.path.join(root, n + ".npy"))  # noqa: E731
        self.root = root
        self.train_latents = torch.from_numpy(load("train_latents").astype(np.float32))
        self.train_actions = torch.from_numpy(load("train_actions"))
        self.held_latents = torch.from_numpy(load("held_latents").astype(np.float32))
        self.held_frames = load("held_frames")
        self.held_actions = torch.from_numpy(load("held_actions"))
        self.turn_frames = load("turn_frames")
        self.turn_latents = torch.from_numpy(load("turn_latents").astype(np.float32))
        self.turn_actions = torch.from_numpy(load("turn_actions"))

    def sample_clips(self, gen: torch.Generator, batch: int, length: int, with_index=False):
        """Random training clips: latents [B, length, C, h, w] and actions [B, length, A] (and
        with_index: the worlds [B] and first ticks [B] they come from)."""
        W, T = self.train_latents.shape[:2]
        w = torch.randint(0, W, (batch,), generator=gen)
        t0 = torch.randint(0, T - length + 1, (batch,), generator=gen)
        idx = t0[:, None] + torch.arange(length)[None]
        clips = (self.train_latents[w[:, None], idx], self.train_actions[w[:, None], idx])
        return clips + (w, t0) if with_index else clips


def autoencoder_sha256(path: str) -> Optional[str]:
    """sha256 over the file's autoencoder tensors (names, shapes, f32 values): what the set's
    latents depend on. A manifest restamp or another denoiser leaves it unchanged."""
    if not os.path.isfile(path):
        return None
    tensors, _ = export.read_safetensors(path)
    h = hashlib.sha256()
    for name in sorted(k for k in tensors if k.startswith("autoencoder.")):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        h.update(name.encode() + repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()
