"""Memory conditioning of the denoiser (docs/memory-model.md): backward compatibility with
memory-less manifests and model files, mask semantics, slot symmetry, and the pose features."""
import math
import os
import tempfile
import unittest

import torch

from train import edm, export, manifest, modules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def inputs(m, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    C, h, w = m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]
    K, A = m["denoiser"]["context"], len(m["actions"]["names"])
    M, P = manifest.memory_slots(m)
    return dict(
        x=torch.randn(n, C, h, w, generator=g), sigma=torch.rand(n, generator=g) * 3 + 0.1,
        ctx=torch.randn(n, K, C, h, w, generator=g), act=torch.rand(n, K, A, generator=g) * 2 - 1,
        mem=torch.randn(n, M, C, h, w, generator=g), pose=torch.randn(n, M, P, generator=g))


def denoise(dn, m, d, memory=None):
    n = d["x"].shape[0]
    return edm.denoise(dn, d["x"], d["sigma"].double(), d["ctx"], d["act"], torch.zeros(n),
                       m["edm"]["sigma_data"], memory)


class MemoryTest(unittest.TestCase):
    def test_memoryless_manifests_build_the_same_network(self):
        for m in (manifest.tiny_manifest(), manifest.default_manifest()):
            torch.manual_seed(0)
            _, a = modules.build(m)
            m2 = manifest.check(dict(m, denoiser=dict(m["denoiser"], memory={"slots": 0})))
            torch.manual_seed(0)
            _, b = modules.build(m2)
            self.assertEqual(list(a.state_dict()), list(b.state_dict()))
            for k, v in a.state_dict().items():
                self.assertTrue(torch.equal(v, b.state_dict()[k]), k)
            self.assertFalse(any("memory" in k for k in a.state_dict()))

    def test_shipped_model_loads_with_the_gpu_configs_memory(self):
        # The gpu config builds the shipped architecture (so a GPU run can continue it as is).
        from train import configs
        path = os.path.join(ROOT, "models", "default.safetensors")
        if not os.path.exists(path):
            self.skipTest("no models/default.safetensors")
        m, _, dn = export.load_model(path)
        gpu = configs.get_config("gpu").dyn
        self.assertEqual(manifest.memory_slots(m), (gpu.memory_slots, gpu.memory_pose_dim))
        self.assertEqual(dn.memory_slots, gpu.memory_slots)

    def test_memory_weights_and_shapes(self):
        m = manifest.tiny_memory_manifest()
        M, P = manifest.memory_slots(m)
        _, dn = modules.build(m)
        sd = dn.state_dict()
        C, K = m["latent"]["channels"], m["denoiser"]["context"]
        self.assertEqual(tuple(sd["conv_in.weight"].shape)[1], C * (K + 1 + M))
        F_ = m["denoiser"]["fourier_dim"]
        self.assertEqual(tuple(sd["cond.memory_pose.fc1.weight"].shape), (F_, P))
        self.assertEqual(tuple(sd["cond.memory_pose.fc2.weight"].shape), (F_, F_))

    def test_widening_a_memoryless_model_keeps_its_outputs(self):
        # import-model --set dyn.memory_slots=M continues a shipped memory-less model as a memory
        # model: until trained, memory (present or absent) must change nothing.
        m0 = manifest.tiny_manifest()
        m1 = manifest.check(dict(m0, denoiser=dict(m0["denoiser"], memory={"slots": 3,
                                                                          "pose_dim": 5})))
        torch.manual_seed(1)
        _, dn = modules.build(m0)
        wide = modules.widen_to_memory(dn.eval(), m1).eval()
        self.assertEqual(wide.memory_slots, 3)
        d = inputs(m1, 2)
        with torch.no_grad():
            ref = denoise(dn, m0, d)
            none = denoise(wide, m1, d)
            mask = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
            full = denoise(wide, m1, d, (d["mem"], d["pose"], mask))
        self.assertTrue(torch.allclose(ref, none, atol=1e-6))
        self.assertTrue(torch.allclose(ref, full, atol=1e-6))
        with self.assertRaisesRegex(ValueError, "already has memory"):
            modules.widen_to_memory(wide, m1)

    def test_mask_semantics(self):
        m = manifest.tiny_memory_manifest()
        M, _ = manifest.memory_slots(m)
        torch.manual_seed(1)
        _, dn = modules.build(m)
        d = inputs(m, 3)
        with torch.no_grad():
            none = denoise(dn, m, d)
            absent = denoise(dn, m, d, (d["mem"], d["pose"], torch.zeros(3, M)))
            self.assertTrue(torch.equal(none, absent))
            # Absent slots are never read, even when they hold NaN.
            mask = torch.tensor([[1.0, 0, 0], [0, 1, 1], [0, 0, 0]])
            mem, pose = d["mem"].clone(), d["pose"].clone()
            mem[mask == 0] = float("nan")
            pose[mask == 0] = float("nan")
            out = denoise(dn, m, d, (mem, pose, mask))
            self.assertTrue(torch.isfinite(out).all())
            self.assertTrue(torch.allclose(out[2], none[2]))
            # A present slot changes the output, through the latent and through the pose.
            self.assertGreater((out[0] - none[0]).abs().max().item(), 1e-3)
            pose2 = pose.clone()
            pose2[0, 0] += 1.0
            out2 = denoise(dn, m, d, (mem, pose2, mask))
            self.assertGreater((out2[0] - out[0]).abs().max().item(), 1e-5)

    def test_slots_are_symmetric_in_the_conditioning_only(self):
        # Swapping two slots' poses and masks (latents fixed) changes nothing but the order of a
        # sum; swapping the latents too is a different conv_in input, so the output changes.
        m = manifest.tiny_memory_manifest()
        torch.manual_seed(2)
        _, dn = modules.build(m)
        d = inputs(m, 2)
        mask = torch.ones(2, 3)
        with torch.no_grad():
            a = dn.cond(torch.zeros(2), d["act"], torch.zeros(2), d["pose"], mask)
            b = dn.cond(torch.zeros(2), d["act"], torch.zeros(2), d["pose"][:, [2, 0, 1]], mask)
            self.assertTrue(torch.allclose(a, b, atol=1e-6))

    def test_wrong_shapes_are_named(self):
        m = manifest.tiny_memory_manifest()
        _, dn = modules.build(m)
        d = inputs(m, 2)
        with self.assertRaisesRegex(ValueError, "memory_pose has shape"):
            denoise(dn, m, d, (d["mem"], d["pose"][:, :, :2], torch.ones(2, 3)))
        with self.assertRaisesRegex(ValueError, "memory_mask"):
            dn(d["x"], torch.zeros(2), d["ctx"], d["act"], torch.zeros(2), d["mem"], d["pose"])

    def test_manifest_check(self):
        for bad, msg in (({"slots": 17, "pose_dim": 5}, "slots"), ({"slots": 2}, "pose_dim"),
                         ({"slots": 2, "pose_dim": 0}, "pose_dim"), (3, "object")):
            m = manifest.tiny_manifest()
            m["denoiser"]["memory"] = bad
            with self.assertRaisesRegex(ValueError, msg):
                manifest.check(m)

    def test_pose_features(self):
        # Facing +y (yaw 90 deg): a view 2 cells further along +y is 2 ahead; one at +x is to the
        # right, i.e. dy = -1 (dy points along (-sin yaw, cos yaw) = -x here).
        cur = torch.tensor([1.0, 1.0, math.pi / 2])
        f = modules.memory_pose_features(cur, torch.tensor([1.0, 3.0, math.pi / 2]), 50, 5)
        self.assertTrue(torch.allclose(f, torch.tensor([2.0, 0.0, 0.0, 1.0, 0.5]), atol=1e-6))
        f = modules.memory_pose_features(cur, torch.tensor([2.0, 1.0, math.pi]), 0, 7)
        self.assertTrue(torch.allclose(f, torch.tensor([0.0, -1.0, 1.0, 0.0, 0.0, 0, 0]),
                                       atol=1e-6))
        self.assertEqual(tuple(modules.memory_pose_features(cur, cur, 0, 3).shape), (3,))

    def test_memory_model_round_trips_through_the_file(self):
        m = manifest.tiny_memory_manifest()
        ae, dn = modules.build(m)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.safetensors")
            export.export_model(path, m, ae, dn)
            m2, _, dn2 = export.load_model(path)
        self.assertEqual(m2["denoiser"]["memory"], {"slots": 3, "pose_dim": 5})
        for k, v in dn.state_dict().items():
            self.assertTrue(torch.equal(v, dn2.state_dict()[k]), k)


