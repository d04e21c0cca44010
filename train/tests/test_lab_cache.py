"""The oracle-depth point-cache arm of the proxy lab (issue 18; docs/lab.md): the point cache's
ctypes wrapper against the C ABI, cameras rebuilt from poses, the cache layer of a tiny set (and a
second, `first`-policy layer in its own directory), and the arms' slot plumbing (render, and
render + latent-cell valid mask) through training and the micro-eval."""
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


class FillCracks(unittest.TestCase):
    def test_thin_holes_close_and_wide_holes_stay(self):
        from train import lab_cache
        rgb = np.full((32, 32, 3), 100, np.uint8)
        rgb[:, 16:] = 200
        mask = np.full((32, 32), 255, np.uint8)
        mask[:8] = 0             # sky: a wide hole with render on one side only
        mask[12:28, 10] = 0      # a vertical crack 1 px wide
        mask[20, 3:5] = 0        # a horizontal crack 2 px wide
        mask[14:24, 20:26] = 0   # a 6 px wide hole
        rgb[mask == 0] = 0       # holes are black, as the cache renders them
        out, m = lab_cache.fill_cracks(rgb, mask)
        self.assertTrue((m[:8] == 0).all() and (out[:8] == 0).all())
        self.assertTrue((m[12:28, 10] == 255).all() and (m[20, 3:5] == 255).all())
        self.assertTrue((out[12:28, 10] == 100).all())   # the surface's colour, not black
        self.assertTrue((m[16:22, 22:24] == 0).all())    # the wide hole's middle stays a hole
        keep = mask > 0
        self.assertTrue(np.array_equal(out[keep], rgb[keep]) and (m[keep] == 255).all())
        same, same_m = lab_cache.fill_cracks(rgb[8:12], mask[8:12])   # nothing to close
        self.assertTrue(np.array_equal(same, rgb[8:12]) and np.array_equal(same_m, mask[8:12]))


class FillHoles(unittest.TestCase):
    def test_holes_take_the_newest_frame_and_surfaces_stay(self):
        from train import lab_cache
        g = np.random.default_rng(0)
        rgb = g.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        newest = g.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        mask = np.full((2, 16, 16), 255, np.uint8)
        mask[:, :4] = 0
        mask[1, 9, 9] = 0
        out = lab_cache.fill_holes(rgb, mask, newest)
        hole = mask == 0
        self.assertTrue(np.array_equal(out[hole], newest[hole]))
        self.assertTrue(np.array_equal(out[~hole], rgb[~hole]))
        with self.assertRaisesRegex(ValueError, "fill 'left'"):
            lab_cache.cache_renders(rgb, np.ones((2, 16, 16), np.float32),
                                    np.zeros((2, 3), np.float32), None, fill="left")


