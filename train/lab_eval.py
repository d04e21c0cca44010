"""The proxy lab's micro-eval: about half a minute on 2 cores for a lab arm, on the lab set's held-out worlds, for any
model file whose autoencoder is the set's encoder (a lab arm's export or the shipped default).

Lines (all PSNR in dB on uint8 levels; sharpness = mean image-gradient magnitude of model frames
over truth's; detail = the aligned-detail guard, metrics.detail_correlation):
  teacher_forced  K true latents -> the next frame, beside the autoencoder ceiling and copy-last
  h8, h32         self-rolled under the true actions, beside copy-last at the same horizon
  still           K copies of one frame and zero actions (what play feeds when no key is held):
                  PSNR / sharpness / detail after 1, 8, 32 frames and flicker (mean absolute
                  change between consecutive frames, 0..255 levels; truth's is 0); self: PSNR of
                  the model's frame 8 and 32 against its own first frame (MSE pooled)
  turn            sign agreement of the horizontal image shift, model vs truth, turning right and
                  left from a held-out state
  return          persistence: from the turn clips' start, RETURN_TURN frames turning right then
                  as many turning left, back to the start view (the truth's return frame is its
                  last context frame, exactly): the model's return frame against truth's, beside
                  autoencoder_psnr (that frame encoded and decoded: perfect memory) and
                  copy_far_psnr (the frame at the far end of the turn: no memory at all)

A model with memory slots is run as the cache-conditioned arm (issue 18; train/lab_cache.py): slot
0 holds the point cache's render of the target camera, encoded by the set's encoder, relative pose
zero, age 0, present when the render has any valid pixel. Teacher-forced: the set's cache layer
(renders of true frames). Rollouts, standing still and turns: a cache per world built during the
rollout from the true context frames and then the model's OWN decoded frames, each inserted with
the truth's depth and camera at that tick (oracle depth; with depth_head, the depth a lab depth
head predicts from the frame, train/lab_depth.py), rendered at the target camera before each step. A model trained with a mask slot (manifest training.cache_slots ["render", "mask"],
lab_train.CACHE_ARMS) gets slot 1 = the render's valid fraction per latent cell. Models without
slots run exactly the old path (same seeds, same lines).
"""
from __future__ import annotations

import json
import os
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from . import data, metrics, png
from .engine_ae import EngineAutoencoder
from . import eval as eval_mod
from .eval import TorchWorldModel
from . import lab_set
from .lab_set import LabSet
from .lab_cache import CacheLayer, cell_fraction, slot_inputs
from . import lab_cache, point_cache

HORIZONS = (8, 32)
STILL_FRAMES = 32
STILL_AT = 20          # the held-out tick whose frame is held still
ROLL_STARTS = (0, 12)  # held-out ticks where rollouts start (context = the K frames from there)
TF_STRIDE = 4
RETURN_TURN = 12       # frames turning right, then as many turning left (the return line)


def _f(frames_u8: np.ndarray, device) -> torch.Tensor:
    return data.to_float_frames(torch.from_numpy(np.ascontiguousarray(frames_u8)).to(device))


def _r(x: float, n: int = 3) -> float:
    return round(float(x), n)


def return_clips(meta: Dict, held_actions: np.ndarray, K: int, turn: int = RETURN_TURN):
    """Per held-out world, as the turn clips start (lab_set._turn_clips: replay `turn_warm`
    explored actions and K-1 more), then `turn` frames turning right and `turn` turning left.
    Returns frames uint8 [V, K+2*turn, H, W, 3], depths [V, K+2*turn, H, W], poses [V, K+2*turn,
    3] and actions [V, K-1+2*turn, A] (actions[:, j] follows frame j)."""
    size, warm = int(meta["frame_size"]), int(meta["held"]["turn_warm"])
    A = held_actions.shape[-1]
    ti = list(meta["actions"]).index("turn")
    script = np.zeros((2 * turn, A), np.float32)
    script[:turn, ti], script[turn:, ti] = 1.0, -1.0
    fs, ds, ps, acs = [], [], [], []
    for i in range(held_actions.shape[0]):
        acts = np.concatenate([held_actions[i, :warm + K - 1], script])
        f, d, p = lab_set.replay(int(meta["held"]["seed_base"]) + i, size, acts, warm)
        fs.append(f)
        ds.append(d)
        ps.append(p)
        acs.append(acts[warm:])
    return np.stack(fs), np.stack(ds), np.stack(ps), np.stack(acs)


