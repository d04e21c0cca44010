"""Memory-view sampling for training (train/memory_data.py) and a smoke `train all` with memory
slots whose exported model carries denoiser.memory."""
import math
import os
import subprocess
import sys
import tempfile
import unittest

import torch

from train import export, memory_data, modules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def posed_pool(seq_len=20):
    """One stored sequence whose camera (always facing +x) moves out along +x for half the
    steps, then back: late frames revisit the places of early ones."""
    pool = memory_data.PosedClipPool(2, seq_len, (2, 2, 2), 3, torch.device("cpu"), seed=1)
    z = torch.arange(seq_len, dtype=torch.float32).view(1, seq_len, 1, 1, 1).expand(1, seq_len, 2, 2, 2)
    a = torch.zeros(1, seq_len, 3)
    p = torch.zeros(1, seq_len, 3)
    half = seq_len // 2
    for t in range(seq_len):
        x = 0.3 * t if t < half else 0.3 * (seq_len - 1 - t)
        p[0, t] = torch.tensor([x, 0.0, 0.0])
    pool.add(z.clone(), a, p)
    return pool


class MemoryDataTest(unittest.TestCase):
    def test_overlap_matches_the_runtime_formula(self):
        a = torch.tensor([0.0, 0.0, 0.0])
        self.assertAlmostEqual(float(memory_data.view_overlap(a, a, 66, 7)), 1.0)
        b = torch.tensor([3.5, 0.0, math.radians(33)])
        self.assertAlmostEqual(float(memory_data.view_overlap(a, b, 66, 7)), 0.5 * 0.5, places=5)
        c = torch.tensor([0.0, 0.0, math.pi])  # facing away
        self.assertEqual(float(memory_data.view_overlap(a, c, 66, 7)), 0.0)
        # Angles wrap: 359 degrees is 1 degree away.
        d = torch.tensor([0.0, 0.0, math.radians(359)])
        self.assertGreater(float(memory_data.view_overlap(a, d, 66, 7)), 0.9)

    def test_views_come_from_before_the_clip_and_overlap_the_target(self):
        pool = posed_pool()
        s = torch.tensor([0, 0])
        t0 = torch.tensor([8, 14])
        lat, feats, mask = pool.memory(s, t0, t0 + 3, slots=3, pose_dim=5, min_gap=2, drop=0.0,
                                       drop_all=0.0, fov_deg=66, range_cells=7)
        self.assertEqual(tuple(lat.shape), (2, 3, 2, 2, 2))
        self.assertEqual(tuple(feats.shape), (2, 3, 5))
        self.assertTrue(bool((mask == 1).all()))
        # Latent value = its step index: every chosen view is at least min_gap before the clip.
        steps = lat[:, :, 0, 0, 0]
        self.assertTrue(bool((steps[0] <= 6).all()) and bool((steps[1] <= 12).all()))
        # Ages are target step minus view step (/100), dx the distance along +x (yaw 0).
        self.assertTrue(torch.allclose(feats[..., 4], ((t0 + 3)[:, None] - steps) / 100.0))
        xf = lambda t: torch.where(t < 10, 0.3 * t, 0.3 * (19 - t))  # noqa: E731 (posed_pool's walk)
        target_x = xf((t0 + 3).float())
        view_x = xf(steps)
        self.assertTrue(torch.allclose(feats[..., 0], view_x - target_x[:, None], atol=1e-5))

    def test_no_candidates_and_drops_give_absent_slots(self):
        pool = posed_pool()
        s = torch.tensor([0])
        t0 = torch.tensor([1])  # nothing min_gap before the clip
        _, _, mask = pool.memory(s, t0, t0 + 2, 2, 5, 2, 0.0, 0.0, 66, 7)
        self.assertEqual(float(mask.sum()), 0.0)
        t0 = torch.tensor([12])
        _, _, mask = pool.memory(s, t0, t0 + 2, 2, 5, 2, 0.0, 1.0, 66, 7)  # drop_all = 1
        self.assertEqual(float(mask.sum()), 0.0)
        _, _, mask = pool.memory(s, t0, t0 + 2, 2, 5, 2, 1.0, 0.0, 66, 7)  # every slot dropped
        self.assertEqual(float(mask.sum()), 0.0)

    def test_eval_view_memory_retrieves_old_overlapping_views(self):
        from types import SimpleNamespace
        from train import eval as ev
        K = 4
        man = {"denoiser": {"memory": {"slots": 2, "pose_dim": 5}}}
        fake = SimpleNamespace(manifest=man, device=torch.device("cpu"), K=K)
        # Frames 0..19 facing +x; frames 5 and 6 face away (-x); frame 12 is at the target's pose.
        poses = torch.zeros(1, 20, 3)
        poses[0, :, 0] = torch.arange(20) * 0.1
        poses[0, 5:7, 2] = math.pi
        poses[0, 12, 0] = poses[0, 19, 0]
        mem = ev.ViewMemory(fake, poses)
        for j in range(20):
            mem.add(torch.full((1, 2, 2, 2), float(j)), j)
        lat, feats, mask = mem.retrieve(19)
        # Only frames <= 19 - (K + 4) = 11 qualify; the best overlap is the nearest: 11, then 10.
        self.assertEqual(mask.tolist(), [[1.0, 1.0]])
        self.assertEqual([float(lat[0, i, 0, 0, 0]) for i in range(2)], [11.0, 10.0])
        self.assertAlmostEqual(float(feats[0, 0, 4]), 8 / modules.AGE_SCALE, places=6)
        lat, feats, mask = mem.retrieve(13)  # candidates 0..5; 5 faces away
        self.assertEqual([float(lat[0, i, 0, 0, 0]) for i in range(2)], [4.0, 3.0])
        lat, feats, mask = mem.retrieve(7)   # nothing old enough yet
        self.assertEqual(mask.tolist(), [[0.0, 0.0]])

    def test_pool_without_poses_is_an_error(self):
        pool = memory_data.PosedClipPool(2, 4, (1, 1, 1), 1, torch.device("cpu"))
        with self.assertRaisesRegex(ValueError, "poses"):
            pool.add(torch.zeros(1, 4, 1, 1, 1), torch.zeros(1, 4, 1))


