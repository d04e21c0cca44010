"""EDM preconditioning, the Karras schedule and the Euler sampler."""
import math
import unittest

import torch

from train import edm, manifest, modules


class EdmTest(unittest.TestCase):
    def test_karras_schedule(self):
        s = edm.karras_sigmas(4, 0.002, 5.0, 7.0)
        self.assertEqual(len(s), 5)
        self.assertAlmostEqual(s[0], 5.0, places=12)
        self.assertAlmostEqual(s[3], 0.002, places=12)
        self.assertEqual(s[4], 0.0)
        self.assertTrue(all(a > b for a, b in zip(s, s[1:])))
        one = edm.karras_sigmas(1, 0.002, 5.0, 7.0)
        self.assertEqual(len(one), 2)
        self.assertAlmostEqual(one[0], 5.0, places=12)
        self.assertEqual(one[1], 0.0)
        with self.assertRaises(ValueError):
            edm.karras_sigmas(0, 0.002, 5.0, 7.0)

    def test_preconditioning(self):
        c_skip, c_out, c_in, c_noise = edm.precondition([0.5, 2.0], 0.5)
        self.assertAlmostEqual(float(c_skip[0]), 0.5, places=6)
        self.assertAlmostEqual(float(c_out[0]), 0.5 / math.sqrt(2), places=6)
        self.assertAlmostEqual(float(c_in[1]), 1 / math.sqrt(4.25), places=6)
        self.assertAlmostEqual(float(c_noise[1]), math.log(2.0) / 4, places=6)
        # c_in scales the noisy input to unit variance: c_in * sqrt(s^2 + sd^2) = 1.
        self.assertAlmostEqual(float(c_in[0]) * math.sqrt(0.5), 1.0, places=6)

    def test_last_euler_step_returns_the_denoised_estimate(self):
        a, b = edm.euler_coefficients(0.3, 0.0)
        self.assertEqual((a, b), (0.0, 1.0))

    def test_sampler_shapes_and_determinism(self):
        m = manifest.tiny_manifest()
        torch.manual_seed(0)
        _, dn = modules.build(m)
        dn.eval()
        ctx = torch.randn(3, 2, 4, 4, 4)
        act = torch.rand(3, 2, 3) * 2 - 1
        noise = torch.randn(3, 4, 4, 4)
        for steps in (1, 2, 4):
            z = edm.sample(dn, ctx, act, noise, steps, m["edm"])
            self.assertEqual(tuple(z.shape), (3, 4, 4, 4))
            self.assertTrue(torch.isfinite(z).all())
            self.assertTrue(torch.equal(z, edm.sample(dn, ctx, act, noise, steps, m["edm"])))
        # Worlds are independent: world 1 alone = world 1 in the batch.
        z = edm.sample(dn, ctx, act, noise, 2, m["edm"])
        z1 = edm.sample(dn, ctx[1:2], act[1:2], noise[1:2], 2, m["edm"])
        torch.testing.assert_close(z[1:2], z1, rtol=1e-5, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
