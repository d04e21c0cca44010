"""Training data: ground-truth worlds streamed on the fly, and episodes on disk.

On the fly: `WorldStream` drives many ground-truth worlds (train/world.py, the C++ batch generator
with its exploration policy) from a background thread; ctypes releases the GIL while the C++
threads render, so generation overlaps the training step. The training loop drains whatever is
ready into a device-resident pool (`FramePool` for the autoencoder, `ClipPool` of latent
sequences for the denoiser) and samples batches from the pool, so a step never waits for data once
the pool is warm; the fraction of fresh samples is logged.

On disk (users' own gameplay): one episode per `.npz` file (see docs/training.md):
    frames        uint8   [T, H, W, 3]   RGB, row-major
    actions       float32 [T, A]         actions[t] is applied after frames[t] and leads to frames[t+1]
    action_names  str     [A]            channel names, e.g. move, strafe, turn, light, spawn
    poses         float32 [T, 3]         optional (x, y, yaw)
    meta          str     []             optional JSON (source, seed, fps, ...)
Files are untrusted: they are opened with allow_pickle=False and every array is validated; errors
name the file and the field.
"""
from __future__ import annotations

import glob
import json
import os
import queue
import threading
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .configs import DataConfig

EPISODE_VERSION = 1


# ----------------------------------------------------------------------------------------------
# Episode files
# ----------------------------------------------------------------------------------------------

class EpisodeError(ValueError):
    pass


def save_episode(path: str, frames: np.ndarray, actions: np.ndarray, action_names: Sequence[str],
                 poses: Optional[np.ndarray] = None, meta: Optional[dict] = None) -> None:
    """Writes one episode file (compressed npz). Validates before writing."""
    arrays = {
        "frames": np.ascontiguousarray(frames, dtype=np.uint8),
        "actions": np.ascontiguousarray(actions, dtype=np.float32),
        "action_names": np.array(list(action_names), dtype=np.str_),
    }
    if poses is not None:
        arrays["poses"] = np.ascontiguousarray(poses, dtype=np.float32)
    m = dict(meta or {})
    m.setdefault("episode_version", EPISODE_VERSION)
    arrays["meta"] = np.array(json.dumps(m), dtype=np.str_)
    _validate_episode(path, arrays)
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _validate_episode(path: str, a: Dict[str, np.ndarray],
                      frame_size: Optional[Tuple[int, int]] = None) -> None:
    def fail(msg):
        raise EpisodeError(f"{path}: {msg}")
    for key in ("frames", "actions", "action_names"):
        if key not in a:
            fail(f"missing array '{key}'")
    fr, ac, names = a["frames"], a["actions"], a["action_names"]
    if fr.dtype != np.uint8 or fr.ndim != 4 or fr.shape[3] != 3:
        fail(f"'frames' must be uint8 [T,H,W,3], got {fr.dtype} {list(fr.shape)}")
    T = fr.shape[0]
    if T < 2:
        fail(f"'frames' has {T} frames; an episode needs at least 2")
    if frame_size is not None and tuple(fr.shape[1:3]) != tuple(frame_size):
        fail(f"'frames' are {fr.shape[1]}x{fr.shape[2]}, the model needs "
             f"{frame_size[0]}x{frame_size[1]}")
    if names.ndim != 1 or names.dtype.kind != "U" or names.shape[0] < 1:
        fail(f"'action_names' must be a 1-D string array, got {names.dtype} {list(names.shape)}")
    if ac.ndim != 2 or ac.shape != (T, names.shape[0]) or ac.dtype.kind != "f":
        fail(f"'actions' must be float [T={T}, A={names.shape[0]}], got {ac.dtype} "
             f"{list(ac.shape)}")
    if not np.isfinite(ac).all():
        bad = np.argwhere(~np.isfinite(ac))[0]
        fail(f"'actions' has a non-finite value at frame {bad[0]}, channel {bad[1]}")
    if len(set(names.tolist())) != names.shape[0]:
        fail("'action_names' has duplicate names")
    if "poses" in a:
        p = a["poses"]
        if p.shape != (T, 3) or p.dtype.kind != "f" or not np.isfinite(p).all():
            fail(f"'poses' must be finite float [T={T}, 3], got {p.dtype} {list(p.shape)}")
    if "meta" in a:
        try:
            json.loads(str(a["meta"]))
        except ValueError as e:
            fail(f"'meta' is not valid JSON: {e}")


class Episode:
    def __init__(self, path: str, frames: np.ndarray, actions: np.ndarray, meta: dict):
        self.path, self.frames, self.actions, self.meta = path, frames, actions, meta

    def __len__(self):
        return self.frames.shape[0]


