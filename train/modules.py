"""The networks. These modules are the definition the C++/CUDA engine mirrors: the state_dict
keys are the tensor names in the model file, and every size comes from the manifest.

Layout conventions shared with the engine (native/core/model/):
  * activations NCHW; frames in [-1, 1]; latents stored scaled (z = encoder(x) * latent.scale);
  * GroupNorm eps 1e-5 everywhere;
  * attention: a 1x1 conv makes qkv [N, 3C, T]; q = channels [0, C), k = [C, 2C), v = [2C, 3C);
    head h owns channels [h*d, (h+1)*d) of each, d = C / heads; scores scaled by 1/sqrt(d);
  * adaptive GroupNorm: GN(x, no affine) * (1 + scale) + shift, [scale; shift] = Linear(cond).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

GN_EPS = 1e-5


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class AdaGroupNorm(nn.Module):
    """GroupNorm without affine whose scale/shift come from the conditioning vector."""

    def __init__(self, channels, cond_dim, groups):
        super().__init__()
        self.groups = groups
        self.channels = channels
        self.linear = nn.Linear(cond_dim, 2 * channels)

    def forward(self, x, cond):
        x = F.group_norm(x, self.groups, eps=GN_EPS)
        scale, shift = self.linear(cond)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + scale) + shift


class Attention(nn.Module):
    """Residual multi-head self-attention over the H*W positions: GN -> 1x1 qkv -> MHSA -> 1x1."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        if channels % heads:
            raise ValueError("heads %d do not divide channels %d" % (heads, channels))
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels, eps=GN_EPS)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(n, 3, self.heads, d, h * w)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # [n, heads, d, T]
        scores = torch.einsum("nhdt,nhds->nhts", q, k) / math.sqrt(d)
        attn = scores.softmax(dim=-1)
        y = torch.einsum("nhts,nhds->nhdt", attn, v).reshape(n, c, h, w)
        return x + self.proj(y)


class ResBlock(nn.Module):
    """norm -> SiLU -> conv3x3, twice, plus a (1x1-projected when channels change) skip.
    With cond_dim the norms are adaptive (denoiser); without, plain affine GroupNorm (autoencoder).
    An optional attention layer follows."""

    def __init__(self, cin, cout, groups, cond_dim=None, attention_heads=0):
        super().__init__()
        self.adaptive = cond_dim is not None
        if self.adaptive:
            self.norm1 = AdaGroupNorm(cin, cond_dim, groups)
            self.norm2 = AdaGroupNorm(cout, cond_dim, groups)
        else:
            self.norm1 = nn.GroupNorm(groups, cin, eps=GN_EPS)
            self.norm2 = nn.GroupNorm(groups, cout, eps=GN_EPS)
        self.conv1 = conv3x3(cin, cout)
        self.conv2 = conv3x3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.attn = Attention(cout, attention_heads, groups) if attention_heads else None

    def _norm(self, norm, x, cond):
        return norm(x, cond) if self.adaptive else norm(x)

    def forward(self, x, cond=None):
        r = x if self.skip is None else self.skip(x)
        h = self.conv1(F.silu(self._norm(self.norm1, x, cond)))
        h = self.conv2(F.silu(self._norm(self.norm2, h, cond)))
        x = h + r
        return self.attn(x) if self.attn is not None else x


class Level(nn.Module):
    """One resolution of the autoencoder: `blocks` ResBlocks and an optional resampling conv."""

    def __init__(self, cin, cout, blocks, groups):
        super().__init__()
        self.blocks = nn.ModuleList(
            [ResBlock(cin if j == 0 else cout, cout, groups) for j in range(blocks)])


class Encoder(nn.Module):
    """RGB [N,3,H,W] in [-1,1] -> raw latent [N,C,H/2^(L-1),W/2^(L-1)] (unscaled).
    Level i runs at frame / 2^i with channels[i]; a stride-2 conv3x3 channels[i] -> channels[i+1]
    goes down between levels."""

    def __init__(self, channels, blocks, groups, latent_channels):
        super().__init__()
        self.conv_in = conv3x3(3, channels[0])
        self.levels = nn.ModuleList()
        for i, c in enumerate(channels):
            lvl = Level(c, c, blocks, groups)
            lvl.down = conv3x3(c, channels[i + 1], stride=2) if i + 1 < len(channels) else None
            self.levels.append(lvl)
        self.norm_out = nn.GroupNorm(groups, channels[-1], eps=GN_EPS)
        self.conv_out = conv3x3(channels[-1], latent_channels)

    def forward(self, x):
        x = self.conv_in(x)
        for lvl in self.levels:
            for b in lvl.blocks:
                x = b(x)
            if lvl.down is not None:
                x = lvl.down(x)
        return self.conv_out(F.silu(self.norm_out(x)))


