"""Depth and camera of the ground-truth world through train/world.py (libworldloop.so): the
depth view follows the frame, the camera is the pinhole docs/world.md defines (checked by
projecting every pixel's unprojected point back to its own centre, in numpy, independently of
the C++ ops), and the batch generator's depths equal the world's."""
import unittest

import numpy as np

from train import world


def unproject(cam, depth):
    """World points of every pixel centre at its depth (H, W, 3); NaN where depth is not finite."""
    h, w = depth.shape
    i, j = np.meshgrid(np.arange(w, dtype=np.float64) + 0.5, np.arange(h, dtype=np.float64) + 0.5)
    z = np.where(np.isfinite(depth), depth, np.nan).astype(np.float64)
    pc = np.stack([(i - cam["cx"]) / cam["fx"] * z, (j - cam["cy"]) / cam["fy"] * z, z], -1)
    m = cam["world_to_camera"].astype(np.float64)
    return (pc - m[:, 3]) @ m[:, :3]  # R^T (p - t), row vectors


def project(cam, pts):
    m = cam["world_to_camera"].astype(np.float64)
    pc = pts @ m[:, :3].T + m[:, 3]
    return cam["cx"] + cam["fx"] * pc[..., 0] / pc[..., 2], cam["cy"] + cam["fy"] * pc[..., 1] / pc[..., 2], pc[..., 2]


class WorldDepthTest(unittest.TestCase):
    def test_camera_is_published_and_depth_follows_the_frame(self):
        with world.World(3, width=96, height=64) as w:
            cam = w.camera()
            self.assertEqual((cam["width"], cam["height"], cam["cx"], cam["cy"], cam["eye_height"]), (96, 64, 48.0, 32.0, 0.5))
            self.assertAlmostEqual(cam["fx"], 48.0 / np.tan(np.radians(33.0)), places=3)
            self.assertEqual(cam["fx"], cam["fy"])
            np.testing.assert_allclose([cam["x"], cam["y"], cam["yaw"]], w.pose(), rtol=0, atol=0)
            d = w.depth()
            self.assertEqual(d.shape, (64, 96))
            self.assertEqual(d.dtype, np.float32)
            self.assertFalse(d.flags.writeable)
            before = d.copy()
            w.step([1, 0, 0.5, 0, 0])
            self.assertFalse(np.array_equal(before, w.depth()))  # the view is live
            self.assertTrue(np.all(w.depth() > 0))

    def test_every_pixel_projects_back_to_its_centre(self):
        with world.World(11, width=80, height=60) as w:
            for t in range(60):
                w.step([1.0 if t % 20 < 12 else 0.0, 0.0, 0.0 if t % 20 < 12 else 1.0, 0.0, 0.0])
            cam, depth = w.camera(), w.depth().copy()
            pts = unproject(cam, depth)
            u, v, z = project(cam, pts)
            ok = np.isfinite(depth)
            self.assertGreater(ok.mean(), 0.5)
            i, j = np.meshgrid(np.arange(80) + 0.5, np.arange(60) + 0.5)
            # The published [R | t] is float32 (R orthogonal to ~1e-7): centres come back within
            # 1e-3 px, far inside the pixel.
            np.testing.assert_allclose(u[ok], i[ok], atol=1e-3)
            np.testing.assert_allclose(v[ok], j[ok], atol=1e-3)
            np.testing.assert_allclose(z[ok], depth[ok], rtol=1e-5)
            # Floor pixels lie at height 0, ceiling pixels at height 1, and everything in between.
            self.assertGreaterEqual(np.nanmin(pts[..., 2]), -1e-4)
            self.assertLessEqual(np.nanmax(pts[..., 2]), 1 + 1e-4)

    def test_batch_depths_equal_the_world(self):
        with world.WorldBatch([5, 6], width=32, height=32, threads=2) as b:
            frames, actions, poses, depths = b.generate(8, depth=True)
            self.assertEqual(depths.shape, (2, 8, 32, 32))
            self.assertEqual(depths.dtype, np.float32)
        with world.World(6, width=32, height=32) as w:
            for t in range(8):
                np.testing.assert_array_equal(w.depth(), depths[1, t])
                np.testing.assert_array_equal(w.frame(), frames[1, t])
                w.step(actions[1, t])
        with world.WorldBatch([5], width=32, height=32) as b:
            self.assertEqual(len(b.generate(2)), 3)
            with self.assertRaises(ValueError):
                b.generate(2, out=(np.empty((1, 2, 32, 32, 3), np.uint8),), depth=True)


if __name__ == "__main__":
    unittest.main()
