"""The proxy lab (train/lab_*.py) and copy-then-correct (denoiser.predicts "residual"):
the cached set is deterministic, the residual sampler keeps the newest latent for free, the
trainer resumes, and the micro-eval reports every line on a tiny set."""
import json
import os
import shutil
import tempfile
import unittest

import torch

from train import critic, edm, export, lab_eval, lab_set, lab_train, manifest as mf, metrics
from train import train_dyn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "default.safetensors")
TINY_SET = dict(train_worlds=3, ticks=12, held_worlds=2, held_ticks=48, group=2)


def _have_engine() -> bool:
    from train.eval import find_library
    return find_library() is not None and os.path.isfile(MODEL)


class ZeroNet(torch.nn.Module):
    """A denoiser whose raw output F is always 0."""

    def forward(self, x_in, c_noise, context, actions, ctx_sigma, *memory):
        return torch.zeros_like(x_in)


class ResidualParameterisation(unittest.TestCase):
    def test_zero_network_keeps_the_newest_latent_only_when_residual(self):
        g = torch.Generator().manual_seed(0)
        ctx = torch.randn(3, 4, 8, 16, 16, generator=g) * 0.5
        acts = torch.zeros(3, 4, 5)
        noise = torch.randn(3, 8, 16, 16, generator=g)
        e = {"sigma_data": 0.25, "sigma_min": 0.002, "sigma_max": 5.0, "rho": 7.0}
        res = edm.sample(ZeroNet(), ctx, acts, noise, 1, e, predicts="residual")
        lat = edm.sample(ZeroNet(), ctx, acts, noise, 1, e, predicts="latent")
        # D = c_skip * x at sigma_max: c_skip = sd^2 / (25 + sd^2) ~ 0.0025, times 5 * noise.
        self.assertLess(float((res - ctx[:, -1]).abs().max()), 0.1)
        self.assertGreater(float((lat - ctx[:, -1]).abs().mean()), 0.3)
        # The training-side sampler agrees with the reference one.
        dev = train_dyn.sample(ZeroNet(), ctx, acts, 1, e, 0.0, noise, (), "residual")
        self.assertLess(float((dev - res).abs().max()), 1e-5)

    def test_residual_loss_targets_the_change(self):
        cfg = lab_train.lab_config("residual", [], 0.3).dyn
        cfg.ctx_noise_prob = 0.0
        ctx = torch.randn(4, 4, 8, 16, 16) * 0.5
        acts = torch.zeros(4, 4, 5)
        # Target = newest context latent: the ideal residual net outputs D = 0, which F = 0
        # gives at large sigma only approximately; the residual loss of the zero net must be far
        # below the latent loss of the zero net on the same batch.
        torch.manual_seed(1)
        l_res = float(train_dyn.edm_loss(ZeroNet(), ctx, acts, ctx[:, -1].clone(), cfg, 0.3,
                                         torch.device("cpu")))
        cfg.predicts = "latent"
        torch.manual_seed(1)
        l_lat = float(train_dyn.edm_loss(ZeroNet(), ctx, acts, ctx[:, -1].clone(), cfg, 0.3,
                                         torch.device("cpu")))
        self.assertLess(l_res * 5, l_lat)

    def test_manifest_field(self):
        m = mf.tiny_manifest()
        m["denoiser"]["predicts"] = "residual"
        mf.check(m)
        self.assertEqual(edm.predicts_kind(m), "residual")
        m["denoiser"]["predicts"] = "residual_cache"
        with self.assertRaisesRegex(ValueError, "2 memory slots"):
            mf.check(m)
        m["denoiser"]["predicts"] = "delta"
        with self.assertRaisesRegex(ValueError, "denoiser.predicts"):
            mf.check(m)


