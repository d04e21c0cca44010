"""The on-disk episode format (save, load, validation, channel remapping), the sample pools, config
overrides and checkpoints — none of which need the ground-truth world library."""
import os
import tempfile
import unittest

import numpy as np
import torch

from train import checkpoint, configs, data

NAMES = ["move", "strafe", "turn", "light", "spawn"]


def episode(T=20, A=5, seed=0):
    r = np.random.default_rng(seed)
    return (r.integers(0, 256, (T, 128, 128, 3), dtype=np.uint8),
            r.uniform(-1, 1, (T, A)).astype(np.float32))


class EpisodeFormatTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_roundtrip_and_channel_remap(self):
        fr, ac = episode()
        p = os.path.join(self.dir, "a.npz")
        data.save_episode(p, fr, ac[:, [2, 0]], ["turn", "move"], meta={"note": "x"})
        ep = data.load_episode(p, NAMES, (128, 128))
        np.testing.assert_array_equal(ep.frames, fr)
        np.testing.assert_array_equal(ep.actions[:, 0], ac[:, 0])   # move
        np.testing.assert_array_equal(ep.actions[:, 2], ac[:, 2])   # turn
        np.testing.assert_array_equal(ep.actions[:, 1], 0)          # strafe absent -> 0
        self.assertEqual(ep.meta["note"], "x")
        self.assertEqual(ep.meta["episode_version"], data.EPISODE_VERSION)

    def _raw(self, name, **arrays):
        p = os.path.join(self.dir, name)
        np.savez(p, **arrays)
        return p

    def assertRejects(self, path, *fragments):
        with self.assertRaises(data.EpisodeError) as cm:
            data.load_episode(path, NAMES, (128, 128))
        msg = str(cm.exception)
        self.assertIn(os.path.basename(path), msg)
        for f in fragments:
            self.assertIn(f, msg)

    def test_validation_names_file_and_field(self):
        fr, ac = episode()
        names = np.array(NAMES)
        self.assertRejects(self._raw("f32.npz", frames=fr.astype(np.float32), actions=ac,
                                     action_names=names), "'frames'")
        self.assertRejects(self._raw("len.npz", frames=fr, actions=ac[:-1], action_names=names),
                           "'actions'")
        bad = ac.copy()
        bad[3, 1] = np.nan
        self.assertRejects(self._raw("nan.npz", frames=fr, actions=bad, action_names=names),
                           "frame 3", "channel 1")
        self.assertRejects(self._raw("size.npz", frames=fr[:, :64], actions=ac,
                                     action_names=names), "model needs 128x128")
        self.assertRejects(self._raw("chan.npz", frames=fr, actions=ac[:, :1],
                                     action_names=np.array(["jump"])), "jump")
        self.assertRejects(self._raw("missing.npz", frames=fr), "'actions'")
        p = os.path.join(self.dir, "garbage.npz")
        with open(p, "wb") as f:
            f.write(b"not a zip file at all")
        self.assertRejects(p, "not a readable")
        # Object arrays would need pickle: refused, never unpickled.
        self.assertRejects(self._raw("obj.npz", frames=fr, actions=ac,
                                     action_names=np.array(NAMES, dtype=object)))

    def test_episode_source_chunks(self):
        for i in range(2):
            fr, ac = episode(T=12, seed=i)
            data.save_episode(os.path.join(self.dir, f"e{i}.npz"), fr, ac, NAMES)
        src = data.EpisodeSource(self.dir, NAMES, (128, 128), chunk=8, worlds=3)
        f, a = src.get()
        self.assertEqual(f.shape, (3, 8, 128, 128, 3))
        self.assertEqual(a.shape, (3, 8, 5))
        with self.assertRaises(data.EpisodeError):
            data.EpisodeSource(self.dir, NAMES, (128, 128), chunk=64, worlds=1)