class CacheSlot:
    """Feeds a memory model's slots with the point cache's render (module docstring): slot 0 the
    render's latent, and for a model trained with a mask slot, slot 1 its latent-cell valid mask;
    any further slot stays absent."""

    def __init__(self, model, layer: CacheLayer, encoder, decoder, policy: str,
                 feed: str = "model", min_valid: float = 0.0,
                 fill_cracks: bool = False, depth_head=None):
        dn = model.manifest["denoiser"]["memory"]
        self.model, self.layer, self.encoder, self.decoder = model, layer, encoder, decoder
        self.M, self.P, self.policy = int(dn["slots"]), int(dn["pose_dim"]), policy
        self.kinds = tuple(model.manifest.get("training", {}).get("cache_slots", ["render"]))
        # A diagnostic: renders less valid than this are withheld (every slot); above 1, all are.
        self.min_valid = min_valid
        # A diagnostic: the rollouts' renders get their cracks closed (lab_cache.fill_cracks).
        self.fill_cracks = fill_cracks
        if len(self.kinds) > self.M:
            raise ValueError(f"{model.manifest.get('name')}: cache slots {list(self.kinds)} but "
                             f"the denoiser has {self.M} memory slot(s)")
        if feed not in ("model", "truth"):
            raise ValueError(f"cache feed '{feed}': model or truth")
        lab_cache.require_filled_layer(model.predicts, layer, str(model.manifest.get("name")))
        self.feed = feed
        # A lab_depth.DepthHead: every frame goes into the cache with its predicted depth instead
        # of the truth's (issue 18's inference path: no depth buffer from the world).
        self.depth_head = depth_head
        self.valid_sum, self.valid_n = 0.0, 0
        # What the last rollout's renders were (the turn line's per-frame diagnostic): valid
        # pixel fraction per world and step [V, T] and the renders uint8 [V, T, H, W, 3].
        self.last_valid: Optional[np.ndarray] = None
        self.last_renders: Optional[np.ndarray] = None

    def memory(self, lat: torch.Tensor, valid: torch.Tensor, cells: Optional[torch.Tensor] = None,
               newest: Optional[torch.Tensor] = None):
        """lat [n, C, h, w] render latents, valid [n] valid pixel fractions, cells [n, h, w] valid
        fraction per latent cell (needed by a mask or filled slot), newest [n, C, h, w] the newest
        context latent (needed by a filled slot) -> (memory, pose features, mask)."""
        n = lat.shape[0]
        m, f, k = slot_inputs(self.kinds, lat, valid, cells, self.P, newest=newest,
                              min_valid=self.min_valid)
        mem = lat.new_zeros((n, self.M) + tuple(lat.shape[1:]))
        feats, mask = torch.zeros(n, self.M, self.P), torch.zeros(n, self.M)
        S = len(self.kinds)
        mem[:, :S], feats[:, :S], mask[:, :S] = m, f, k
        return mem, feats, mask

    def rollout(self, ctx, ctx_frames, ctx_depths, ctx_poses, actions, depths, poses, steps, gen,
                frames=None):
        """Like TorchWorldModel.rollout (same noise draws), with the cache: ctx latents [V,K,...],
        the context's true frames uint8 [V,K,H,W,3], depths [V,K,H,W], poses [V,K,3]; actions
        [V,K-1+T,A]; the targets' true depths [V,T,H,W] and poses [V,T,3]; frames: the targets'
        true frames [V,T,H,W,3], inserted instead of the model's with feed "truth" (a diagnostic:
        the cache the arm was trained with)."""
        intr, K = self.layer.intrinsics, self.model.K
        V, T = ctx.shape[0], actions.shape[1] - (K - 1)
        caches = [point_cache.PointCache(self.policy) for _ in range(V)]
        if self.depth_head is not None:
            ctx_depths = self.depth_head.predict(np.ascontiguousarray(ctx_frames))
        try:
            for i, c in enumerate(caches):
                for j in range(K):
                    c.insert(point_cache.pose_camera(intr, *ctx_poses[i, j]), ctx_frames[i, j],
                             ctx_depths[i, j])
            outs = []
            self.last_valid = np.zeros((V, T), np.float32)
            self.last_renders = None
            # A layer built with fill "newest": holes take the newest frame the model was given.
            newest = np.ascontiguousarray(ctx_frames[:, -1])
            for t in range(T):
                noise = torch.randn(ctx[:, 0].shape, generator=gen)
                cams = [point_cache.pose_camera(intr, *poses[i, t]) for i in range(V)]
                ren = [c.render(cam) for c, cam in zip(caches, cams)]
                if self.fill_cracks:
                    ren = [(rgb_m[0], None, rgb_m[1]) for rgb_m in
                           (lab_cache.fill_cracks(r[0], r[2]) for r in ren)]
                if self.layer.fill == "newest":
                    ren = [(lab_cache.fill_holes(r[0], r[2], newest[i]), None, r[2])
                           for i, r in enumerate(ren)]
                lat = torch.from_numpy(self.encoder.encode(np.stack([r[0] for r in ren])))
                valid = torch.tensor([float((r[2] > 0).mean()) for r in ren])
                cells = torch.from_numpy(cell_fraction(np.stack([r[2] for r in ren]),
                                                       lat.shape[-2:]))
                self.valid_sum, self.valid_n = self.valid_sum + float(valid.sum()), self.valid_n + V
                self.last_valid[:, t] = valid.numpy()
                if self.last_renders is None:
                    self.last_renders = np.empty((V, T) + ren[0][0].shape, np.uint8)
                self.last_renders[:, t] = np.stack([r[0] for r in ren])
                z = self.model.step(ctx, actions[:, t:t + K], noise, steps,
                                    self.memory(lat, valid, cells, ctx[:, -1]))
                outs.append(z)
                shown = (self.decoder.decode(z.numpy()) if self.feed == "model"
                         else np.ascontiguousarray(frames[:, t]))
                dep = (depths[:, t] if self.depth_head is None
                       else self.depth_head.predict(np.ascontiguousarray(shown)))
                for i, c in enumerate(caches):
                    c.insert(cams[i], shown[i], dep[i])
                newest = shown
                ctx = torch.cat([ctx[:, 1:], z[:, None]], dim=1)
            return torch.stack(outs, dim=1)
        finally:
            for c in caches:
                c.close()


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
        seed: int = 0, log=print, decoder_model: Optional[str] = None,
        cache_policy: str = "newest", cache_feed: str = "model",
        cache_dir: Optional[str] = None, cache_min_valid: float = 0.0,
        cache_fill_cracks: bool = False, depth_head: Optional[str] = None,
        sigmas: Optional[List[float]] = None) -> Dict:
    """decoder_model: decode with this file's decoder instead of the set's (a critic-trained
    decoder, train/critic.py); the latents still come from `model_path`'s denoiser.
    cache_policy: the point cache's policy for a model with memory slots (newest / closest / first);
    cache_feed: what its rollouts insert, the model's decoded frames ("model") or, as a diagnostic,
    the truth's ("truth"); cache_dir: the cache layer for teacher forcing and the depths and
    poses (default: beside the set's files); cache_min_valid: a diagnostic, withhold the
    rollouts' renders whose valid fraction is below it (above 1: every render);
    cache_fill_cracks: close the cracks of the rollouts' renders (lab_cache.fill_cracks; a
    diagnostic: no arm is trained on such renders, and teacher forcing reads the layer as built);
    depth_head: a lab depth head's file (train/lab_depth.py): the rollouts insert every frame
    with its predicted depth instead of the truth's (teacher forcing reads the layer as built:
    build it with the same head, lab-cache-build --depth-head).
    sigmas: an explicit sampler schedule (a sampler experiment the engine does not run; its
    length is the step count), e.g. [sigma_max, 0.5] for a second step that still has noise
    to remove, where the manifest's 2-step schedule ends at sigma_min (0.002)."""
    t0 = time.time()
    lab = LabSet(set_root)
    device = torch.device("cpu")
    model = TorchWorldModel(model_path, device)
    if sigmas is not None:
        eval_mod.check_sigmas(sigmas)
        model.sigmas = list(sigmas)
        steps = len(sigmas)
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
                 "predicts": model.predicts, "decoder": decoder_model or lab.meta["model"]}
    if sigmas is not None:
        res["sigmas"] = list(sigmas)
    sheet_cols = []
    slot = None
    encoder_engine = engine if decoder_model is None else EngineAutoencoder(lab.meta["model"], 16)
    if model.memory_slots:
        encoder = encoder_engine
        layer = CacheLayer(set_root, cache_dir)
        head = None
        if depth_head is not None:
            from .lab_depth import DepthHead
            head = DepthHead(depth_head)
        slot = CacheSlot(model, layer, encoder, engine, cache_policy, cache_feed,
                         cache_min_valid, cache_fill_cracks, head)
        res["cache"] = {"policy": cache_policy,
                        "depth": ("oracle (the truth's at each tick)" if head is None
                                  else f"predicted ({depth_head})"),
                        "layer_depth": layer.depth,
                        "feed": cache_feed, "slots": list(slot.kinds), "layer": layer.dir,
                        "layer_policy": layer.policy, "layer_fill": layer.fill, "min_valid": slot.min_valid,
                        "fill_cracks": slot.fill_cracks}

    def rolled(ctx, acts, ticks_ctx=None, ticks=None, turn=None):
        """model.rollout, or with the cache: ticks_ctx / ticks index the held-out worlds' frames,
        depths and poses of the context / the targets; turn = d: the turn clips instead."""
        if slot is None:
            return model.rollout(ctx, acts, steps, gen)
        if turn is not None:
            f, d, p = lab.turn_frames[:, turn], layer.turn_depths[:, turn], layer.turn_poses[:, turn]
            return slot.rollout(ctx, f[:, :K], d[:, :K], p[:, :K], acts, d[:, K:], p[:, K:],
                                steps, gen, f[:, K:])
        return slot.rollout(ctx, fr[:, ticks_ctx], layer.held_depths[:, ticks_ctx],
                            layer.held_poses[:, ticks_ctx], acts, layer.held_depths[:, ticks],
                            layer.held_poses[:, ticks], steps, gen, fr[:, ticks])

    # Teacher-forced, with the autoencoder ceiling and copy-last beside it.
    tf, ae, copy = _Acc(), _Acc(), _Acc()
    for t in range(K, T, TF_STRIDE):
        noise = torch.randn(z[:, 0].shape, generator=gen)
        mem = () if slot is None else slot.memory(layer.held_latents[:, t], layer.held_valid[:, t],
                                                  layer.held_cells[:, t], z[:, t - 1])
        pred = decode(model.step(z[:, t - K:t], ac[:, t - K:t], noise, steps, mem))
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
        zr = rolled(z[:, s:s + K], ac[:, s:s + K - 1 + H],  # H frames
                  list(range(s, s + K)), list(range(s + K, s + K + H)))
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
    zs = rolled(ctx, torch.zeros(V, K - 1 + STILL_FRAMES, ac.shape[-1]), [STILL_AT] * K,
              [STILL_AT] * STILL_FRAMES)
    frames = decode(zs.flatten(0, 1)).reshape(V, STILL_FRAMES, 3, *fr.shape[2:4])
    truth = _f(fr[:, STILL_AT], device)
    still: Dict = {"autoencoder_psnr": _r(metrics.psnr(decode(z[:, STILL_AT]), truth).mean())}
    for h in (1, 8, STILL_FRAMES):
        a = _Acc()
        a.add(frames[:, h - 1], truth)
        still[str(h)] = a.result()
    lv = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round()  # noqa: E731
    still["flicker"] = _r((lv(frames[:, 1:]) - lv(frames[:, :-1])).abs().mean())
    # Self-consistency (issue 18's "a world that does not change must not change"): the model's
    # frame h against its own first frame, not against the truth, so the autoencoder's ceiling
    # does not bound it. MSE pooled over the worlds (a world that holds exactly has MSE 0).
    still["self"] = {}
    for h in (8, STILL_FRAMES):
        mse = float((lv(frames[:, h - 1]) - lv(frames[:, 0])).pow(2).mean())
        still["self"][str(h)] = _r(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))
    res["still"] = still
    sheet_cols.append((truth, frames[:, -1]))
    log(f"[lab eval] still {still} ({time.time() - t0:.0f} s)")

    # Turn agreement.
    F_ = lab.turn_frames.shape[2] - K
    agree, total = 0, 0
    per_frame, strip = {}, None
    for d in range(2):
        zr = rolled(lab.turn_latents[:, d], lab.turn_actions[:, d], turn=d)
        mf = torch.cat([decode(lab.turn_latents[:, d, -1])[:, None],
                        decode(zr.flatten(0, 1)).reshape(V, F_, 3, *fr.shape[2:4])], 1)
        tf_ = _f(lab.turn_frames[:, d, K - 1:], device)
        st = metrics.phase_shift(tf_[:, :-1].flatten(0, 1), tf_[:, 1:].flatten(0, 1))[0]
        sm = metrics.phase_shift(mf[:, :-1].flatten(0, 1), mf[:, 1:].flatten(0, 1))[0]
        valid = st.abs() > 0.5
        agree += int(((torch.sign(st) == torch.sign(sm)) & valid).sum())
        total += int(valid.sum())
        renders = None if slot is None else _f(slot.last_renders, device)
        per_frame["right" if d == 0 else "left"] = turn_per_frame(
            st.reshape(V, F_), sm.reshape(V, F_), mf, tf_, renders,
            None if slot is None else slot.last_valid)
        if d == 0:
            sheet_cols.append((tf_[:, -1], mf[:, -1]))
            strip = turn_strip(tf_[0], mf[0], None if renders is None else renders[0])
    res["turn"] = {"pairs": total, "agreement": _r(agree / total, 4) if total else None,
                   "per_frame": per_frame}

    # Return: away and back to the start view (after every older line: their draws are unchanged).
    rf, rd, rp, ra = return_clips(lab.meta, ac.numpy(), K)
    rz = torch.from_numpy(encoder_engine.encode(rf[:, :K]))
    if slot is None:
        zr = model.rollout(rz, torch.from_numpy(ra), steps, gen)
    else:
        zr = slot.rollout(rz, rf[:, :K], rd[:, :K], rp[:, :K], torch.from_numpy(ra), rd[:, K:],
                          rp[:, K:], steps, gen, rf[:, K:])
    truth = _f(rf[:, -1], device)
    ret, ret_far = _Acc(), _Acc()
    ret.add(decode(zr[:, -1]), truth)
    ret_far.add(_f(rf[:, K - 1 + RETURN_TURN], device), truth)
    res["return"] = ret.result()
    res["return"]["autoencoder_psnr"] = _r(metrics.psnr(decode(rz[:, -1]), truth).mean())
    res["return"]["copy_far_psnr"] = ret_far.result()["psnr"]
    res["return"]["frames"] = 2 * RETURN_TURN
    log(f"[lab eval] return {res['return']}")
    if slot is not None:
        res["cache"]["rollout_valid_mean"] = _r(slot.valid_sum / max(slot.valid_n, 1), 4)
        res["cache"]["teacher_forced_valid_mean"] = _r(layer.held_valid[:, K::TF_STRIDE].mean(), 4)
    res["seconds"] = round(time.time() - t0, 1)
    log(f"[lab eval] turn {res['turn']}; {res['seconds']} s")

    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "lab_eval.json"), "w") as f:
            json.dump(res, f, indent=1)
        png.write_png(os.path.join(out, "lab_sheet.png"), sheet(sheet_cols))
        png.write_png(os.path.join(out, "turn_strip.png"), strip)
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