class CacheResidualBase(unittest.TestCase):
    """predicts "residual_cache": the change is measured from the render where its cells are
    valid and from the newest context latent elsewhere or without the cache."""

    def _memory(self, ctx, present):
        g = torch.Generator().manual_seed(3)
        n, _, c, h, w = ctx.shape
        render = torch.randn(n, c, h, w, generator=g)
        cells = torch.zeros(n, h, w)
        cells[:, :, : w // 2] = 1.0   # left half saw a surface
        cells[:, :, w // 2] = 0.25    # a partly covered column
        from train.lab_cache import slot_inputs
        lat, feats, mask = slot_inputs(("render", "mask"), render, torch.ones(n), cells, 5,
                                       keep=present)
        return render, (lat, feats, mask)

    def test_base_is_the_render_where_valid(self):
        ctx = torch.randn(2, 4, 8, 6, 8)
        render, mem = self._memory(ctx, torch.tensor([True, False]))
        base = edm.residual_base("residual_cache", ctx, mem)
        self.assertLess(float((base[0, :, :, :4] - render[0, :, :, :4]).abs().max()), 1e-6)
        self.assertTrue(torch.equal(base[0, :, :, 5:], ctx[0, -1, :, :, 5:]))
        mix = ctx[0, -1, :, :, 4] + 0.25 * (render[0, :, :, 4] - ctx[0, -1, :, :, 4])
        self.assertLess(float((base[0, :, :, 4] - mix).abs().max()), 1e-6)
        # The second target's cache was dropped: the newest latent, as "residual" would.
        self.assertTrue(torch.equal(base[1], ctx[1, -1]))
        with self.assertRaisesRegex(ValueError, "render and mask"):
            edm.residual_base("residual_cache", ctx, ())

    def test_render_base_is_the_render_where_present(self):
        ctx = torch.randn(2, 4, 8, 6, 8)
        render, mem = self._memory(ctx, torch.tensor([True, False]))
        base = edm.residual_base("residual_render", ctx, mem)
        self.assertLess(float((base[0] - render[0]).abs().max()), 1e-6)  # holes too: pre-filled
        self.assertTrue(torch.equal(base[1], ctx[1, -1]))
        with self.assertRaisesRegex(ValueError, "memory slot 0"):
            edm.residual_base("residual_render", ctx, ())
        m = mf.tiny_manifest()
        m["denoiser"]["predicts"] = "residual_render"
        with self.assertRaisesRegex(ValueError, "needs a memory slot"):
            mf.check(m)

    def test_zero_network_keeps_the_render(self):
        ctx = torch.randn(2, 4, 8, 6, 8)
        render, mem = self._memory(ctx, torch.tensor([True, True]))
        e = {"sigma_data": 0.25, "sigma_min": 0.002, "sigma_max": 5.0, "rho": 7.0}
        noise = torch.zeros(2, 8, 6, 8)
        out = edm.sample(ZeroNet(), ctx, torch.zeros(2, 4, 5), noise, 1, e, 0.0, mem,
                         predicts="residual_cache")
        self.assertLess(float((out[:, :, :, :4] - render[:, :, :, :4]).abs().max()), 1e-6)
        dev = train_dyn.sample(ZeroNet(), ctx, torch.zeros(2, 4, 5), 1, e, 0.0, noise, mem,
                               "residual_cache")
        self.assertLess(float((dev - out).abs().max()), 1e-5)

    def test_loss_of_copying_the_render_is_small(self):
        cfg = lab_train.lab_config("cache_base_residual_sampled", [], 0.3).dyn
        cfg.ctx_noise_prob = 0.0
        ctx = torch.randn(4, 4, 8, 6, 8) * 0.5
        render, mem = self._memory(ctx, torch.ones(4, dtype=torch.bool))
        target = edm.residual_base("residual_cache", ctx, mem)
        torch.manual_seed(1)
        l_cache = float(train_dyn.edm_loss(ZeroNet(), ctx, torch.zeros(4, 4, 5), target, cfg,
                                           0.3, torch.device("cpu"), memory=mem))
        cfg.predicts = "residual"
        torch.manual_seed(1)
        l_newest = float(train_dyn.edm_loss(ZeroNet(), ctx, torch.zeros(4, 4, 5), target, cfg,
                                            0.3, torch.device("cpu"), memory=mem))
        self.assertLess(l_cache * 5, l_newest)


class DetailGuard(unittest.TestCase):
    def test_aligned_detail_scores_high_and_noise_low(self):
        g = torch.Generator().manual_seed(0)
        truth = (torch.rand(4, 3, 64, 64, generator=g) * 2 - 1)
        truth = torch.nn.functional.avg_pool2d(truth, 3, 1, 1)  # some structure
        self.assertGreater(float(metrics.detail_correlation(truth, truth).min()), 0.999)
        noise = torch.rand(4, 3, 64, 64, generator=g) * 2 - 1
        self.assertLess(float(metrics.detail_correlation(noise, truth).abs().max()), 0.2)
        # Noise is "sharper" than truth, which is why the guard exists.
        self.assertGreater(float(metrics.sharpness(noise).mean()),
                           float(metrics.sharpness(truth).mean()))


@unittest.skipUnless(_have_engine(), "needs libworldloop.so (npm run build:native) and the model")
class LabPipeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.tmp = tempfile.mkdtemp(prefix="wl-lab-")
        cls.set_a = os.path.join(cls.tmp, "a")
        cls.meta = lab_set.build(cls.set_a, MODEL, log=lambda *a: None, **TINY_SET)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_set_is_deterministic_and_checked(self):
        set_b = os.path.join(self.tmp, "b")
        meta_b = lab_set.build(set_b, MODEL, log=lambda *a: None, **TINY_SET)
        self.assertEqual(self.meta["sha256"], meta_b["sha256"])
        lab = lab_set.LabSet(set_b, verify=True)
        self.assertEqual(tuple(lab.train_latents.shape), (3, 12, 8, 16, 16))
        self.assertEqual(lab.turn_frames.shape[:3], (2, 2, 4 + 12))
        # The turn clips' context latents are the encoded first K frames.
        self.assertEqual(tuple(lab.turn_latents.shape), (2, 2, 4, 8, 16, 16))
        with open(os.path.join(set_b, "held_actions.npy"), "r+b") as f:
            f.seek(-4, os.SEEK_END)
            f.write(b"\x00\x00\xc0\x7f")
        with self.assertRaisesRegex(ValueError, "held_actions.npy: checksum"):
            lab_set.LabSet(set_b, verify=True)
        # A set belongs to the autoencoder that encoded it.
        meta_path = os.path.join(set_b, "meta.json")
        meta_b["autoencoder_sha256"] = "0" * 64
        with open(meta_path, "w") as f:
            json.dump(meta_b, f)
        with self.assertRaisesRegex(ValueError, "rebuild the set"):
            lab_set.LabSet(set_b)

    def test_arm_trains_resumes_exports_and_evaluates(self):
        out = os.path.join(self.tmp, "arm")
        sets = ["dyn.batch=4", "dyn.channels=16,16,16", "dyn.cond_dim=16", "dyn.fourier_dim=8",
                "dyn.heads=2", "dyn.groups=4"]
        lab_train.run(self.set_a, out, "residual_sampled", 3, sets, log=lambda *a: None)
        path = lab_train.run(self.set_a, out, "residual_sampled", 5, sets, log=lambda *a: None)
        with open(os.path.join(out, "metrics.jsonl")) as f:
            steps = [json.loads(line)["step"] for line in f]
        self.assertEqual(steps[-1], 5)
        m, ae, dn = export.load_model(path)
        self.assertEqual(m["denoiser"]["predicts"], "residual")
        self.assertEqual(m["sampler"]["steps"], 1)
        self.assertAlmostEqual(m["edm"]["sigma_data"], round(self.meta["change_std"], 4))
        self.assertEqual(m["training"]["steps"], 5)
        # The set's autoencoder travels with the arm unchanged.
        _, ae0, _ = export.load_model(MODEL)
        for (k, a), (_, b) in zip(ae.state_dict().items(), ae0.state_dict().items()):
            self.assertTrue(torch.equal(a, b), k)
        res = lab_eval.run(path, self.set_a, out, log=lambda *a: None)
        for line in ("teacher_forced", "autoencoder", "h8", "h32", "still", "turn"):
            self.assertIn(line, res)
        self.assertIn("flicker", res["still"])
        # Self-consistency against the model's own first frame: two horizons, finite dB, and an
        # untrained net drifts (a frame identical to the first would score 100 dB).
        self.assertEqual(sorted(res["still"]["self"]), ["32", "8"])
        self.assertTrue(all(0 < v < 100 for v in res["still"]["self"].values()))
        self.assertIn("detail", res["h32"])
        self.assertGreater(res["turn"]["pairs"], 0)
        self.assertTrue(os.path.isfile(os.path.join(out, "lab_sheet.png")))
        # Every line runs the sampler with the steps asked for (the rollouts once ran their
        # horizon as the step count): 1 and 2 steps differ in every line of an untrained net.
        res2 = lab_eval.run(path, self.set_a, None, steps=2, log=lambda *a: None)
        self.assertEqual((res["steps"], res2["steps"]), (1, 2))
        for line in ("teacher_forced", "h8", "h32"):
            self.assertNotEqual(res[line]["psnr"], res2[line]["psnr"], line)
        self.assertNotEqual(res["still"]["flicker"], res2["still"]["flicker"])
        # An explicit schedule: its length is the step count, and a second step that starts at
        # 0.5 instead of the manifest's sigma_min is another sampler (other numbers).
        res3 = lab_eval.run(path, self.set_a, None, sigmas=[5.0, 0.5], log=lambda *a: None)
        self.assertEqual((res3["steps"], res3["sigmas"]), (2, [5.0, 0.5]))
        self.assertNotEqual(res3["teacher_forced"]["psnr"], res2["teacher_forced"]["psnr"])
        with self.assertRaisesRegex(ValueError, "strictly decreasing"):
            lab_eval.run(path, self.set_a, None, sigmas=[0.5, 5.0], log=lambda *a: None)
        with self.assertRaisesRegex(ValueError, "another config"):
            lab_train.run(self.set_a, out, "base", 6, sets, log=lambda *a: None)
        # A decoder trained against the critic on this arm's predicted latents: the exported file
        # keeps the set's encoder and the arm's denoiser, its decoder has moved, and the micro-eval
        # decodes with it.
        c_out = os.path.join(self.tmp, "critic")
        c_path = critic.run(self.set_a, c_out, 3, path, batch=2, adv_start=1,
                            log=lambda *a: None)
        cm, cae, cdn = export.load_model(c_path)
        self.assertEqual(cm["denoiser"], m["denoiser"])
        self.assertTrue(torch.equal(cae.encoder.conv_in.weight, ae.encoder.conv_in.weight))
        self.assertFalse(all(torch.equal(a, b) for a, b in zip(cae.decoder.parameters(),
                                                              ae.decoder.parameters())))
        for (k, a), (_, b) in zip(cdn.state_dict().items(), dn.state_dict().items()):
            self.assertTrue(torch.equal(a, b), k)
        res_c = lab_eval.run(path, self.set_a, None, decoder_model=c_path, log=lambda *a: None)
        self.assertEqual(res_c["decoder"], c_path)
        self.assertNotEqual(res_c["autoencoder"], res["autoencoder"])


if __name__ == "__main__":
    unittest.main()