@unittest.skipUnless(_have_cache(), "needs libworldloop.so with the point cache and the model")
class FilledRenders(unittest.TestCase):
    def test_render_holes_hold_the_previous_frame(self):
        from train import lab_cache, world
        seeds = [5]
        b = world.WorldBatch(seeds, width=64, height=64, explore=lab_set.EXPLORE)
        try:
            fr, _, po, dp = b.generate(6, depth=True)
        finally:
            b.close()
        intr = lab_cache.intrinsics(64)
        plain, m = lab_cache.cache_renders(fr[0], dp[0], po[0], intr, "first")
        filled, m2 = lab_cache.cache_renders(fr[0], dp[0], po[0], intr, "first", fill="newest")
        self.assertTrue(np.array_equal(m, m2))
        self.assertTrue(np.array_equal(filled[0], plain[0]))   # nothing before frame 0
        for t in range(1, 6):
            hole = m[t] == 0
            self.assertTrue(hole.any())   # the sky at least
            self.assertTrue(np.array_equal(filled[t][hole], fr[0, t - 1][hole]))
            self.assertTrue(np.array_equal(filled[t][~hole], plain[t][~hole]))


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

    def test_first_policy_renders_keep_the_first_observation(self):
        # Three frames from one camera with the same depth but different colours (as standing
        # still with the model's own frames): render 2 is made after frames 0 and 1 went in.
        # `first` must show frame 0 there, `newest` frame 1.
        from train import lab_cache, point_cache, world
        intr = lab_cache.intrinsics(64)
        with world.World(7, width=64, height=64) as w:
            for _ in range(5):
                w.step([1.0, 0, 0.3, 0, 0])
            f0, d = w.frame().copy(), w.depth().copy()
            pose = np.asarray(w.pose(), np.float32)
        frames = np.stack([f0, 255 - f0, f0 // 2])
        depths, poses = np.stack([d] * 3), np.stack([pose] * 3)
        ren_first, m_first = lab_cache.cache_renders(frames, depths, poses, intr, "first")
        ren_new, m_new = lab_cache.cache_renders(frames, depths, poses, intr, "newest")
        self.assertEqual(int(m_first[0].max()), 0)   # nothing inserted before render 0
        v = m_first[2] > 0
        self.assertGreater(float(v.mean()), 0.5)
        self.assertTrue(np.array_equal(v, m_new[2] > 0))
        self.assertTrue(np.array_equal(ren_first[2][v], f0[v]))
        self.assertTrue(np.array_equal(ren_new[2][v], (255 - f0)[v]))
        self.assertIn("first", point_cache.POLICIES)

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

    def test_first_layer_in_its_own_directory(self):
        from train import lab_cache
        with open(os.path.join(self.set_dir, "cache_meta.json")) as f:
            before = f.read()
        layer_dir = os.path.join(self.tmp, "layer_first")
        cmeta = lab_cache.build(self.set_dir, "first", log=lambda *a: None, layer_dir=layer_dir)
        self.assertEqual(cmeta["policy"], "first")
        with open(os.path.join(self.set_dir, "cache_meta.json")) as f:
            self.assertEqual(f.read(), before)   # the set's own layer is untouched
        lab_set.LabSet(self.set_dir, verify=True)
        first, newest = lab_cache.CacheLayer(self.set_dir, layer_dir), lab_cache.CacheLayer(self.set_dir)
        self.assertEqual((first.policy, newest.policy), ("first", "newest"))
        self.assertEqual(first.train_latents.shape, newest.train_latents.shape)
        self.assertEqual(tuple(first.train_cells.shape), (2, 12, 16, 16))
        self.assertEqual(tuple(first.held_cells.shape), (2, 48, 16, 16))
        # The cell mask is the valid pixel fraction per latent cell: its mean is the render's.
        self.assertTrue(torch.allclose(first.held_cells.mean(dim=(2, 3)), first.held_valid,
                                       atol=2e-3))
        # Render 0 of every world is empty under both policies; later the renders differ (a
        # voxel seen twice keeps another observation's colour and position).
        self.assertTrue(bool((first.held_valid[:, 0] == 0).all()))
        self.assertGreater(float(first.held_valid[:, 1:].mean()), 0.3)
        self.assertFalse(torch.equal(first.held_latents, newest.held_latents))
        with self.assertRaisesRegex(FileExistsError, "already holds a cache layer"):
            lab_cache.build(self.set_dir, "first", log=lambda *a: None, layer_dir=layer_dir)
        with self.assertRaisesRegex(ValueError, "policy 'oldest'"):
            lab_cache.build(self.set_dir, "oldest", log=lambda *a: None,
                            layer_dir=os.path.join(self.tmp, "never"))

    def test_slot_inputs_carry_the_mask_and_drop_together(self):
        from train import lab_cache
        layer = lab_cache.CacheLayer(self.set_dir)
        g = torch.Generator().manual_seed(0)
        w, t = torch.tensor([0, 1, 1]), torch.tensor([0, 5, 7])
        mem, feats, mask = lab_train.cache_memory(layer, w, t, 5, 0.0, g,
                                                  kinds=("render", "mask"))
        self.assertEqual(tuple(mem.shape), (3, 2, 8, 16, 16))
        self.assertEqual(tuple(feats.shape), (3, 2, 5))
        self.assertTrue(torch.equal(mem[:, 0], layer.train_latents[w, t]))
        for c in range(8):   # the cell mask on every channel of slot 1
            self.assertTrue(torch.equal(mem[:, 1, c], layer.train_cells[w, t]))
        self.assertEqual(mask.tolist(), [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
        # These renders have holes (sky, never seen): some cells are not fully valid.
        self.assertTrue(bool((mem[1:, 1] < 1).any()))
        self.assertTrue(bool(((mem[:, 1] >= 0) & (mem[:, 1] <= 1)).all()))
        # Dropping the cache drops both slots of a target together.
        keep = torch.tensor([True, False, True])
        _, _, mk = lab_cache.slot_inputs(("render", "mask"), mem[:, 0], layer.train_valid[w, t],
                                         layer.train_cells[w, t], 5, keep)
        self.assertEqual(mk.tolist(), [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
        with self.assertRaisesRegex(ValueError, "needs the cell mask"):
            lab_cache.slot_inputs(("render", "mask"), mem[:, 0], layer.train_valid[w, t], None, 5)
        with self.assertRaisesRegex(ValueError, "each one of"):
            lab_cache.slot_inputs(("depth",), mem[:, 0], layer.train_valid[w, t], None, 5)

    def test_filled_slot_and_withholding(self):
        from train import lab_cache
        layer = lab_cache.CacheLayer(self.set_dir)
        w, t = torch.tensor([0, 1, 1]), torch.tensor([0, 5, 7])
        lat, valid, cells = layer.train_latents[w, t], layer.train_valid[w, t], layer.train_cells[w, t]
        newest = layer.train_latents[w, t - 1].clone() + 3.0   # far from any render latent
        mem, _, mask = lab_cache.slot_inputs(("filled", "mask"), lat, valid, cells, 5,
                                             newest=newest)
        full, hole = cells[1] == 1, cells[1] == 0
        self.assertTrue(bool(full.any()) and bool(hole.any()))
        # A fully valid cell is the render's, a full hole the newest context latent's, and a
        # partly valid cell lies between them.
        self.assertTrue(torch.equal(mem[1, 0][:, full], lat[1][:, full]))
        self.assertTrue(torch.equal(mem[1, 0][:, hole], newest[1][:, hole]))
        part = (cells[1] > 0) & (cells[1] < 1)
        if bool(part.any()):
            c = cells[1][part]
            self.assertTrue(torch.allclose(mem[1, 0][:, part], c * lat[1][:, part]
                                           + (1 - c) * newest[1][:, part], atol=1e-6))
        self.assertTrue(torch.equal(mem[:, 1, 0], cells))   # the mask slot still says where
        with self.assertRaisesRegex(ValueError, "needs the newest context latent"):
            lab_cache.slot_inputs(("filled", "mask"), lat, valid, cells, 5)
        # Withholding: a render under min_valid is absent from every slot.
        thr = float(valid[1:].mean())
        _, _, mk = lab_cache.slot_inputs(("render", "mask"), lat, valid, cells, 5,
                                         min_valid=thr)
        expect = ((valid > 0) & (valid >= thr)).float()[:, None].expand(3, 2)
        self.assertTrue(torch.equal(mk, expect))
        self.assertTrue(torch.equal(mask[:, 0], (valid > 0).float()))

    def test_fill_arm_train_export_eval(self):
        from train import lab_cache
        from train.eval import TorchWorldModel
        out = os.path.join(self.tmp, "fill_arm")
        path = lab_train.run(self.set_dir, out, "cache_fill_residual_sampled", 3, TINY_NET,
                             log=lambda *a: None)
        m, _, _ = export.load_model(path)
        self.assertEqual(m["denoiser"]["memory"]["slots"], 2)
        self.assertEqual(m["training"]["cache_slots"], ["filled", "mask"])
        layer = lab_cache.CacheLayer(self.set_dir)
        w, t = torch.tensor([1]), torch.tensor([5])
        newest = layer.train_latents[w, t - 1]
        mem, feats, mask = lab_train.cache_memory(layer, w, t, 5, 0.0, torch.Generator(),
                                                  kinds=("filled", "mask"), newest=newest)
        # The eval's slot fills the holes the same way from the newest context latent it is given.
        slot = lab_eval.CacheSlot(TorchWorldModel(path, torch.device("cpu")), layer, None, None,
                                  "first")
        em, ef, ek = slot.memory(layer.train_latents[w, t], layer.train_valid[w, t],
                                 layer.train_cells[w, t], newest)
        self.assertTrue(torch.equal(em, mem) and torch.equal(ef, feats) and torch.equal(ek, mask))
        res = lab_eval.run(path, self.set_dir, None, cache_policy="first", log=lambda *a: None)
        self.assertEqual(res["cache"]["slots"], ["filled", "mask"])
        self.assertIn("per_frame", res["turn"])

    def test_mask_arm_train_export_eval(self):
        from train import lab_cache
        from train.eval import TorchWorldModel
        out = os.path.join(self.tmp, "mask_arm")
        with self.assertRaisesRegex(ValueError, "fills 2 memory slot"):
            lab_train.run(self.set_dir, out + "_bad", "cache_mask_residual_sampled", 1,
                          TINY_NET + ["dyn.memory_slots=1"], log=lambda *a: None)
        with self.assertRaisesRegex(ValueError, "--cache-dir is for the cache arms"):
            lab_train.run(self.set_dir, out + "_bad2", "residual_sampled", 1, TINY_NET,
                          log=lambda *a: None, cache_dir=self.set_dir)
        path = lab_train.run(self.set_dir, out, "cache_mask_residual_sampled", 3, TINY_NET,
                             log=lambda *a: None)
        m, _, dn = export.load_model(path)
        self.assertEqual(m["denoiser"]["memory"]["slots"], 2)
        self.assertEqual(m["training"]["cache_slots"], ["render", "mask"])
        self.assertEqual(m["training"]["cache_policy"], "newest")
        layer = lab_cache.CacheLayer(self.set_dir)
        w, t = torch.tensor([1]), torch.tensor([5])
        mem, feats, mask = lab_train.cache_memory(layer, w, t, 5, 0.0, torch.Generator(),
                                                  kinds=("render", "mask"))
        # The mask reaches the network: its output moves with slot 1 alone.
        x, ctx = torch.randn(1, 8, 16, 16), torch.randn(1, 4, 8, 16, 16)
        args = (x, torch.zeros(1), ctx, torch.zeros(1, 4, 5), torch.zeros(1))
        holes = mem.clone()
        holes[:, 1] = 0.0
        self.assertGreater(float((dn(*args, mem, feats, mask) - dn(*args, holes, feats, mask))
                                 .abs().max()), 0)
        # The eval's slot feeds the same tensors as training (slot 1 = the cell mask).
        slot = lab_eval.CacheSlot(TorchWorldModel(path, torch.device("cpu")), layer, None, None,
                                  "first")
        self.assertEqual(slot.kinds, ("render", "mask"))
        em, ef, ek = slot.memory(layer.train_latents[w, t], layer.train_valid[w, t],
                                 layer.train_cells[w, t])
        self.assertTrue(torch.equal(em, mem) and torch.equal(ef, feats) and torch.equal(ek, mask))
        ev = os.path.join(self.tmp, "mask_arm_eval")
        res = lab_eval.run(path, self.set_dir, ev, cache_policy="first", log=lambda *a: None)
        self.assertEqual(res["cache"]["slots"], ["render", "mask"])
        self.assertEqual(res["cache"]["policy"], "first")
        self.assertGreater(res["cache"]["rollout_valid_mean"], 0.3)
        # The turn line frame by frame: one entry per turn frame and direction; its pairs add up
        # to the line's; with a cache, the render's valid fraction and shift per frame.
        pf = res["turn"]["per_frame"]
        F = lab_set.LabSet(self.set_dir).turn_frames.shape[2] - 4
        self.assertEqual(sorted(pf), ["left", "right"])
        for d in pf.values():
            for k in ("pairs", "agreement", "truth_shift", "model_shift", "stalled", "reversed",
                      "psnr", "render_valid", "render_shift"):
                self.assertEqual(len(d[k]), F, k)
            self.assertTrue(all(0 < v <= 1 for v in d["render_valid"]))
        self.assertEqual(sum(sum(d["pairs"]) for d in pf.values()), res["turn"]["pairs"])
        # The strip: truth, render and model rows of F+1 frames of 128 px with 2 px gaps.
        from train import png
        strip = png.read_png_rgb(os.path.join(ev, "turn_strip.png"))
        self.assertEqual(strip.shape, (3 * 130 - 2, (F + 1) * 130 - 2, 3))

    def test_render_base_arm_refuses_an_unfilled_layer(self):
        # The tiny set's layer was built with fill "none": a residual_render arm must not train
        # on black-holed renders.
        out = os.path.join(self.tmp, "filled_base_refused")
        with self.assertRaisesRegex(ValueError, "--fill newest"):
            lab_train.run(self.set_dir, out, "cache_filled_base_residual_sampled", 1,
                          log=lambda *a: None)

    def test_render_base_arm_trains_on_a_filled_layer_and_eval_refuses_an_unfilled_one(self):
        from train import lab_cache
        filled = os.path.join(self.tmp, "layer_filled")
        lab_cache.build(self.set_dir, log=lambda *a: None, layer_dir=filled, fill="newest")
        self.assertEqual(lab_cache.CacheLayer(self.set_dir, filled).fill, "newest")
        path = lab_train.run(self.set_dir, os.path.join(self.tmp, "filled_base"),
                             "cache_filled_base_residual_sampled", 2, TINY_NET,
                             log=lambda *a: None, cache_dir=filled)
        self.assertEqual(export.load_model(path)[0]["denoiser"]["predicts"], "residual_render")
        # Its base would be a black-holed render on the set's own (unfilled) layer.
        with self.assertRaisesRegex(ValueError, "--fill newest"):
            lab_eval.run(path, self.set_dir, None, log=lambda *a: None)

    def test_turn_start_dropout_rates(self):
        from train import configs
        # "A motion starts": some channel of the newest action differs from the action before
        # by more than TURN_START_DELTA; the explorer's strafe jitter does not count.
        prev = torch.tensor([[0.05, 0.03, -1, 0, 0], [0.05, 0.03, -1, 0, 0],
                             [0.05, 0.03, -1, 0, 0], [0, 0, 1, 0, 0]])
        new = torch.tensor([[0.05, 0.09, -1, 0, 0], [-1, 0, 1, 0, 0],
                            [0.05, 0.03, -0.5, 0, 0], [0, 0, 1, 0, 0]])
        self.assertEqual(lab_train.turn_starts(new, prev).tolist(), [False, True, True, False])
        c = configs.DynConfig(memory_drop=0.2, memory_drop_turn_start=0.7)
        a = torch.stack([prev, new], dim=1)   # clips of two actions: the target is clip step 2
        self.assertTrue(torch.allclose(lab_train.target_drop(c, a, 2),
                                       torch.tensor([0.2, 0.7, 0.7, 0.2])))
        with self.assertRaisesRegex(ValueError, "two actions before"):
            lab_train.target_drop(c, a, 1)
        self.assertEqual(lab_train.target_drop(configs.DynConfig(memory_drop=0.2), a, 2), 0.2)
        # Per-target probabilities: the drop rate on each group is what it was given (seeded,
        # 6,000 targets per group; the bound is more than 5 standard deviations).
        from train import lab_cache
        layer = lab_cache.CacheLayer(self.set_dir)
        n = 6000
        w, t = torch.ones(2 * n, dtype=torch.long), torch.full((2 * n,), 5)
        drop = torch.cat([torch.full((n,), 0.7), torch.full((n,), 0.2)])
        _, _, mask = lab_train.cache_memory(layer, w, t, 5, drop, torch.Generator().manual_seed(3),
                                            kinds=("render", "mask"))
        self.assertTrue(torch.equal(mask[:, 0], mask[:, 1]))   # both slots together
        self.assertLess(abs(float(1 - mask[:n, 0].mean()) - 0.7), 0.03)
        self.assertLess(abs(float(1 - mask[n:, 0].mean()) - 0.2), 0.03)
        with self.assertRaisesRegex(ValueError, "per-target drop"):
            lab_train.cache_memory(layer, w, t, 5, drop[:3], torch.Generator())

    def test_turndrop_arm_trains_with_per_target_drop_and_exports(self):
        from train import lab_cache
        from train.eval import TorchWorldModel
        arm = "cache_mask_turndrop_residual_sampled"
        with self.assertRaisesRegex(ValueError, "a probability"):
            lab_train.run(self.set_dir, os.path.join(self.tmp, "td_bad"), arm, 1,
                          TINY_NET + ["dyn.memory_drop_turn_start=1.5"], log=lambda *a: None)
        with self.assertRaisesRegex(ValueError, "for the cache arms"):
            lab_train.run(self.set_dir, os.path.join(self.tmp, "td_bad2"), "residual_sampled", 1,
                          TINY_NET + ["dyn.memory_drop_turn_start=0.7"], log=lambda *a: None)
        # Training hands each target the probability that its own actions call for.
        seen = []
        real = lab_train.cache_memory

        def spy(layer, w, t, pose_dim, drop, gen, **kw):
            seen.append((w.clone(), t.clone(), drop))
            return real(layer, w, t, pose_dim, drop, gen, **kw)

        lab_train.cache_memory = spy
        try:
            path = lab_train.run(self.set_dir, os.path.join(self.tmp, "turndrop_arm"), arm, 4,
                                 TINY_NET + ["dyn.batch=8"], log=lambda *a: None)
        finally:
            lab_train.cache_memory = real
        acts = lab_set.LabSet(self.set_dir).train_actions
        starts = 0
        for w, t, drop in seen:
            self.assertIsInstance(drop, torch.Tensor)
            s = lab_train.turn_starts(acts[w, t - 1], acts[w, t - 2])
            self.assertTrue(torch.equal(drop, torch.where(s, torch.tensor(0.7),
                                                          torch.tensor(0.2))))
            starts += int(s.sum())
        self.assertTrue(0 < starts < sum(len(w) for w, _, _ in seen))   # both kinds occurred
        m, _, _ = export.load_model(path)
        self.assertEqual(m["denoiser"]["memory"]["slots"], 2)
        self.assertEqual(m["training"]["cache_slots"], ["render", "mask"])
        with open(os.path.join(self.tmp, "turndrop_arm", "arm.json")) as f:
            self.assertEqual(json.load(f)["config"]["dyn"]["memory_drop_turn_start"], 0.7)
        # The eval feeds it as the mask arm: render and mask, never dropped.
        layer = lab_cache.CacheLayer(self.set_dir)
        slot = lab_eval.CacheSlot(TorchWorldModel(path, torch.device("cpu")), layer, None, None,
                                  "first")
        self.assertEqual(slot.kinds, ("render", "mask"))


if __name__ == "__main__":
    unittest.main()