class PoolTest(unittest.TestCase):
    def test_frame_pool_wraps_and_samples_in_range(self):
        pool = data.FramePool(10, 8, 8, torch.device("cpu"))
        pool.add(np.full((2, 4, 8, 8, 3), 255, np.uint8))
        self.assertEqual(pool.size, 8)
        pool.add(np.zeros((1, 6, 8, 8, 3), np.uint8))
        self.assertEqual(pool.size, 10)
        self.assertEqual(int((pool.buf.flatten(1).float().mean(1) == 255).sum()), 4)
        x = pool.sample(16)
        self.assertEqual(tuple(x.shape), (16, 3, 8, 8))
        self.assertTrue(bool((x >= -1).all() and (x <= 1).all()))

    def test_clip_pool_windows_are_consecutive(self):
        pool = data.ClipPool(4, 10, (1, 1, 1), 2, torch.device("cpu"))
        z = torch.arange(30, dtype=torch.float32).view(3, 10, 1, 1, 1)
        a = torch.arange(60, dtype=torch.float32).view(3, 10, 2)
        pool.add(z, a)
        zz, aa = pool.sample(32, 6)
        d = zz.view(32, 6)
        self.assertTrue(bool((d[:, 1:] - d[:, :-1] == 1).all()))
        # Action t belongs to latent t of the same sequence.
        self.assertTrue(bool((aa[..., 0] == 2 * d).all()))
        with self.assertRaises(ValueError):
            pool.sample(1, 11)


class ConfigAndCheckpointTest(unittest.TestCase):
    def test_override_parses_types_and_names_bad_fields(self):
        c = configs.override(configs.get_config("smoke"), "dyn.lr=0.001")
        self.assertEqual(c.dyn.lr, 0.001)
        c = configs.override(c, "dyn.attention_levels=1,2")
        self.assertEqual(c.dyn.attention_levels, [1, 2])
        for bad, frag in (("dyn.nope=1", "nope"), ("x.lr=1", "x"), ("dyn.lr=abc", "dyn.lr"),
                          ("dyn.lr", "section.field=value")):
            with self.assertRaises(ValueError) as cm:
                configs.override(c, bad)
            self.assertIn(frag, str(cm.exception))
        with self.assertRaises(ValueError):
            configs.get_config("huge")

    def test_manifests_of_all_configs_are_consistent(self):
        layout = {"channels": [{"name": n, "min": -1, "max": 1, "kind": "axis"} for n in NAMES]}
        for name in configs.CONFIGS:
            m = configs.manifest_for(configs.get_config(name), layout, latent_scale=0.7)
            self.assertEqual(m["latent"]["height"], 16)
            self.assertEqual(m["actions"]["names"], NAMES)
            self.assertEqual(m["latent"]["scale"], 0.7)

    def test_config_roundtrip(self):
        c = configs.get_config("gpu")
        self.assertEqual(configs.from_dict(c.to_dict()), c)

    def test_checkpoint_latest_and_fallback_from_damaged_file(self):
        with tempfile.TemporaryDirectory() as d:
            for s in (1, 2, 3):
                checkpoint.save(d, "ae", {"step": s, "model": {"w": torch.ones(1) * s}}, keep=2)
            files = sorted(os.listdir(os.path.join(d, "ckpt")))
            self.assertEqual(files, ["ae-00000002.pt", "ae-00000003.pt", "ae-latest.pt"])
            with open(checkpoint.latest_path(d, "ae"), "wb") as f:
                f.write(b"torn")
            p = checkpoint.find_latest(d, "ae")
            self.assertTrue(p.endswith("ae-00000003.pt"))
            with self.assertRaises(ValueError) as cm:
                checkpoint.load(checkpoint.latest_path(d, "ae"))
            self.assertIn("not a readable checkpoint", str(cm.exception))
            self.assertIsNone(checkpoint.find_latest(d, "dyn"))


if __name__ == "__main__":
    unittest.main()
