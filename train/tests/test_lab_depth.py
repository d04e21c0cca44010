"""The proxy lab's depth head (issue 18, must-have 4; train/lab_depth.py): the inverse-depth
encoding, the head file's checks, and on a tiny set: training that resumes, its eval, a cache layer
made with predicted depth, and the micro-eval inserting frames with predicted depth."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

from train import export, lab_depth, lab_eval, lab_set, lab_train
from train.tests.test_lab import MODEL
from train.tests.test_lab_cache import TINY_NET, TINY_SET, _have_cache


class Encoding(unittest.TestCase):
    def test_inverse_depth_round_trips_and_sky_is_zero(self):
        d = np.array([lab_depth.MIN_DEPTH, 0.5, 1.0, 3.7, 26.0, np.inf], np.float32)
        t = lab_depth.to_target(d)
        self.assertEqual(t[0], 1.0)
        self.assertEqual(t[-1], 0.0)
        self.assertTrue(np.all(np.diff(t) < 0))   # nearer is larger
        back = lab_depth.to_depth(t)
        self.assertTrue(np.allclose(back[:-1], d[:-1], rtol=1e-5))
        self.assertTrue(np.isinf(back[-1]))
        # Nearer than MIN_DEPTH saturates; a tiny predicted value is sky.
        self.assertEqual(lab_depth.to_target(np.array([0.01], np.float32))[0], 1.0)
        self.assertTrue(np.isinf(lab_depth.to_depth(np.array([1e-4], np.float32))[0]))


class HeadFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wl-depthhead-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_saved_head_predicts_what_the_net_does(self):
        torch.manual_seed(0)
        net = lab_depth.DepthNet(8).eval()
        p = os.path.join(self.tmp, "h.safetensors")
        lab_depth.save_head(p, net, {"steps": 3})
        head = lab_depth.DepthHead(p)
        x = np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32, 3), dtype=np.uint8)
        with torch.no_grad():
            want = net(lab_depth._frames_in(x.reshape(6, 32, 32, 3))).numpy()
        got = head.predict(x)
        self.assertEqual(got.shape, (2, 3, 32, 32))
        self.assertTrue(np.array_equal(got.reshape(6, 32, 32), lab_depth.to_depth(want)))
        self.assertEqual(head.meta["steps"], "3")

    def test_bad_files_are_refused_by_name(self):
        with self.assertRaisesRegex(FileNotFoundError, "lab-depth"):
            lab_depth.DepthHead(os.path.join(self.tmp, "missing.safetensors"))
        junk = os.path.join(self.tmp, "junk.safetensors")
        with open(junk, "wb") as f:
            f.write(b"\x03")
        with self.assertRaisesRegex(ValueError, "junk.safetensors"):
            lab_depth.DepthHead(junk)
        other = os.path.join(self.tmp, "other.safetensors")
        export.write_safetensors(other, [("w", np.zeros(2, np.float32), "F32")], {"format": "x"})
        with self.assertRaisesRegex(ValueError, "format 'x'"):
            lab_depth.DepthHead(other)
        net = lab_depth.DepthNet(8)
        sd = net.state_dict()
        bad = os.path.join(self.tmp, "bad_shape.safetensors")
        k0 = next(iter(sd))
        export.write_safetensors(bad, [(k, v if k != k0 else v[:1], "F32") for k, v in sd.items()],
                                 {"format": lab_depth.FORMAT, "width": 8})
        with self.assertRaisesRegex(ValueError, k0.replace(".", r"\.")):
            lab_depth.DepthHead(bad)


@unittest.skipUnless(_have_cache(), "needs libworldloop.so with the point cache and the model")
class HeadOnATinySet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.tmp = tempfile.mkdtemp(prefix="wl-labdepth-")
        cls.set_dir = os.path.join(cls.tmp, "set")
        lab_set.build(cls.set_dir, MODEL, log=lambda *a: None, **TINY_SET)
        cls.out = os.path.join(cls.tmp, "depth")
        cls.head = lab_depth.run(cls.set_dir, cls.out, minutes=0.05, worlds=2, width=8,
                                 log=lambda *a: None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_run_writes_head_eval_and_sheet_and_resumes(self):
        with open(os.path.join(self.out, "depth_eval.json")) as f:
            res = json.load(f)
        steps = res["steps"]
        self.assertGreater(steps, 0)
        for kind in ("truth_frames", "decoded_frames"):
            line = res["held_out"][kind]
            self.assertTrue(0 <= line["delta_1.1"] <= 1 and 0 <= line["sky_agreement"] <= 1)
            self.assertGreater(line["abs_rel"], 0)
        for kind in ("oracle_depth", "predicted_depth"):
            self.assertGreater(res["cache_render"][kind]["valid_fraction"], 0)
        from train import png
        sheet = png.read_png_rgb(os.path.join(self.out, "depth_sheet.png"))
        self.assertEqual(sheet.shape, (2 * 128, 4 * 128, 3))
        # A second run with more minutes continues from the checkpoint.
        lab_depth.run(self.set_dir, self.out, minutes=0.1, worlds=2, width=8, log=lambda *a: None)
        with open(os.path.join(self.out, "depth_eval.json")) as f:
            self.assertGreater(json.load(f)["steps"], steps)
        with self.assertRaisesRegex(ValueError, "width-8"):
            lab_depth.run(self.set_dir, self.out, minutes=0.2, worlds=2, width=16,
                          log=lambda *a: None)

    def test_layer_and_eval_with_predicted_depth(self):
        from train import lab_cache
        oracle_dir = os.path.join(self.tmp, "layer_oracle")
        pred_dir = os.path.join(self.tmp, "layer_pred")
        lab_cache.build(self.set_dir, log=lambda *a: None, layer_dir=oracle_dir)
        cmeta = lab_cache.build(self.set_dir, log=lambda *a: None, layer_dir=pred_dir,
                                depth_head=self.head)
        self.assertEqual(cmeta["depth"]["head"], self.head)
        oracle, pred = (lab_cache.CacheLayer(self.set_dir, d) for d in (oracle_dir, pred_dir))
        self.assertEqual(oracle.depth, "oracle")
        # Same truth depths and poses for the eval; renders made from other depth differ.
        self.assertTrue(np.array_equal(oracle.held_depths, pred.held_depths))
        self.assertFalse(torch.equal(oracle.train_latents, pred.train_latents))
        out = os.path.join(self.tmp, "arm")
        path = lab_train.run(self.set_dir, out, "cache_mask_residual_sampled", 2, TINY_NET,
                             log=lambda *a: None, cache_dir=pred_dir)
        m, _, _ = export.load_model(path)
        self.assertEqual(m["training"]["cache_depth"]["head"], self.head)
        a = lab_eval.run(path, self.set_dir, None, cache_dir=pred_dir, log=lambda *a: None)
        b = lab_eval.run(path, self.set_dir, None, cache_dir=pred_dir, depth_head=self.head,
                         log=lambda *a: None)
        self.assertTrue(a["cache"]["depth"].startswith("oracle"))
        self.assertTrue(b["cache"]["depth"].startswith("predicted"))
        # Teacher forcing reads the layer either way; the rollouts' caches differ.
        self.assertEqual(a["teacher_forced"], b["teacher_forced"])
        self.assertNotEqual(a["cache"]["rollout_valid_mean"], b["cache"]["rollout_valid_mean"])