class MemoryTrainingSmokeTest(unittest.TestCase):
    def test_train_all_with_memory_exports_a_memory_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            out, model = os.path.join(tmp, "run"), os.path.join(tmp, "m.safetensors")
            env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
            p = subprocess.run(
                [sys.executable, "-m", "train", "all", "--config", "smoke", "--ae-steps", "2",
                 "--steps", "2", "--out", out, "--model", model, "--dtype", "F32",
                 "--set", "dyn.memory_slots=2", "--set", "data.chunk=16",
                 # memory-reliant samples on, through the CLI (a list-valued override too)
                 "--set", "dyn.memory_ctx_noise_prob=0.5",
                 "--set", "dyn.memory_ctx_noise_range=2,4"],
                cwd=ROOT, env=env, timeout=900, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 0, p.stdout[-3000:])
            self.assertRegex(p.stdout, r"\[dyn\] step 2 loss [0-9.]+ .*memory_present [0-9.]+")
            m, _, dn = export.load_model(model)
            self.assertEqual(m["denoiser"]["memory"], {"slots": 2, "pose_dim": 5})
            self.assertEqual(dn.memory_slots, 2)
            # Eval rollouts feed the memory model retrieved views when poses are known.
            from train import eval as ev
            tm = ev.TorchWorldModel(model, torch.device("cpu"))
            self.assertEqual(tm.memory_slots, 2)
            K, T = tm.K, 14
            g = torch.Generator().manual_seed(0)
            ctx = torch.randn(1, K, *dn.conv_out.weight.shape[:1], 16, 16, generator=g)
            acts = torch.zeros(1, K - 1 + T, len(m["actions"]["names"]))
            poses = torch.zeros(1, K + T, 3)  # standing still: every older view overlaps
            with_mem = tm.rollout(ctx, acts, 1, torch.Generator().manual_seed(1), poses)
            without = tm.rollout(ctx, acts, 1, torch.Generator().manual_seed(1))
            # Views must be K + 4 frames older than the target (frame K + t): none before t = 4.
            self.assertTrue(torch.equal(with_mem[:, :4], without[:, :4]))
            self.assertFalse(torch.equal(with_mem, without))
            # The eval's memory_use: every level measured with views present, finite errors.
            from train import configs
            mu = ev.memory_use(tm, configs.get_config("smoke"), [1 << 40, (1 << 40) + 1],
                               targets_at=(12, 20))
            self.assertEqual(sorted(mu["levels"]), ["ctx_noise_1", "ctx_noise_2", "ctx_noise_8",
                                                    "inference"])
            for v in mu["levels"].values():
                self.assertGreater(v["slots_present"], 0)
                self.assertTrue(math.isfinite(v["mse_without"]) and math.isfinite(v["mse_with"]))
            # A chunk too short for any earlier view is refused with the reason.
            p = subprocess.run(
                [sys.executable, "-m", "train", "dyn", "--config", "smoke", "--steps", "1",
                 "--out", out, "--set", "dyn.memory_slots=2", "--set", "data.chunk=8"],
                cwd=ROOT, env=env, timeout=900, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("data.chunk", p.stdout)
            # A malformed memory-reliant range is refused before any training, naming the field.
            p = subprocess.run(
                [sys.executable, "-m", "train", "dyn", "--config", "smoke", "--steps", "1",
                 "--out", out, "--set", "dyn.memory_ctx_noise_range=3"],
                cwd=ROOT, env=env, timeout=900, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 2, p.stdout[-2000:])
            self.assertIn("dyn.memory_ctx_noise_range", p.stdout)


if __name__ == "__main__":
    unittest.main()
