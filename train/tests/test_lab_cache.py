"""The oracle-depth point-cache arm of the proxy lab (issue 18; docs/lab.md): the point cache's
ctypes wrapper against the C ABI, cameras rebuilt from poses, the cache layer of a tiny set, and
the arm's slot plumbing through training and the micro-eval."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch

from train import export, lab_eval, lab_set, lab_train
from train.tests.test_lab import MODEL, _have_engine

TINY_SET = dict(train_worlds=2, ticks=12, held_worlds=2, held_ticks=48, group=2)
TINY_NET = ["dyn.batch=4", "dyn.channels=16,16,16", "dyn.cond_dim=16", "dyn.fourier_dim=8",
            "dyn.heads=2", "dyn.groups=4"]


def _have_cache() -> bool:
    if not _have_engine():
        return False
    try:
        from train import point_cache
        point_cache._lib()
        return True
    except (OSError, RuntimeError):
        return False


@unittest.skipUnless(_have_cache(), "needs libworldloop.so with the point cache and the model")
class PointCacheWrapper(unittest.TestCase):
    def test_render_after_insert_reproduces_the_frame_where_valid(self):
        from train import point_cache, world
        with world.World(7, width=64, height=64) as w, point_cache.PointCache() as cache:
            for _ in range(5):
                w.step([1.0, 0, 0.3, 0, 0])
            cam = point_cache.world_camera(w)
            rgb, depth, mask = cache.render(cam)
            self.assertEqual(int(mask.max()), 0)   # empty cache: nothing valid
            self.assertTrue(np.isinf(depth).all())
            frame, d = w.frame().copy(), w.depth().copy()
            cache.insert(cam, frame, d)
            self.assertGreater(cache.count(), 0)
            rgb, depth, mask = cache.render(cam)
            v = mask > 0
            # Every non-sky pixel comes back, bit for bit (docs/world.md, "What is exact").
            self.assertTrue(np.array_equal(v, np.isfinite(d)))
            self.assertTrue(np.array_equal(rgb[v], frame[v]))
            cache.clear()
            self.assertEqual(cache.count(), 0)
        with self.assertRaisesRegex(ValueError, "policy"):
            point_cache.PointCache("oldest")

    def test_pose_camera_is_the_worlds_camera(self):
        from train import lab_cache, point_cache, world
        intr = lab_cache.intrinsics(64)
        with world.World(11, width=64, height=64) as w, world.Explorer(11) as ex:
            for _ in range(40):
                c = point_cache.world_camera(w)
                p = point_cache.pose_camera(intr, *w.pose())
                for name, _ in world.Camera._fields_:
                    a, b = getattr(c, name), getattr(p, name)
                    if name == "world_to_camera":
                        a, b = list(a), list(b)
                    self.assertEqual(a, b, name)
                w.step(ex.next(w))


@unittest.skipUnless(_have_cache(), "needs libworldloop.so with the point cache and the model")
class CacheLayerAndArm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.tmp = tempfile.mkdtemp(prefix="wl-labcache-")
        cls.set_dir = os.path.join(cls.tmp, "set")
        cls.meta = lab_set.build(cls.set_dir, MODEL, log=lambda *a: None, **TINY_SET)
        from train import lab_cache
        cls.cmeta = lab_cache.build(cls.set_dir, log=lambda *a: None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_layer_shapes_order_and_set_untouched(self):
        from train import lab_cache
        layer = lab_cache.CacheLayer(self.set_dir)
        lab_set.LabSet(self.set_dir, verify=True)   # the set's own files are unchanged
        self.assertEqual(tuple(layer.train_latents.shape), (2, 12, 8, 16, 16))
        self.assertEqual(tuple(layer.held_latents.shape), (2, 48, 8, 16, 16))
        self.assertEqual(layer.held_depths.shape, (2, 48, 128, 128))
        self.assertEqual(layer.turn_depths.shape, (2, 2, 16, 128, 128))
        # Render t is made before frame t goes in: tick 0 sees nothing, later ticks see a lot.
        self.assertTrue(bool((layer.train_valid[:, 0] == 0).all()))
        self.assertGreater(float(layer.train_valid[:, 1:].mean()), 0.3)
        # Held-out renders re-made here from the stored depth/poses equal the layer's.
        lab = lab_set.LabSet(self.set_dir)
        ren, m = lab_cache.cache_renders(lab.held_frames[0, :6], layer.held_depths[0, :6],
                                         layer.held_poses[0, :6], layer.intrinsics)
        self.assertTrue(np.allclose((m > 0).mean(axis=(1, 2)), layer.held_valid[0, :6].numpy()))
        # The stored turn poses are the turn clips' (the frame at the same pose renders the same).
        self.assertEqual(self.cmeta["policy"], "newest")

    def test_layer_refuses_a_changed_set(self):
        from train import lab_cache
        other = os.path.join(self.tmp, "copy")
        shutil.copytree(self.set_dir, other)
        a = np.load(os.path.join(other, "train_actions.npy"))
        a[0, 3, 0] += 0.5
        np.save(os.path.join(other, "train_actions.npy"), a)
        with self.assertRaisesRegex(ValueError, "regenerated training actions"):
            lab_cache.build(other, log=lambda *a: None)
        with open(os.path.join(other, "meta.json")) as f:
            meta = json.load(f)
        meta["sha256"]["train_actions"] = "0" * 64
        with open(os.path.join(other, "meta.json"), "w") as f:
            json.dump(meta, f)
        with self.assertRaisesRegex(ValueError, "another set"):
            lab_cache.CacheLayer(other)

    def test_slot_plumbing_train_export_eval(self):
        from train import lab_cache
        layer = lab_cache.CacheLayer(self.set_dir)
        g = torch.Generator().manual_seed(0)
        w, t = torch.tensor([0, 1, 1]), torch.tensor([0, 5, 7])
        lat, feats, mask = lab_train.cache_memory(layer, w, t, 5, 0.0, g)
        self.assertTrue(torch.equal(lat[:, 0], layer.train_latents[w, t]))
        self.assertEqual(feats[0, 0].tolist(), [0.0, 0.0, 0.0, 1.0, 0.0])
        self.assertEqual(mask[:, 0].tolist(), [0.0, 1.0, 1.0])   # tick 0: empty render
        out = os.path.join(self.tmp, "arm")
        path = lab_train.run(self.set_dir, out, "cache_residual_sampled", 3, TINY_NET,
                             log=lambda *a: None)
        m, _, dn = export.load_model(path)
        self.assertEqual(m["denoiser"]["memory"]["slots"], 1)
        # The slot is read: the network's output moves with the render latent.
        x = torch.randn(1, 8, 16, 16)
        ctx = torch.randn(1, 4, 8, 16, 16)
        args = (x, torch.zeros(1), ctx, torch.zeros(1, 4, 5), torch.zeros(1))
        f1 = dn(*args, lat[1:2], feats[1:2], mask[1:2])
        f2 = dn(*args, lat[1:2] + 1.0, feats[1:2], mask[1:2])
        self.assertGreater(float((f1 - f2).abs().max()), 0)
        res = lab_eval.run(path, self.set_dir, None, log=lambda *a: None)
        for line in ("teacher_forced", "h8", "h32", "still", "turn", "return"):
            self.assertIn(line, res)
        # The return line's truth ends where it started: its last frame is the last context one.
        rf, _, rp, ra = lab_eval.return_clips(self.meta, lab_set.LabSet(self.set_dir)
                                              .held_actions.numpy(), 4)
        self.assertTrue(np.array_equal(rf[:, -1], rf[:, 3]))
        self.assertEqual(ra.shape[1], 3 + 2 * lab_eval.RETURN_TURN)
        self.assertEqual(res["cache"]["policy"], "newest")
        self.assertGreater(res["cache"]["rollout_valid_mean"], 0.3)
        res_c = lab_eval.run(path, self.set_dir, None, cache_policy="closest", log=lambda *a: None)
        self.assertEqual(res_c["cache"]["policy"], "closest")
        self.assertEqual(res_c["teacher_forced"], res["teacher_forced"])


if __name__ == "__main__":
    unittest.main()