class MemoryReliantSamplesTest(unittest.TestCase):
    """DynConfig.memory_ctx_noise_*: samples with a memory view get a high context noise level
    (the target must come from memory), samples without keep theirs."""

    def levels(self, prob, mask):
        from train import configs, train_dyn
        c = configs.DynConfig(memory_ctx_noise_prob=prob, memory_ctx_noise_range=[1.0, 3.0])
        s = torch.full((mask.shape[0],), 0.25)
        memory = (torch.zeros(mask.shape[0], mask.shape[1], 2, 2, 2),
                  torch.zeros(mask.shape[0], mask.shape[1], 5), mask)
        return train_dyn.memory_reliant_levels(s, memory, c, torch.device("cpu"))

    def test_only_samples_with_a_view_are_raised_into_the_range(self):
        torch.manual_seed(0)
        mask = torch.tensor([[1., 0., 0., 0.], [0., 0., 0., 0.], [0., 0., 1., 1.]]).repeat(50, 1)
        s = self.levels(1.0, mask)
        has_view = mask.sum(1) > 0
        self.assertTrue(((s[has_view] >= 1.0) & (s[has_view] <= 3.0)).all())
        self.assertTrue((s[~has_view] == 0.25).all())
        self.assertGreater(float(s[has_view].std()), 0.3)  # drawn, not a constant

    def test_off_or_without_memory_nothing_changes(self):
        mask = torch.ones(8, 4)
        self.assertTrue((self.levels(0.0, mask) == 0.25).all())
        from train import configs, train_dyn
        c = configs.DynConfig(memory_ctx_noise_prob=1.0)
        s = torch.full((8,), 0.25)
        self.assertTrue((train_dyn.memory_reliant_levels(s, (), c, torch.device("cpu")) == 0.25).all())

    def test_probability_is_respected(self):
        torch.manual_seed(1)
        s = self.levels(0.3, torch.ones(4000, 4))
        share = float((s >= 1.0).float().mean())
        self.assertAlmostEqual(share, 0.3, delta=0.04)


if __name__ == "__main__":
    unittest.main()