class Decoder(nn.Module):
    """Raw latent -> RGB [N,3,H,W] (unclamped; [-1,1] is the target range). Mirrors the encoder:
    levels run from the lowest resolution up; between levels nearest x2 then a conv3x3
    channels[i] -> channels[i-1]."""

    def __init__(self, channels, blocks, groups, latent_channels):
        super().__init__()
        self.conv_in = conv3x3(latent_channels, channels[-1])
        self.levels = nn.ModuleList()
        for i, c in enumerate(channels):
            lvl = Level(c, c, blocks, groups)
            lvl.up = conv3x3(c, channels[i - 1]) if i > 0 else None
            self.levels.append(lvl)
        self.norm_out = nn.GroupNorm(groups, channels[0], eps=GN_EPS)
        self.conv_out = conv3x3(channels[0], 3)

    def forward(self, z):
        x = self.conv_in(z)
        for lvl in reversed(self.levels):
            for b in lvl.blocks:
                x = b(x)
            if lvl.up is not None:
                x = lvl.up(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(x)))


class Autoencoder(nn.Module):
    def __init__(self, manifest):
        super().__init__()
        ae, lat = manifest["autoencoder"], manifest["latent"]
        self.scale = float(lat["scale"])
        self.encoder = Encoder(ae["channels"], ae["blocks"], ae["groups"], lat["channels"])
        self.decoder = Decoder(ae["channels"], ae["blocks"], ae["groups"], lat["channels"])

    def encode(self, x):
        """Frames in [-1,1] -> scaled latents."""
        return self.encoder(x) * self.scale

    def decode(self, z):
        """Scaled latents -> frames (nominally [-1,1], unclamped)."""
        return self.decoder(z / self.scale)

    def forward(self, x):
        return self.decode(self.encode(x))


