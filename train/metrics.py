"""Image metrics shared by training losses and eval: PSNR, SSIM, image-gradient magnitude
(sharpness) and the global shift between two frames by phase correlation (action following).
All take float tensors [N, 3, H, W] in [-1, 1] unless noted."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB on the [0, 255] scale after rounding to uint8 levels, so numbers are
    comparable to what is shown on screen. [N]"""
    a8 = ((a.float().clamp(-1, 1) + 1) * 127.5).round()
    b8 = ((b.float().clamp(-1, 1) + 1) * 127.5).round()
    mse = (a8 - b8).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0 ** 2 / mse.clamp_min(1e-10))


def _gauss_window(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, reduce: bool = True) -> torch.Tensor:
    """SSIM (Gaussian 11x11, sigma 1.5; the usual constants) on [0,1]-mapped images, averaged over
    channels and positions; differentiable. [N] (or the map when reduce=False)."""
    x = (a.float() + 1) / 2
    y = (b.float() + 1) / 2
    c = x.shape[1]
    g = _gauss_window(device=x.device)
    wx = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    wy = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, wx, groups=c), wy, groups=c)
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return m.flatten(1).mean(1) if reduce else m


def image_gradients(x: torch.Tensor):
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx, dy


def edge_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """L1 between image gradients (scalar): penalises lost edges that plain L1 tolerates."""
    ax, ay = image_gradients(a)
    bx, by = image_gradients(b)
    return (ax - bx).abs().mean() + (ay - by).abs().mean()


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean image-gradient magnitude per image [N] (blur scores low)."""
    dx, dy = image_gradients(x.float())
    g = torch.sqrt(dx[..., :-1, :] ** 2 + dy[..., :, :-1] ** 2 + 1e-12)
    return g.flatten(1).mean(1)


def phase_shift(a: torch.Tensor, b: torch.Tensor):
    """Global translation (dx, dy) in pixels that best maps frame a onto frame b, by phase
    correlation on the luminance with a Hann window; sub-pixel by a parabola fit around the peak.
    a, b: [N, 3, H, W]. Returns (dx [N], dy [N], peak [N]); +dx = content moved right."""
    def lum(t):
        t = t.float()
        return 0.299 * t[:, 0] + 0.587 * t[:, 1] + 0.114 * t[:, 2]
    la, lb = lum(a), lum(b)
    n, h, w = la.shape
    win = torch.hann_window(h, periodic=False, device=la.device)[:, None] * \
        torch.hann_window(w, periodic=False, device=la.device)[None, :]
    la = (la - la.mean((1, 2), keepdim=True)) * win
    lb = (lb - lb.mean((1, 2), keepdim=True)) * win
    fa, fb = torch.fft.fft2(la), torch.fft.fft2(lb)
    r = fb * fa.conj()
    r = r / r.abs().clamp_min(1e-8)
    corr = torch.fft.ifft2(r).real  # peak at the shift from a to b
    flat = corr.flatten(1)
    peak, idx = flat.max(1)
    py, px = idx // w, idx % w

    def refine(c_m, c_0, c_p):
        den = c_m - 2 * c_0 + c_p
        return torch.where(den.abs() > 1e-12, 0.5 * (c_m - c_p) / den, torch.zeros_like(den))
    ar = torch.arange(n, device=la.device)
    ox = refine(corr[ar, py, (px - 1) % w], corr[ar, py, px], corr[ar, py, (px + 1) % w])
    oy = refine(corr[ar, (py - 1) % h, px], corr[ar, py, px], corr[ar, (py + 1) % h, px])
    dx = px.float() + ox
    dy = py.float() + oy
    dx = torch.where(dx > w / 2, dx - w, dx)
    dy = torch.where(dy > h / 2, dy - h, dy)
    return dx, dy, peak


def mean_brightness(x: torch.Tensor) -> torch.Tensor:
    """Mean of [0,1]-mapped pixels per image [N]."""
    return ((x.float().clamp(-1, 1) + 1) / 2).flatten(1).mean(1)


def psnr_from_mse(mse: float) -> float:
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """Luminance minus its Gaussian blur (11x11, sigma 1.5): the fine detail of each image, [N,1,H,W]."""
    lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).float()[:, None]
    g = _gauss_window(device=x.device)
    pad = (g.numel() - 1) // 2
    blurred = F.conv2d(F.pad(lum, (pad, pad, 0, 0), mode="reflect"), g.view(1, 1, 1, -1))
    blurred = F.conv2d(F.pad(blurred, (0, 0, pad, pad), mode="reflect"), g.view(1, 1, -1, 1))
    return lum - blurred


def detail_correlation(x: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The aligned-detail guard: Pearson correlation of x's fine detail with truth's, per image [N].
    It is scale-free: the sharpness ratio says how much detail there is, this says whether it is
    where truth's is. Noise and invented texture raise sharpness but score near 0 here."""
    a = high_pass(x).flatten(1)
    b = high_pass(truth).flatten(1)
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-8)