def load_episode(path: str, action_names: Sequence[str],
                 frame_size: Optional[Tuple[int, int]] = None) -> Episode:
    """Loads and validates one episode, remapping its action channels to `action_names` by name
    (channels the file lacks are zero; channels the model does not know are an error)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except EpisodeError:
        raise
    except Exception as e:
        raise EpisodeError(f"{path}: not a readable .npz episode ({type(e).__name__}: {e})") from e
    _validate_episode(path, arrays, frame_size)
    names = arrays["action_names"].tolist()
    unknown = [n for n in names if n not in action_names]
    if unknown:
        raise EpisodeError(f"{path}: action channel(s) {unknown} are not in the model's action "
                           f"space {list(action_names)}")
    T = arrays["frames"].shape[0]
    acts = np.zeros((T, len(action_names)), np.float32)
    for j, n in enumerate(names):
        acts[:, list(action_names).index(n)] = arrays["actions"][:, j]
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    return Episode(path, arrays["frames"], acts, meta)


def list_episodes(root: str) -> List[str]:
    if os.path.isfile(root):
        return [root]
    if not os.path.isdir(root):
        raise EpisodeError(f"episode directory not found: {root}")
    files = sorted(glob.glob(os.path.join(root, "*.npz")))
    if not files:
        raise EpisodeError(f"{root}: no *.npz episodes")
    return files


class EpisodeSource:
    """Chunks from on-disk episodes with the same interface as WorldStream.get(): frames
    [N, T, H, W, 3] uint8 and actions [N, T, A] float32, T = chunk (shorter episodes are
    skipped, with a message)."""

    def __init__(self, root: str, action_names: Sequence[str], frame_size: Tuple[int, int],
                 chunk: int, worlds: int, seed: int = 0):
        self.episodes = []
        for p in list_episodes(root):
            ep = load_episode(p, action_names, frame_size)
            if len(ep) < chunk:
                print(f"data: skipping {p}: {len(ep)} frames < chunk {chunk}", flush=True)
                continue
            self.episodes.append(ep)
        if not self.episodes:
            raise EpisodeError(f"{root}: no episode has at least {chunk} frames")
        self.chunk, self.worlds = chunk, worlds
        self.rng = np.random.default_rng(seed)
        self.frames_total = sum(len(e) for e in self.episodes)

    def get(self, block: bool = True):
        fr, ac = [], []
        for _ in range(self.worlds):
            ep = self.episodes[self.rng.integers(len(self.episodes))]
            s = int(self.rng.integers(0, len(ep) - self.chunk + 1))
            fr.append(ep.frames[s:s + self.chunk])
            ac.append(ep.actions[s:s + self.chunk])
        return np.stack(fr), np.stack(ac)

    def close(self):
        pass


# ----------------------------------------------------------------------------------------------
# Ground-truth worlds on the fly
# ----------------------------------------------------------------------------------------------

def action_layout() -> dict:
    """The world's published action layout (names, ranges, kinds)."""
    from . import world
    return world.action_layout()


