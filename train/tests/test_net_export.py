"""The hand-written .safetensors writer/reader and the model export round trip."""
import json
import os
import struct
import tempfile
import unittest

import numpy as np
import torch

from train import export, manifest, modules


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip_every_dtype(self):
        rng = np.random.default_rng(0)
        a = rng.standard_normal((3, 5)).astype(np.float32)
        tensors = [("a32", a, "F32"), ("a16", a, "F16"), ("abf", a, "BF16"),
                   ("u8", np.arange(7, dtype=np.uint8), "U8"), ("i64", np.array([2, -3]), "I64"),
                   ("scalar", np.float32(1.5), "F32")]
        export.write_safetensors(self.path, tensors, {"k": "v"})
        got, meta = export.read_safetensors(self.path)
        self.assertEqual(meta, {"k": "v"})
        np.testing.assert_array_equal(got["a32"], a)
        np.testing.assert_array_equal(got["a16"], a.astype(np.float16).astype(np.float32))
        np.testing.assert_allclose(got["abf"], a, rtol=2 ** -8)
        np.testing.assert_array_equal(got["abf"], export.round_to_dtype(torch.from_numpy(a), "BF16").numpy())
        np.testing.assert_array_equal(got["u8"], np.arange(7))
        np.testing.assert_array_equal(got["i64"], [2, -3])
        self.assertEqual(got["scalar"].shape, ())

    def test_layout(self):
        export.write_safetensors(self.path, [("x", np.ones(3, np.float32), "F32")], {"a": "b"})
        with open(self.path, "rb") as f:
            data = f.read()
        (n,) = struct.unpack("<Q", data[:8])
        self.assertEqual(n % 8, 0)
        header = json.loads(data[8:8 + n])
        self.assertEqual(header["x"], {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]})
        self.assertEqual(header["__metadata__"], {"a": "b"})
        self.assertEqual(len(data), 8 + n + 12)

    def test_bf16_rounds_to_nearest_even(self):
        # 1 + 2^-8 is exactly half way between two bf16 values: ties go to the even mantissa (1.0);
        # 1 + 3*2^-8 ties up to 1 + 2^-6.
        x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, np.nan, -np.inf], np.float32)
        r = export.round_to_dtype(torch.from_numpy(x), "BF16").numpy()
        self.assertEqual(r[0], 1.0)
        self.assertEqual(r[1], 1 + 2 ** -6)
        self.assertTrue(np.isnan(r[2]))
        self.assertEqual(r[3], -np.inf)

    def test_reader_rejects_bad_offsets(self):
        export.write_safetensors(self.path, [("x", np.ones(4, np.float32), "F32")])
        with open(self.path, "rb") as f:
            data = bytearray(f.read())
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        header["x"]["data_offsets"] = [0, 64]
        h = json.dumps(header).encode()
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + bytes(data[8 + n:]))
        with self.assertRaisesRegex(ValueError, "bad data_offsets"):
            export.read_safetensors(self.path)

    def test_model_round_trip(self):
        m = manifest.tiny_manifest()
        torch.manual_seed(3)
        ae, dn = modules.build(m)
        export.export_model(self.path, m, ae, dn, dtype="F32")
        m2, ae2, dn2 = export.load_model(self.path)
        self.assertEqual(m2, m)
        names = [k for k, _ in export.read_safetensors(self.path)[0].items()]
        self.assertIn("denoiser.cond.noise_fourier.freqs", names)  # buffers travel too
        self.assertTrue(all(k.startswith(("autoencoder.", "denoiser.")) for k in names))
        z = torch.randn(1, 4, 4, 4)
        with torch.no_grad():
            self.assertTrue(torch.equal(ae.decode(z), ae2.decode(z)))
            args = (torch.randn(1, 4, 4, 4), torch.zeros(1), torch.randn(1, 2, 4, 4, 4),
                    torch.zeros(1, 2, 3), torch.zeros(1))
            self.assertTrue(torch.equal(dn(*args), dn2(*args)))

    def test_export_rejects_inconsistent_manifest(self):
        m = manifest.tiny_manifest()
        ae, dn = modules.build(m)
        m["frame"]["height"] = 48
        with self.assertRaisesRegex(ValueError, "frame"):
            export.export_model(self.path, m, ae, dn)

    def test_manifest_sampler_within_the_engines_limits(self):
        # The engine refuses these; the Python side now says so before a file is written.
        for steps, sigma, field in ((0, 0.05, "sampler.steps"), (9, 0.05, "sampler.steps"),
                                    (2, float("nan"), "sampler.context_noise_sigma"),
                                    (2, -0.1, "sampler.context_noise_sigma"),
                                    (2, 2e3, "sampler.context_noise_sigma")):
            m = manifest.tiny_manifest()
            m["sampler"] = {"steps": steps, "context_noise_sigma": sigma}
            with self.assertRaisesRegex(ValueError, field):
                manifest.check(m)
        m = manifest.tiny_manifest()
        m["sampler"] = {"steps": 8, "context_noise_sigma": 0.0}
        manifest.check(m)


if __name__ == "__main__":
    unittest.main()
