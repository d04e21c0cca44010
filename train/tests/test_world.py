"""train/world.py over libworldloop.so: layout, determinism, batch shapes and thread
independence, snapshots and error messages. Needs the built library (scripts/test.sh builds it)."""
import hashlib
import unittest

import numpy as np

from train import world


class WorldTest(unittest.TestCase):
    def test_action_layout_matches_the_channel_order(self):
        layout = world.action_layout()
        self.assertEqual([c["name"] for c in layout["channels"]], ["move", "strafe", "turn", "light", "spawn"])
        self.assertEqual([c["kind"] for c in layout["channels"]], ["axis"] * 3 + ["event"] * 2)
        self.assertEqual(len(layout["channels"]), world.ACTION_COUNT)
        self.assertEqual(tuple(layout["objects"]), world.OBJECT_KINDS)
        self.assertGreaterEqual(layout["world_version"], 1)

    def _run(self, seed):
        h = hashlib.sha256()
        with world.World(seed, width=64, height=64) as w:
            a = np.zeros(5, np.float32)
            for t in range(100):
                a[:] = [1.0 if t % 40 < 25 else 0.0, 0.0, 0.0 if t % 40 < 25 else 1.0, float(t == 50), float(t == 10)]
                w.step(a)
                h.update(w.frame().tobytes())
                h.update(w.pose().tobytes())
        return h.hexdigest()

    def test_same_seed_same_frames(self):
        self.assertEqual(self._run(4), self._run(4))
        self.assertNotEqual(self._run(4), self._run(5))

    def test_batch_shapes_dtypes_and_thread_independence(self):
        seeds = [10, 11, 12]
        with world.WorldBatch(seeds, width=64, height=48, threads=1) as b1, \
                world.WorldBatch(seeds, width=64, height=48, threads=2) as b2:
            self.assertEqual(b2.threads, 2)
            f1, a1, p1 = b1.generate(20)
            f2, a2, p2 = b2.generate(20)
            self.assertEqual(f1.shape, (3, 20, 48, 64, 3))
            self.assertEqual(f1.dtype, np.uint8)
            self.assertEqual(a1.shape, (3, 20, 5))
            self.assertEqual(a1.dtype, np.float32)
            self.assertEqual(p1.shape, (3, 20, 3))
            np.testing.assert_array_equal(f1, f2)
            np.testing.assert_array_equal(a1, a2)
            np.testing.assert_array_equal(p1, p2)
            # Actions respect the published ranges; frames move.
            self.assertTrue(np.all(a1[..., :3] >= -1) and np.all(a1[..., :3] <= 1))
            self.assertTrue(np.all((a1[..., 3:] == 0) | (a1[..., 3:] == 1)))
            self.assertGreater(np.abs(np.diff(p1[:, :, :2], axis=1)).sum(), 0.5)
            # A world in the batch is the same world stepped alone by its explorer.
            with world.World(11, width=64, height=48) as w:
                ex = world.Explorer(11)
                for t in range(20):
                    np.testing.assert_array_equal(w.frame(), f1[1, t])
                    a = ex.next(w)
                    np.testing.assert_array_equal(a, a1[1, t])
                    w.step(a)
                ex.close()
            # Re-seeding one world restarts it.
            b1.reset(0, 10)
            f3, _, _ = b1.generate(1)
            np.testing.assert_array_equal(f3[0, 0], f1[0, 0])

    def test_training_streams_use_random_action_bursts(self):
        # The training data's explorer holds random actions now and then (DataConfig.p_random),
        # so strafing at full speed shows up; the default policy almost never strafes.
        from train.configs import DataConfig
        d = DataConfig()
        self.assertGreater(d.p_random, 0)
        explore = {"p_random": d.p_random, "random_min": d.random_min,
                   "random_max": d.random_max}
        with world.WorldBatch([3, 4], width=32, height=32, threads=1, explore=explore) as b:
            _, ac, _ = b.generate(600)
        with world.WorldBatch([3, 4], width=32, height=32, threads=1) as b:
            _, ac0, _ = b.generate(600)
        self.assertGreater(int((abs(ac[:, :, 1]) > 0.5).sum()),
                           int((abs(ac0[:, :, 1]) > 0.5).sum()) + 50)
        with self.assertRaisesRegex(world.WorldError, "random_min"):
            world.WorldBatch([1], explore={"random_min": 9, "random_max": 3})

    def test_training_streams_idle(self):
        # The training data's explorer stands with no key held now and then (DataConfig.p_idle),
        # so clips whose frames do not change at all show up; the default policy's stops still turn.
        from train.configs import DataConfig
        d = DataConfig()
        self.assertGreater(d.p_idle, 0)

        def still_clips(explore):
            with world.WorldBatch([3, 4], width=32, height=32, threads=1, explore=explore) as b:
                fr, ac, _ = b.generate(800)
            same = (fr[:, 1:] == fr[:, :-1]).all(axis=(2, 3, 4))
            # 4 context frames and the target all identical: 4 unchanged steps in a row.
            runs = np.lib.stride_tricks.sliding_window_view(same, 4, axis=1).all(-1)
            idle = (ac[:, :, :3] == 0).all(-1)
            return int(runs.sum()), int(idle.sum())

        clips, idle = still_clips({"p_idle": d.p_idle, "idle_min": d.idle_min,
                                   "idle_max": d.idle_max, "p_light": 0, "p_spawn": 0})
        clips0, idle0 = still_clips({"p_light": 0, "p_spawn": 0})
        self.assertGreater(idle, 3 * idle0 + 20)
        self.assertGreater(clips, 3 * clips0 + 10)
        with self.assertRaisesRegex(world.WorldError, "idle_min"):
            world.WorldBatch([1], explore={"idle_min": 9, "idle_max": 3})

    def test_snapshot_restore(self):
        with world.World(3, width=64, height=64) as a, world.World(8, width=64, height=64) as b:
            act = np.array([1, 0.2, 0.3, 0, 0], np.float32)
            for _ in range(30):
                a.step(act)
            self.assertTrue(a.spawn("crate") in (True, False))
            a.set_light(0.5, (1.0, 0.7, 0.5))
            b.restore(a.snapshot())
            for _ in range(30):
                a.step(act)
                b.step(act)
            np.testing.assert_array_equal(a.frame(), b.frame())
            np.testing.assert_array_equal(a.pose(), b.pose())

    def test_bad_inputs_raise_clear_errors(self):
        with self.assertRaisesRegex(world.WorldError, "width"):
            world.World(1, width=0)
        with self.assertRaisesRegex(world.WorldError, "height"):
            world.World(1, height=10**6)
        with self.assertRaisesRegex(ValueError, "unknown world config field"):
            world.World(1, colour=3)
        with world.World(1, width=32, height=32) as w:
            with self.assertRaisesRegex(world.WorldError, "turn"):
                w.step([0, 0, float("nan"), 0, 0])
            with self.assertRaisesRegex(world.WorldError, "expected 5"):
                w.step([0, 0, 0])
            with self.assertRaisesRegex(world.WorldError, "unknown object kind 9"):
                w.spawn(9)
            with self.assertRaisesRegex(world.WorldError, "snapshot"):
                w.restore(b"not a snapshot")
        with self.assertRaisesRegex(world.WorldError, "p_light"):
            world.WorldBatch([1], explore={"p_light": 3.0})
        with self.assertRaises(ValueError):
            world.WorldBatch([])


if __name__ == "__main__":
    unittest.main()
