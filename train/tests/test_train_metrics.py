"""The measurement functions eval and the losses rely on, checked on images with known answers."""
import unittest

import torch
import torch.nn.functional as F

from train import metrics
from train.eval import zoom_factor


def textured(n=2, h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, h // 4, w // 4, generator=g) * 2 - 1
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


class MetricsTest(unittest.TestCase):
    def test_psnr_identical_is_capped_and_noise_lowers_it(self):
        x = textured()
        self.assertGreater(float(metrics.psnr(x, x).min()), 90)
        noisy = (x + 0.1 * torch.randn_like(x)).clamp(-1, 1)
        p = float(metrics.psnr(noisy, x).mean())
        self.assertGreater(p, 20)
        self.assertLess(p, 30)

    def test_ssim_is_one_for_identical_and_lower_for_blur(self):
        x = textured(h=64, w=64)
        self.assertAlmostEqual(float(metrics.ssim(x, x).mean()), 1.0, places=4)
        blur = F.avg_pool2d(x, 5, 1, 2)
        self.assertLess(float(metrics.ssim(blur, x).mean()), 0.99)

    def test_sharpness_drops_under_blur(self):
        x = textured()
        blur = F.avg_pool2d(x, 5, 1, 2)
        self.assertLess(float(metrics.sharpness(blur).mean()),
                        0.8 * float(metrics.sharpness(x).mean()))

    def test_phase_shift_recovers_known_translation(self):
        x = textured(n=3, h=64, w=64, seed=1)
        for dx, dy in ((5, 0), (-7, 2), (0, -3)):
            y = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            ex, ey, _ = metrics.phase_shift(x, y)
            self.assertTrue(torch.allclose(ex, torch.full_like(ex, float(dx)), atol=0.6), (dx, ex))
            self.assertTrue(torch.allclose(ey, torch.full_like(ey, float(dy)), atol=0.6), (dy, ey))

    def test_zoom_factor_recovers_known_zoom(self):
        x = textured(n=2, h=64, w=64, seed=2)
        for s in (1.05, 0.95):
            theta = torch.tensor([[1 / s, 0, 0], [0, 1 / s, 0]]).expand(2, 2, 3)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
            est = zoom_factor(x, y)
            self.assertTrue(torch.allclose(est, torch.full_like(est, s), atol=0.011), (s, est))

    def test_edge_l1_zero_for_identical(self):
        x = textured()
        self.assertEqual(float(metrics.edge_l1(x, x)), 0.0)
        self.assertGreater(float(metrics.edge_l1(F.avg_pool2d(x, 3, 1, 1), x)), 0.0)


if __name__ == "__main__":
    unittest.main()
