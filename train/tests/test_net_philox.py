"""Philox-4x32-10 noise: known-answer vectors, the fixture shared with the C++ test, statistics."""
import os
import unittest

import numpy as np

from train import export, philox

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PhiloxTest(unittest.TestCase):
    def test_known_answers(self):
        cases = [
            ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
            ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
            ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
             [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
        ]
        for ctr, key, want in cases:
            got = philox.philox4x32_10(np.array(ctr, np.uint32), np.array(key, np.uint32))
            self.assertEqual([int(x) for x in got], want)

    def test_fixture_matches(self):
        # The same file the C++ test checks bit-for-bit: both sides agree through it.
        t, _ = export.read_safetensors(os.path.join(ROOT, "native/tests/fixtures/golden_philox.safetensors"))
        for i, (seed, frame, step) in enumerate(t["input_keys"].tolist()):
            np.testing.assert_array_equal(philox.raw_blocks(seed, frame, step, 4), t["expected_words"][i])
            n = t["expected_normals"].shape[1]
            np.testing.assert_array_equal(philox.normals(seed, frame, step, n), t["expected_normals"][i])

    def test_normals_are_standard_and_keyed(self):
        a = philox.normals(42, 7, 0, 200000)
        self.assertEqual(a.dtype, np.float32)
        self.assertLess(abs(float(a.mean())), 0.01)
        self.assertLess(abs(float(a.std()) - 1.0), 0.01)
        self.assertTrue(np.all(np.isfinite(a)))
        # Prefix property: fewer numbers are the first numbers of more.
        np.testing.assert_array_equal(philox.normals(42, 7, 0, 10), a[:10])
        for other in [(43, 7, 0), (42, 8, 0), (42, 7, 1)]:
            self.assertFalse(np.array_equal(philox.normals(*other, 16), a[:16]), other)


if __name__ == "__main__":
    unittest.main()