def turn_per_frame(st: torch.Tensor, sm: torch.Tensor, mf: torch.Tensor, tf_: torch.Tensor,
                   renders: Optional[torch.Tensor], render_valid: Optional[np.ndarray]) -> Dict:
    """The turn line frame by frame (a diagnostic: where a turn's agreement is lost). st, sm
    [V, F]: the truth's and the model's horizontal shift from frame f to f+1 (f = 0 is the last
    context frame); mf, tf_ [V, F+1, 3, H, W] the model's and the truth's frames; renders
    [V, F, 3, H, W] the cache's render before each step and render_valid [V, F] its valid
    fraction (None without a cache). Per frame index f, over the pairs the agreement counts
    (|truth shift| > 0.5 px): pairs, agreement, truth_shift (mean |st|), model_shift (mean of sm
    in the truth's direction: the truth's value when the model turns as far), stalled (share with
    |sm| <= 0.5: the model hardly moved), reversed (share moving the other way by more than
    0.5), psnr of model frame f+1 against truth's; with a cache, render_valid (mean over all
    worlds) and render_shift (the shift from the model's frame f to the render of f+1, in the
    truth's direction: what copying the render would give)."""
    V, F = st.shape
    ok = st.abs() > 0.5
    along = sm * torch.sign(st)
    out: Dict = {k: [] for k in ("pairs", "agreement", "truth_shift", "model_shift", "stalled",
                                 "reversed", "psnr")}
    rs = None
    if renders is not None:
        out["render_valid"], out["render_shift"] = [], []
        rs = metrics.phase_shift(mf[:, :-1].flatten(0, 1), renders.flatten(0, 1))[0] \
            .reshape(V, F) * torch.sign(st)
    for f in range(F):
        m = ok[:, f]
        n = int(m.sum())
        mean = lambda x: _r(x[m].mean(), 3) if n else None  # noqa: E731
        out["pairs"].append(n)
        out["agreement"].append(_r((along[:, f][m] > 0).float().mean(), 3) if n else None)
        out["truth_shift"].append(mean(st[:, f].abs()))
        out["model_shift"].append(mean(along[:, f]))
        out["stalled"].append(mean((sm[:, f].abs() <= 0.5).float()))
        out["reversed"].append(mean(((along[:, f] < 0) & (sm[:, f].abs() > 0.5)).float()))
        out["psnr"].append(_r(metrics.psnr(mf[:, f + 1], tf_[:, f + 1]).mean(), 2))
        if rs is not None:
            out["render_valid"].append(_r(render_valid[:, f].mean(), 3))
            out["render_shift"].append(mean(rs[:, f]))
    return out


def turn_strip(truth: torch.Tensor, model: torch.Tensor, renders: Optional[torch.Tensor]):
    """One world's turn as an image: a row of the truth's frames (the last context frame, then
    each turn frame), the cache's render before each step (when there is a cache; the context
    column blank) and the model's frames. truth, model [F+1, 3, H, W]; renders [F, 3, H, W]."""
    rows = [truth, model] if renders is None else \
        [truth, torch.cat([torch.full_like(renders[:1], -1.0), renders]), model]
    n, H, W = truth.shape[0], truth.shape[-2], truth.shape[-1]
    gap = 2
    img = np.full((len(rows) * (H + gap) - gap, n * (W + gap) - gap, 3), 32, np.uint8)
    for i, r in enumerate(rows):
        u8 = data.to_uint8_frames(r.cpu()).numpy()   # [n, H, W, 3]
        for j in range(n):
            img[i * (H + gap):i * (H + gap) + H, j * (W + gap):j * (W + gap) + W] = u8[j]
    return img
