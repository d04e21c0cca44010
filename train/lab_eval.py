"""The proxy lab's micro-eval: about half a minute on 2 cores for a lab arm, on the lab set's held-out worlds, for any
model file whose autoencoder is the set's encoder (a lab arm's export or the shipped default).

Lines (all PSNR in dB on uint8 levels; sharpness = mean image-gradient magnitude of model frames
over truth's; detail = the aligned-detail guard, metrics.detail_correlation):
  teacher_forced  K true latents -> the next frame, beside the autoencoder ceiling and copy-last
  h8, h32         self-rolled under the true actions, beside copy-last at the same horizon
  still           K copies of one frame and zero actions (what play feeds when no key is held):
                  PSNR / sharpness / detail after 1, 8, 32 frames and flicker (mean absolute
                  change between consecutive frames, 0..255 levels; truth's is 0)
  turn            sign agreement of the horizontal image shift, model vs truth, turning right and
                  left from a held-out state
"""
from __future__ import annotations

import json
import os
import time
from typing import Dict, Optional

import numpy as np
import torch

from . import data, metrics, png
from .engine_ae import EngineAutoencoder
from .eval import TorchWorldModel
from .lab_set import LabSet

HORIZONS = (8, 32)
STILL_FRAMES = 32
STILL_AT = 20          # the held-out tick whose frame is held still
ROLL_STARTS = (0, 12)  # held-out ticks where rollouts start (context = the K frames from there)
TF_STRIDE = 4


def _f(frames_u8: np.ndarray, device) -> torch.Tensor:
    return data.to_float_frames(torch.from_numpy(np.ascontiguousarray(frames_u8)).to(device))


def _r(x: float, n: int = 3) -> float:
    return round(float(x), n)


class _Acc:
    """Per-image psnr / sharpness (model and truth) / detail sums for one line."""

    def __init__(self):
        self.psnr, self.sharp, self.sharp_truth, self.detail, self.n = 0.0, 0.0, 0.0, 0.0, 0

    def add(self, x: torch.Tensor, truth: torch.Tensor) -> None:
        self.psnr += float(metrics.psnr(x, truth).sum())
        self.sharp += float(metrics.sharpness(x).sum())
        self.sharp_truth += float(metrics.sharpness(truth).sum())
        self.detail += float(metrics.detail_correlation(x, truth).sum())
        self.n += x.shape[0]

    def result(self) -> Dict:
        return {"psnr": _r(self.psnr / self.n), "sharpness_ratio": _r(
            self.sharp / max(self.sharp_truth, 1e-8), 4), "detail": _r(self.detail / self.n, 4)}


