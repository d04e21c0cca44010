"""The network definitions: shapes, sizes of the default model, the attention layout the engine
relies on, adaptive norms, and that the committed goldens are what the generator produces."""
import math
import os
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

from train import export, goldens, manifest, modules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ModulesTest(unittest.TestCase):
    def test_shapes(self):
        for m in (manifest.tiny_manifest(), manifest.default_manifest()):
            ae, dn = modules.build(m)
            lat, fr = m["latent"], m["frame"]
            K, A = m["denoiser"]["context"], len(m["actions"]["names"])
            x = torch.rand(2, 3, fr["height"], fr["width"]) * 2 - 1
            with torch.no_grad():
                z = ae.encode(x)
                self.assertEqual(tuple(z.shape), (2, lat["channels"], lat["height"], lat["width"]))
                self.assertEqual(tuple(ae.decode(z).shape), tuple(x.shape))
                out = dn(z, torch.zeros(2), torch.stack([z] * K, 1), torch.zeros(2, K, A), torch.zeros(2))
                self.assertEqual(out.shape, z.shape)

    def test_default_sizes(self):
        ae, dn = modules.build(manifest.default_manifest())
        # DESIGN.md: decoder about 0.5-2 M params, denoiser about 10 M (ours: 0.4998 M, 7.8 M).
        self.assertTrue(0.45e6 <= modules.count_params(ae.decoder) <= 2e6)
        self.assertTrue(5e6 <= modules.count_params(dn) <= 12e6)

    def test_attention_layout(self):
        # qkv channels: [q | k | v], head h owns channels [h*d, (h+1)*d) of each (ops.h contract).
        torch.manual_seed(1)
        att = modules.Attention(8, 2, 4)
        x = torch.randn(1, 8, 3, 3)
        with torch.no_grad():
            qkv = att.qkv(att.norm(x)).reshape(1, 24, 9)
            q, k, v = qkv[0, :8], qkv[0, 8:16], qkv[0, 16:]
            y = torch.zeros(8, 9)
            for h in range(2):
                sl = slice(4 * h, 4 * h + 4)
                p = torch.softmax(q[sl].T @ k[sl] / math.sqrt(4), dim=-1)  # [T, T]
                y[sl] = v[sl] @ p.T
            want = x + att.proj(y.reshape(1, 8, 3, 3))
            torch.testing.assert_close(att(x), want, rtol=1e-5, atol=1e-5)

    def test_ada_group_norm_is_group_norm_at_zero(self):
        n = modules.AdaGroupNorm(8, 5, 4)
        with torch.no_grad():
            n.linear.weight.zero_()
            n.linear.bias.zero_()
        x = torch.randn(2, 8, 4, 4)
        torch.testing.assert_close(n(x, torch.randn(2, 5)), F.group_norm(x, 4, eps=1e-5))

    def test_manifest_check(self):
        m = manifest.default_manifest()
        manifest.check(m)
        bad = manifest.default_manifest()
        bad["denoiser"]["heads"] = 5
        with self.assertRaisesRegex(ValueError, "heads"):
            manifest.check(bad)
        bad = manifest.default_manifest()
        bad["autoencoder"]["groups"] = 7
        with self.assertRaisesRegex(ValueError, "groups"):
            manifest.check(bad)

    def test_goldens_regenerate(self):
        fixtures = os.path.join(ROOT, "native", "tests", "fixtures")
        with tempfile.TemporaryDirectory() as d:
            names = goldens.write_all(d)
            self.assertEqual(sorted(names), sorted(os.listdir(fixtures)))
            for name in names:
                new, meta_new = export.read_safetensors(os.path.join(d, name))
                old, meta_old = export.read_safetensors(os.path.join(fixtures, name))
                self.assertEqual(meta_new, meta_old, name)
                self.assertEqual(sorted(new), sorted(old), name)
                for k in new:
                    # Weights and inputs come from seeded RNGs; outputs may differ in the last bits
                    # between PyTorch versions.
                    np.testing.assert_allclose(new[k].astype(np.float64), old[k].astype(np.float64),
                                               rtol=1e-5, atol=1e-5, err_msg=name + ":" + k)


if __name__ == "__main__":
    unittest.main()