class FourierFeatures(nn.Module):
    """t [N] -> [cos(2 pi f t), sin(2 pi f t)] with fixed random frequencies f (a buffer, so they
    are exported with the weights)."""

    def __init__(self, dim):
        super().__init__()
        if dim % 2:
            raise ValueError("Fourier dim must be even")
        self.register_buffer("freqs", torch.randn(dim // 2))

    def forward(self, t):
        f = 2 * math.pi * t[:, None] * self.freqs[None, :]
        return torch.cat([f.cos(), f.sin()], dim=1)


class MemoryPoseEmbedding(nn.Module):
    """Relative pose of each memory slot [N, M, P] -> one embedding [N, F]:
    sum over present slots of fc2(SiLU(fc1(pose))). Absent slots (mask 0) add exactly nothing, so
    a model with memory sees "no memory" as a zero contribution, not as a pose of zeros."""

    def __init__(self, pose_dim, fourier_dim):
        super().__init__()
        self.fc1 = nn.Linear(pose_dim, fourier_dim)
        self.fc2 = nn.Linear(fourier_dim, fourier_dim)

    def forward(self, pose, mask):
        # where, not a product: an absent slot's pose is never read, even when it is NaN. The zeros
        # are tensors of the operand's dtype: a Python 0.0 is traced into ONNX as a double, and
        # onnxruntime refuses a Where of float and double.
        present = mask[:, :, None] > 0
        safe_pose = torch.where(present, pose, pose.new_zeros(()))
        e = self.fc2(F.silu(self.fc1(safe_pose)))
        e = torch.where(present, e, e.new_zeros(()))
        # Slot by slot, first to last: the engine sums in the same order.
        out = e[:, 0]
        for m in range(1, e.shape[1]):
            out = out + e[:, m]
        return out


class Conditioning(nn.Module):
    """cond = fc2(SiLU(fc1(Fourier(c_noise) + action_proj(flat actions) + Fourier(ctx sigma)
    [+ memory_pose(poses, mask)])))."""

    def __init__(self, fourier_dim, cond_dim, context, action_dim, memory_slots=0, pose_dim=0):
        super().__init__()
        self.noise_fourier = FourierFeatures(fourier_dim)
        self.ctx_noise_fourier = FourierFeatures(fourier_dim)
        self.action_proj = nn.Linear(context * action_dim, fourier_dim)
        if memory_slots:
            self.memory_pose = MemoryPoseEmbedding(pose_dim, fourier_dim)
        self.fc1 = nn.Linear(fourier_dim, cond_dim)
        self.fc2 = nn.Linear(cond_dim, cond_dim)

    def forward(self, c_noise, actions, ctx_sigma, memory_pose=None, memory_mask=None):
        e = (self.noise_fourier(c_noise) + self.action_proj(actions.flatten(1)) +
             self.ctx_noise_fourier(ctx_sigma))
        if memory_pose is not None:
            e = e + self.memory_pose(memory_pose, memory_mask)
        return self.fc2(F.silu(self.fc1(e)))


class DownLevel(nn.Module):
    def __init__(self, cin, cout, blocks, groups, cond_dim, heads, downsample):
        super().__init__()
        self.blocks = nn.ModuleList(
            [ResBlock(cin if j == 0 else cout, cout, groups, cond_dim, heads) for j in range(blocks)])
        self.downsample = conv3x3(cout, cout, stride=2) if downsample else None


class UpLevel(nn.Module):
    def __init__(self, cin, cskip, cout, blocks, groups, cond_dim, heads, upsample_from):
        super().__init__()
        # Nearest x2 + conv3x3 from the level below (channels upsample_from -> cin).
        self.upsample = conv3x3(upsample_from, cin) if upsample_from else None
        self.blocks = nn.ModuleList(
            [ResBlock(cin + cskip if j == 0 else cout, cout, groups, cond_dim, heads)
             for j in range(blocks)])


class Denoiser(nn.Module):
    """DIAMOND-style U-Net in latent space: the raw network F of EDM (see edm.py for D).

    forward(x_in, c_noise, context, actions, ctx_sigma):
      x_in     [N, C, h, w]     the noisy latent already multiplied by c_in
      c_noise  [N]              ln(sigma) / 4
      context  [N, K, C, h, w]  the K previous latents, oldest first
      actions  [N, K, A]        the K previous actions, oldest first
      ctx_sigma [N]             noise level the context latents carry (0 = clean)
    and, when the manifest has denoiser.memory.slots = M > 0 (docs/memory-model.md):
      memory      [N, M, C, h, w] latents of M views retrieved from earlier in the episode
      memory_pose [N, M, P]       each view's pose relative to the current one (memory_pose_features)
      memory_mask [N, M]          1 = slot present, 0 = absent (latent and pose are then ignored)
    Memory latents (masked) join the input as M*C extra channels of conv_in after the context;
    the poses go through MemoryPoseEmbedding into the conditioning. memory=None means no slot is
    present. With M = 0 (or no "memory" entry) the network is exactly the memory-less one.
    Down path: level i at latent/2^i with channels[i]; `blocks` ResBlocks (attention after each
    at attention_levels), skip saved, stride-2 conv down. Up path from the lowest level: nearest x2
    + conv3x3 channels[i+1] -> channels[i], concat the level's skip, `blocks` ResBlocks.
    """

    def __init__(self, manifest):
        super().__init__()
        dn, lat = manifest["denoiser"], manifest["latent"]
        ch, nb, g = dn["channels"], dn["blocks"], dn["groups"]
        cd, K = dn["cond_dim"], dn["context"]
        A = len(manifest["actions"]["names"])
        C = lat["channels"]
        self.context = K
        mem = dn.get("memory") or {}
        self.memory_slots = int(mem.get("slots", 0))
        self.memory_pose_dim = int(mem.get("pose_dim", 0)) if self.memory_slots else 0
        self.cond = Conditioning(dn["fourier_dim"], cd, K, A, self.memory_slots,
                                 self.memory_pose_dim)
        self.conv_in = conv3x3(C * (K + 1 + self.memory_slots), ch[0])
        L = len(ch)
        heads = [dn["heads"] if i in dn["attention_levels"] else 0 for i in range(L)]
        self.down = nn.ModuleList([
            DownLevel(ch[i - 1] if i else ch[0], ch[i], nb, g, cd, heads[i], i + 1 < L)
            for i in range(L)])
        self.up = nn.ModuleList([
            UpLevel(ch[i], ch[i], ch[i], nb, g, cd, heads[i], ch[i + 1] if i + 1 < L else 0)
            for i in range(L)])
        self.norm_out = nn.GroupNorm(g, ch[0], eps=GN_EPS)
        self.conv_out = conv3x3(ch[0], C)

    def forward(self, x_in, c_noise, context, actions, ctx_sigma, memory=None, memory_pose=None,
                memory_mask=None):
        if not self.memory_slots:
            cond = self.cond(c_noise, actions, ctx_sigma)
            x = self.conv_in(torch.cat([x_in, context.flatten(1, 2)], dim=1))
        else:
            memory, memory_pose, memory_mask = self.memory_inputs(
                x_in, memory, memory_pose, memory_mask)
            cond = self.cond(c_noise, actions, ctx_sigma, memory_pose, memory_mask)
            masked = torch.where(memory_mask[:, :, None, None, None] > 0, memory,
                                 memory.new_zeros(()))
            x = self.conv_in(torch.cat([x_in, context.flatten(1, 2), masked.flatten(1, 2)], dim=1))
        skips = []
        for lvl in self.down:
            for b in lvl.blocks:
                x = b(x, cond)
            skips.append(x)
            if lvl.downsample is not None:
                x = lvl.downsample(x)
        for i in reversed(range(len(self.up))):
            lvl = self.up[i]
            if lvl.upsample is not None:
                x = lvl.upsample(F.interpolate(x, scale_factor=2.0, mode="nearest"))
            x = torch.cat([x, skips[i]], dim=1)
            for b in lvl.blocks:
                x = b(x, cond)
        return self.conv_out(F.silu(self.norm_out(x)))

    def memory_inputs(self, x_in, memory, memory_pose, memory_mask):
        """The three memory tensors with shapes checked; all-absent zeros when memory is None."""
        n, c, h, w = x_in.shape
        M, P = self.memory_slots, self.memory_pose_dim
        if memory is None:
            z = x_in.new_zeros
            return z(n, M, c, h, w), z(n, M, P), z(n, M)
        if memory_pose is None or memory_mask is None:
            raise ValueError("memory needs memory_pose and memory_mask too")
        for name, t, shape in (("memory", memory, (n, M, c, h, w)),
                               ("memory_pose", memory_pose, (n, M, P)),
                               ("memory_mask", memory_mask, (n, M))):
            if tuple(t.shape) != shape:
                raise ValueError("%s has shape %s, expected %s" % (name, tuple(t.shape), shape))
        return memory, memory_pose, memory_mask.to(x_in.dtype)


AGE_SCALE = 100.0  # frames per unit of the age feature


def memory_pose_features(current, view, age_frames, pose_dim):
    """The relative-pose input of one memory view (docs/memory-model.md; src/model_memory.ts
    computes the same): [dx, dy, sin(dyaw), cos(dyaw), age / 100], truncated or zero-padded to
    pose_dim. current, view: [..., 3] poses (x, y, yaw) in the world's convention (forward is
    (cos yaw, sin yaw)); dx, dy: the view's position minus the current one, in the current view
    frame (dx along forward, dy along (-sin yaw, cos yaw)); dyaw: view yaw minus current yaw;
    age_frames: [...] frames since the view was seen. Returns float32 [..., pose_dim]."""
    cur = torch.as_tensor(current, dtype=torch.float64)
    vw = torch.as_tensor(view, dtype=torch.float64)
    age = torch.as_tensor(age_frames, dtype=torch.float64)
    ddx, ddy = vw[..., 0] - cur[..., 0], vw[..., 1] - cur[..., 1]
    c, s = torch.cos(cur[..., 2]), torch.sin(cur[..., 2])
    dyaw = vw[..., 2] - cur[..., 2]
    feats = [ddx * c + ddy * s, -ddx * s + ddy * c, torch.sin(dyaw), torch.cos(dyaw),
             age / AGE_SCALE]
    out = torch.stack(feats, dim=-1).to(torch.float32)
    if pose_dim <= out.shape[-1]:
        return out[..., :pose_dim].contiguous()
    pad = out.new_zeros(out.shape[:-1] + (pose_dim - out.shape[-1],))
    return torch.cat([out, pad], dim=-1)


@torch.no_grad()
def widen_to_memory(dn: "Denoiser", manifest) -> "Denoiser":
    """A memory-enabled Denoiser for `manifest` (denoiser.memory set) carrying a memory-less
    denoiser's weights. conv_in's memory input channels and the pose embedding's output layer start
    at zero, so memory adds nothing and the result computes exactly what `dn` did; training then
    learns to use the views."""
    if dn.memory_slots:
        raise ValueError("denoiser already has memory slots")
    wide = Denoiser(manifest)
    if not wide.memory_slots:
        raise ValueError("manifest has no denoiser.memory")
    src = dn.state_dict()
    dst = wide.state_dict()
    for k, v in src.items():
        if k not in dst:
            raise ValueError(f"widen_to_memory: {k} has no place in the memory model")
        if k == "conv_in.weight":
            w = torch.zeros_like(dst[k])
            w[:, :v.shape[1]] = v
            dst[k] = w
        elif dst[k].shape != v.shape:
            raise ValueError(f"widen_to_memory: {k} is {tuple(v.shape)}, the memory model needs "
                             f"{tuple(dst[k].shape)}")
        else:
            dst[k] = v
    dst["cond.memory_pose.fc2.weight"].zero_()
    dst["cond.memory_pose.fc2.bias"].zero_()
    wide.load_state_dict(dst)
    return wide


def build(manifest):
    """(autoencoder, denoiser) for a manifest, with PyTorch's default random init."""
    return Autoencoder(manifest), Denoiser(manifest)


def count_params(module):
    return sum(p.numel() for p in module.parameters())