@torch.no_grad()
def run(model_path: str, set_root: str, out: Optional[str] = None, steps: Optional[int] = None,
        seed: int = 0, log=print, decoder_model: Optional[str] = None) -> Dict:
    """decoder_model: decode with this file's decoder instead of the set's (a critic-trained
    decoder, train/critic.py); the latents still come from `model_path`'s denoiser."""
    t0 = time.time()
    lab = LabSet(set_root)
    device = torch.device("cpu")
    model = TorchWorldModel(model_path, device)
    lat = model.manifest["latent"]
    if [lat["channels"], lat["height"], lat["width"]] != lab.meta["latent"]:
        raise ValueError(f"{model_path}: latent {model.manifest['latent']} does not match the lab "
                         f"set's {lab.meta['latent']}")
    # Frames are decoded by the engine from the set's own model file (the same autoencoder
    # weights: a lab arm is exported with them), far faster than the PyTorch decoder here.
    engine = EngineAutoencoder(decoder_model or lab.meta["model"], batch=16)
    decode = lambda zz: _f(engine.decode(zz.numpy()), device)  # noqa: E731
    K = model.K
    steps = steps or model.default_steps
    gen = torch.Generator().manual_seed(seed)
    z, fr, ac = lab.held_latents, lab.held_frames, lab.held_actions
    V, T = z.shape[:2]
    res: Dict = {"model": model_path, "set": set_root, "steps": steps, "worlds": V,
                 "residual": model.residual, "decoder": decoder_model or lab.meta["model"]}
    sheet_cols = []

    # Teacher-forced, with the autoencoder ceiling and copy-last beside it.
    tf, ae, copy = _Acc(), _Acc(), _Acc()
    for t in range(K, T, TF_STRIDE):
        noise = torch.randn(z[:, 0].shape, generator=gen)
        pred = decode(model.step(z[:, t - K:t], ac[:, t - K:t], noise, steps))
        truth = _f(fr[:, t], device)
        tf.add(pred, truth)
        ae.add(decode(z[:, t]), truth)
        copy.add(_f(fr[:, t - 1], device), truth)
        if t == K + 2 * TF_STRIDE:
            sheet_cols.append((truth, pred))
    res["teacher_forced"] = tf.result()
    res["autoencoder"] = ae.result()
    res["copy_last_h1"] = copy.result()
    log(f"[lab eval] teacher-forced {res['teacher_forced']} ({time.time() - t0:.0f} s)")

    # Rollouts under the true actions.
    H = max(HORIZONS)
    roll = {h: _Acc() for h in HORIZONS}
    copy_h = {h: _Acc() for h in HORIZONS}
    for s in ROLL_STARTS:
        zr = model.rollout(z[:, s:s + K], ac[:, s:s + K - 1 + H], steps, gen)  # H frames
        for h in HORIZONS:
            truth = _f(fr[:, s + K + h - 1], device)
            x = decode(zr[:, h - 1])
            roll[h].add(x, truth)
            copy_h[h].add(_f(fr[:, s + K - 1], device), truth)
            if s == ROLL_STARTS[0]:
                sheet_cols.append((truth, x))
    for h in HORIZONS:
        res[f"h{h}"] = roll[h].result()
        res[f"h{h}"]["copy_last_psnr"] = copy_h[h].result()["psnr"]
        res[f"h{h}"]["over_copy_db"] = _r(res[f"h{h}"]["psnr"] - res[f"h{h}"]["copy_last_psnr"])
    log(f"[lab eval] rollouts h8 {res['h8']} h32 {res['h32']} ({time.time() - t0:.0f} s)")

    # Standing still.
    ctx = z[:, STILL_AT][:, None].repeat(1, K, 1, 1, 1)
    zs = model.rollout(ctx, torch.zeros(V, K - 1 + STILL_FRAMES, ac.shape[-1]), steps, gen)
    frames = decode(zs.flatten(0, 1)).reshape(V, STILL_FRAMES, 3, *fr.shape[2:4])
    truth = _f(fr[:, STILL_AT], device)
    still: Dict = {"autoencoder_psnr": _r(metrics.psnr(decode(z[:, STILL_AT]), truth).mean())}
    for h in (1, 8, STILL_FRAMES):
        a = _Acc()
        a.add(frames[:, h - 1], truth)
        still[str(h)] = a.result()
    lv = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round()  # noqa: E731
    still["flicker"] = _r((lv(frames[:, 1:]) - lv(frames[:, :-1])).abs().mean())
    res["still"] = still
    sheet_cols.append((truth, frames[:, -1]))
    log(f"[lab eval] still {still} ({time.time() - t0:.0f} s)")

    # Turn agreement.
    F_ = lab.turn_frames.shape[2] - K
    agree, total = 0, 0
    for d in range(2):
        zr = model.rollout(lab.turn_latents[:, d], lab.turn_actions[:, d], steps, gen)
        mf = torch.cat([decode(lab.turn_latents[:, d, -1])[:, None],
                        decode(zr.flatten(0, 1)).reshape(V, F_, 3, *fr.shape[2:4])], 1)
        tf_ = _f(lab.turn_frames[:, d, K - 1:], device)
        st = metrics.phase_shift(tf_[:, :-1].flatten(0, 1), tf_[:, 1:].flatten(0, 1))[0]
        sm = metrics.phase_shift(mf[:, :-1].flatten(0, 1), mf[:, 1:].flatten(0, 1))[0]
        valid = st.abs() > 0.5
        agree += int(((torch.sign(st) == torch.sign(sm)) & valid).sum())
        total += int(valid.sum())
        if d == 0:
            sheet_cols.append((tf_[:, -1], mf[:, -1]))
    res["turn"] = {"pairs": total, "agreement": _r(agree / total, 4) if total else None}
    res["seconds"] = round(time.time() - t0, 1)
    log(f"[lab eval] turn {res['turn']}; {res['seconds']} s")

    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "lab_eval.json"), "w") as f:
            json.dump(res, f, indent=1)
        png.write_png(os.path.join(out, "lab_sheet.png"), sheet(sheet_cols))
    return res


def sheet(cols, rows: int = 4) -> np.ndarray:
    """Per world a truth row over a model row; columns: teacher-forced, h8, h32, still after 32,
    turning right after 12. 2-pixel gaps, 4 between worlds."""
    n = min(rows, cols[0][0].shape[0])
    H, W = cols[0][0].shape[-2:]
    gap = 2
    img = np.full((n * (2 * H + gap + 4) - 4, len(cols) * (W + gap) - gap, 3), 32, np.uint8)
    u8 = lambda x: data.to_uint8_frames(x[None].cpu()).numpy()[0]  # noqa: E731
    for i in range(n):
        y0 = i * (2 * H + gap + 4)
        for j, (truth, model) in enumerate(cols):
            x0 = j * (W + gap)
            img[y0:y0 + H, x0:x0 + W] = u8(truth[i])
            img[y0 + H + gap:y0 + 2 * H + gap, x0:x0 + W] = u8(model[i])
    return img
