"""Memory views for training a memory-enabled denoiser (denoiser.memory, docs/memory-model.md).

For each training target the sampler picks up to M earlier frames of the same stored sequence
whose camera pose overlaps the target's view (the same pose-only overlap the runtime's retrieval
uses, src/memory/view_overlap.ts), at least `min_gap` frames before the clip's first context frame
so memory is not a copy of the context. Each chosen view's latent, its pose relative to the target
(modules.memory_pose_features) and a mask are returned. Slots are dropped at random (and whole
samples lose all memory at random) so the model also works with partial or no memory, as it must
at the start of an episode.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from . import data, modules


def view_overlap(a: torch.Tensor, b: torch.Tensor, fov_deg: float, range_cells: float) -> torch.Tensor:
    """Overlap in [0, 1] of views a [..., 3] and b [..., 3] (x, y, yaw): the fraction of the field
    of view the two directions share times 1 - distance / range (both clamped at 0)."""
    fov = math.radians(fov_deg)
    d = torch.remainder(a[..., 2] - b[..., 2] + math.pi, 2 * math.pi) - math.pi
    angular = (1 - d.abs() / fov).clamp(min=0)
    dist = torch.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])
    return angular * (1 - dist / range_cells).clamp(min=0)


class PosedClipPool(data.ClipPool):
    """ClipPool that also keeps each step's pose [S, T, 3] (x, y, yaw) for memory selection."""

    def __init__(self, capacity_seqs, seq_len, latent_shape, action_dim, device, seed=0):
        super().__init__(capacity_seqs, seq_len, latent_shape, action_dim, device, seed)
        self.p = torch.zeros((capacity_seqs, seq_len, 3), dtype=torch.float32, device=device)

    def add(self, z: torch.Tensor, a: torch.Tensor, p: Optional[torch.Tensor] = None) -> None:
        if p is None:
            raise ValueError("memory training needs poses with every chunk (ground-truth worlds "
                             "or episodes that carry 'poses')")
        n = min(z.shape[0], self.capacity)
        idx = ((torch.arange(n) + self.cursor) % self.capacity).to(self.p.device)
        self.p[idx] = p[-n:].to(self.p.device, torch.float32)
        super().add(z, a)

    def sample_clips(self, batch: int, length: int, min_start: int):
        """(z [B, length, ...], a [B, length, A], s [B], t0 [B]): like sample(), but clips start at
        or after min_start (clamped to what the sequence length allows) so earlier frames exist."""
        if length > self.seq_len:
            raise ValueError(f"clip length {length} exceeds stored sequence length {self.seq_len}")
        lo = min(max(0, min_start), self.seq_len - length)
        s = torch.randint(0, self.size, (batch,), generator=self.gen)
        t0 = torch.randint(lo, self.seq_len - length + 1, (batch,), generator=self.gen)
        t = t0[:, None] + torch.arange(length)[None, :]
        sd, td = s.to(self.z.device), t.to(self.z.device)
        return self.z[sd[:, None], td], self.a[sd[:, None], td], s, t0

    def memory(self, s: torch.Tensor, t0: torch.Tensor, t_target: torch.Tensor, slots: int,
               pose_dim: int, min_gap: int, drop: float, drop_all: float, fov_deg: float,
               range_cells: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(latents [B, M, C, h, w], pose features [B, M, P], mask [B, M]) for targets at step
        t_target [B] of sequences s [B] whose clips start at t0 [B]; candidates are steps
        t <= t0 - min_gap."""
        dev = self.z.device
        s, t0, tt = s.to(dev), t0.to(dev), t_target.to(dev)
        poses = self.p[s]                                   # [B, T, 3]
        target = poses[torch.arange(len(s), device=dev), tt]  # [B, 3]
        steps = torch.arange(self.seq_len, device=dev)[None, :]
        valid = steps <= (t0[:, None] - min_gap)
        score = view_overlap(target[:, None, :], poses, fov_deg, range_cells)
        # A little jitter so equal-overlap candidates are picked at random, not by index.
        jitter = torch.rand(score.shape, generator=self.gen).to(dev) * 1e-3
        score = torch.where(valid & (score > 0), score + jitter, torch.full_like(score, -1.0))
        m = min(slots, self.seq_len)
        top, idx = score.topk(m, dim=1)                     # [B, m], best first
        present = top > 0
        keep = torch.rand(present.shape, generator=self.gen).to(dev) >= drop
        keep_any = torch.rand(len(s), 1, generator=self.gen).to(dev) >= drop_all
        mask = (present & keep & keep_any).float()
        lat = self.z[s[:, None], idx]                       # [B, m, C, h, w]
        view = poses.gather(1, idx[..., None].expand(-1, -1, 3))
        feats = modules.memory_pose_features(target[:, None, :], view, (tt[:, None] - idx).float(),
                                             pose_dim).to(dev)
        if m < slots:  # sequences shorter than the slot count: pad with absent slots
            pad = slots - m
            lat = torch.cat([lat, lat.new_zeros((len(s), pad) + lat.shape[2:])], dim=1)
            feats = torch.cat([feats, feats.new_zeros(len(s), pad, pose_dim)], dim=1)
            mask = torch.cat([mask, mask.new_zeros(len(s), pad)], dim=1)
        return lat, feats, mask