class WorldStream:
    """Background producer of (frames [W, chunk, H, W, 3] uint8, actions [W, chunk, A] float32,
    poses [W, chunk, 3] float32 (x, y, yaw; for memory training)) from `cfg.worlds` ground-truth worlds stepped by the exploration policy. Each world is re-seeded
    with a fresh training seed every `episode_ticks` ticks (staggered so not all at once)."""

    def __init__(self, cfg: DataConfig, seed_offset: int = 0, queue_size: int = 6,
                 rank: int = 0):
        from . import world
        self.cfg = cfg
        # Distinct seed ranges per rank so DDP processes see different worlds.
        self.next_seed = cfg.seed_base + seed_offset + rank * 10_000_000
        seeds = [self._new_seed() for _ in range(cfg.worlds)]
        self.batch = world.WorldBatch(
            seeds, width=cfg.frame_size, height=cfg.frame_size, threads=cfg.threads,
            explore={"p_light": cfg.p_light, "p_spawn": cfg.p_spawn, "p_random": cfg.p_random,
                     "random_min": cfg.random_min, "random_max": cfg.random_max,
                     "p_idle": cfg.p_idle, "idle_min": cfg.idle_min, "idle_max": cfg.idle_max})
        self.age = [(-i * cfg.episode_ticks) // max(1, cfg.worlds) for i in range(cfg.worlds)]
        self.q: "queue.Queue" = queue.Queue(maxsize=queue_size)
        self.stop_flag = threading.Event()
        self.frames_made = 0
        self.gen_seconds = 0.0
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, name="world-stream", daemon=True)
        self.thread.start()

    def _new_seed(self) -> int:
        s = self.next_seed
        self.next_seed += 1
        return s

    def _run(self):
        try:
            while not self.stop_flag.is_set():
                t0 = time.perf_counter()
                frames, actions, poses = self.batch.generate(self.cfg.chunk)
                self.gen_seconds += time.perf_counter() - t0
                self.frames_made += frames.shape[0] * frames.shape[1]
                for i in range(self.cfg.worlds):
                    self.age[i] += self.cfg.chunk
                    if self.age[i] >= self.cfg.episode_ticks:
                        self.batch.reset(i, self._new_seed())
                        self.age[i] = 0
                while not self.stop_flag.is_set():
                    try:
                        self.q.put((frames, actions, poses), timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except BaseException as e:  # surfaced to the training thread by get()
            self.error = e

    def get(self, block: bool = True):
        """Next chunk, or None when none is ready and block is False."""
        while True:
            if self.error is not None:
                raise RuntimeError(f"world generator failed: {self.error}") from self.error
            try:
                return self.q.get(timeout=0.5 if block else 0.0) if block else self.q.get_nowait()
            except queue.Empty:
                if not block:
                    return None
                if not self.thread.is_alive() and self.error is None:
                    raise RuntimeError("world generator thread stopped")

    def frames_per_second(self) -> float:
        return self.frames_made / self.gen_seconds if self.gen_seconds > 0 else 0.0

    def close(self):
        self.stop_flag.set()
        self.thread.join(timeout=10)
        self.batch.close()


def to_float_frames(frames_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float [..., 3, H, W] in [-1, 1]."""
    x = frames_u8.float().div_(127.5).sub_(1.0)
    return x.movedim(-1, -3)


def to_uint8_frames(x: torch.Tensor) -> torch.Tensor:
    """float [..., 3, H, W] in [-1, 1] -> uint8 [..., H, W, 3] (rounded, clamped)."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(-3, -1)


class FramePool:
    """Ring buffer of uint8 frames on the training device; sample() returns [-1,1] NCHW floats."""

    def __init__(self, capacity: int, h: int, w: int, device: torch.device, seed: int = 0):
        self.buf = torch.empty((capacity, h, w, 3), dtype=torch.uint8, device=device)
        self.capacity, self.size, self.cursor, self.fresh = capacity, 0, 0, 0
        self.gen = torch.Generator(device="cpu")
        self.gen.manual_seed(seed)

    def add(self, frames_u8: np.ndarray) -> None:
        f = torch.from_numpy(frames_u8.reshape(-1, *frames_u8.shape[-3:]))
        n = f.shape[0]
        if n > self.capacity:
            f, n = f[-self.capacity:], self.capacity
        f = f.to(self.buf.device, non_blocking=True)
        end = self.cursor + n
        if end <= self.capacity:
            self.buf[self.cursor:end] = f
        else:
            k = self.capacity - self.cursor
            self.buf[self.cursor:] = f[:k]
            self.buf[:n - k] = f[k:]
        self.cursor = end % self.capacity
        self.size = min(self.capacity, self.size + n)
        self.fresh += n

    def sample(self, batch: int) -> torch.Tensor:
        idx = torch.randint(0, self.size, (batch,), generator=self.gen).to(self.buf.device)
        self.fresh = max(0, self.fresh - batch)
        return to_float_frames(self.buf[idx])


class ClipPool:
    """Ring buffer of latent sequences [S, T, C, h, w] with their actions [S, T, A] on the training
    device; sample(batch, length) returns random windows of `length` consecutive steps."""

    def __init__(self, capacity_seqs: int, seq_len: int, latent_shape: Tuple[int, int, int],
                 action_dim: int, device: torch.device, seed: int = 0):
        C, h, w = latent_shape
        self.z = torch.empty((capacity_seqs, seq_len, C, h, w), dtype=torch.float32, device=device)
        self.a = torch.empty((capacity_seqs, seq_len, action_dim), dtype=torch.float32,
                             device=device)
        self.capacity, self.seq_len, self.size, self.cursor = capacity_seqs, seq_len, 0, 0
        self.gen = torch.Generator(device="cpu")
        self.gen.manual_seed(seed)

    def add(self, z: torch.Tensor, a: torch.Tensor) -> None:
        """z [N, T, C, h, w], a [N, T, A] with T == seq_len (one indexed copy, not N)."""
        n = min(z.shape[0], self.capacity)
        z, a = z[-n:], a[-n:]
        idx = (torch.arange(n) + self.cursor) % self.capacity
        idx = idx.to(self.z.device)
        self.z[idx] = z.to(self.z.dtype)
        self.a[idx] = a.to(self.a.dtype)
        self.cursor = (self.cursor + n) % self.capacity
        self.size = min(self.capacity, self.size + n)

    def sample(self, batch: int, length: int) -> Tuple[torch.Tensor, torch.Tensor]:
        if length > self.seq_len:
            raise ValueError(f"clip length {length} exceeds stored sequence length {self.seq_len}")
        s = torch.randint(0, self.size, (batch,), generator=self.gen)
        t0 = torch.randint(0, self.seq_len - length + 1, (batch,), generator=self.gen)
        t = (t0[:, None] + torch.arange(length)[None, :])
        s, t = s.to(self.z.device), t.to(self.z.device)
        return self.z[s[:, None], t], self.a[s[:, None], t]


def iterate_chunks(source, stop: threading.Event) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    while not stop.is_set():
        item = source.get(block=True)
        if item is not None:
            yield item
