"""The trainer's faster paths compute what the plain one does (issue 17, must-have 5), on the CPU:
DynStep is the step `train dyn` ran inline before it was factored out (bit-identical); the
channels_last (NHWC) step and encoder match the NCHW ones to float rounding, and a model trained
NHWC exports the same bytes as its NCHW copy; `train bench-step` times the variants and names the
fastest. torch.compile variants cannot be checked here: Debian's PyTorch 1.13 has no
torch.compile, and bench-step reports "compiled": false for them (tested)."""
import copy
import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

import torch

from train import bench_step, configs, export, manifest as manifest_mod, modules, trainer
from train.train_dyn import DynStep, build_batch, edm_loss, encode_chunks

LAYOUT = {"channels": [{"name": n, "min": -1.0, "max": 1.0, "kind": "axis"}
                       for n in ("move", "strafe", "turn")]}


def smoke_cfg(*sets):
    cfg = configs.get_config("smoke")
    cfg.dyn.batch = 3
    cfg.dyn.unroll_prob = 0.67  # 2 of 3 clips unrolled
    for s in sets:
        cfg = configs.override(cfg, s)
    return cfg


def make(cfg, seed=0):
    man = configs.manifest_for(cfg, LAYOUT, latent_scale=1.0)
    torch.manual_seed(seed)
    model = trainer.to_memory_format(modules.Denoiser(man), cfg.channels_last)
    ema = trainer.EMA(model, cfg.dyn.ema)
    opt = trainer.make_optimizer(model.parameters(), cfg.dyn.lr, 0.0, torch.device("cpu"))
    pool = bench_step.synthetic_pool(cfg, man, torch.device("cpu"), 6, seed)
    return man, model, ema, opt, pool


class DynStepTest(unittest.TestCase):
    def test_dyn_step_is_the_inline_step_it_replaced(self):
        cfg = smoke_cfg()
        c, dev = cfg.dyn, torch.device("cpu")
        man, model, ema, opt, pool = make(cfg)
        man2, model2, ema2, opt2, pool2 = make(cfg)
        step = DynStep(cfg, man, model, model, model, opt, ema, pool, dev)
        torch.manual_seed(7)
        for i in range(2):
            step(i, 1e-3)
        # The loop body of train_dyn.run before DynStep existed, verbatim in effect.
        torch.manual_seed(7)
        n_unroll = int(round(c.batch * c.unroll_prob))
        for i in range(2):
            for g in opt2.param_groups:
                g["lr"] = 1e-3
            z, a = pool2.sample(c.batch, c.context + 1 + c.unroll)
            ctx, acts, tgt, mem = build_batch(c, z, a, model2, man2["edm"], n_unroll, dev)
            loss = edm_loss(model2, ctx, acts, tgt, c, man2["edm"]["sigma_data"], dev,
                            man2["edm"]["sigma_max"], mem)
            opt2.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model2.parameters(), 1.0)
            opt2.step()
            ema2.update(model2, i)
        for (n, p), p2 in zip(model.named_parameters(), model2.parameters()):
            self.assertTrue(torch.equal(p, p2), n)
        for p, p2 in zip(ema.shadow.parameters(), ema2.shadow.parameters()):
            self.assertTrue(torch.equal(p, p2))

    def test_channels_last_step_matches_nchw(self):
        for sets in ((), ("dyn.predicts=residual",)):
            runs = []
            for nhwc in (False, True):
                cfg = smoke_cfg(*sets, f"channels_last={str(nhwc).lower()}")
                man, model, ema, opt, pool = make(cfg)
                if nhwc:  # really NHWC, or the comparison proves nothing
                    w = model.conv_in.weight
                    self.assertTrue(w.is_contiguous(memory_format=torch.channels_last))
                    self.assertFalse(w.is_contiguous())
                step = DynStep(cfg, man, model, model, model, opt, ema, pool,
                               torch.device("cpu"))
                torch.manual_seed(3)
                loss = float(step(0, 1e-3)[0])
                # The first step's (clipped) gradients; Adam's later steps amplify float
                # rounding of near-zero gradients to +-lr, so parameters are not compared.
                grads = [p.grad.clone() for p in model.parameters()]
                runs.append((loss, grads))
            (l0, g0), (l1, g1) = runs
            self.assertAlmostEqual(l0, l1, delta=1e-5 * max(1.0, abs(l0)), msg=str(sets))
            for (n, _), a, b in zip(model.named_parameters(), g0, g1):
                tol = 1e-4 * float(a.abs().max()) + 1e-8
                self.assertTrue(torch.allclose(a, b, rtol=1e-3, atol=tol), f"{sets} {n}")

    def test_channels_last_encoder_matches_and_exports_the_same_bytes(self):
        man = manifest_mod.tiny_manifest()
        torch.manual_seed(1)
        ae, dn = modules.build(man)
        ae_l = trainer.to_memory_format(copy.deepcopy(ae), True).eval()
        dn_l = trainer.to_memory_format(copy.deepcopy(dn), True)
        H, W = man["frame"]["height"], man["frame"]["width"]
        frames = torch.randint(0, 256, (2, 3, H, W, 3), dtype=torch.uint8).numpy()
        z = encode_chunks(ae.eval(), frames, torch.device("cpu"), batch=4)
        z_l = encode_chunks(ae_l, frames, torch.device("cpu"), batch=4, channels_last=True)
        self.assertEqual(z.shape, z_l.shape)
        self.assertTrue(torch.allclose(z, z_l, rtol=1e-4, atol=1e-5))
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.safetensors"), os.path.join(d, "b.safetensors")
            export.export_model(a, man, ae, dn)
            export.export_model(b, man, ae_l, dn_l)
            with open(a, "rb") as fa, open(b, "rb") as fb:
                self.assertEqual(fa.read(), fb.read())


class BenchStepTest(unittest.TestCase):
    def test_bench_step_reports_every_variant_and_the_fastest(self):
        ap = __import__("argparse").ArgumentParser()
        bench_step.add_args(ap)
        args = ap.parse_args(["--config", "smoke", "--variants", "eager,nhwc+b2,compile",
                              "--seconds", "0.4", "--rounds", "2", "--warmup", "1",
                              "--block", "1", "--encode-frames", "2", "--pool-seqs", "4",
                              "--device", "cpu"])
        buf = io.StringIO()
        with redirect_stdout(buf):
            bench_step.cmd(args)
        recs = [json.loads(line) for line in buf.getvalue().splitlines()]
        steps = {r["variant"]: r for r in recs if r["bench"] == "train_step"}
        self.assertEqual(sorted(steps), ["compile", "eager", "nhwc+b2"])
        for r in steps.values():
            for k in ("machine", "backend", "model", "median_ms", "p95_ms", "p99_ms",
                      "targets_per_s", "targets_per_s_with_data", "encode_ms_per_frame"):
                self.assertIn(k, r)
            self.assertGreater(r["targets_per_s"], 0)
            self.assertLessEqual(r["median_ms"], r["p99_ms"])
        # smoke: batch 4 with unroll_prob 1 and 1 unroll step = 8 targets; b2 halves it.
        self.assertEqual(steps["eager"]["targets_per_step"], 8)
        self.assertEqual(steps["nhwc+b2"]["targets_per_step"], 4)
        self.assertTrue(steps["nhwc+b2"]["channels_last"])
        self.assertEqual(steps["compile"]["compiled"], hasattr(torch, "compile"))
        best = [r for r in recs if r["bench"] == "train_step_best"]
        self.assertEqual(len(best), 1)
        self.assertIn(best[0]["variant"], steps)
        self.assertEqual(best[0]["ratios"]["eager"], 1.0)

    def test_bad_variant_is_named(self):
        with self.assertRaisesRegex(ValueError, "unknown token 'nchw'"):
            bench_step.variant_sets("eager+nchw")
        self.assertEqual(bench_step.variant_sets("graphs+b1024"),
                         ["compile=true", "compile_mode=reduce-overhead", "dyn.batch=1024"])
        with self.assertRaisesRegex(ValueError, "compile_mode"):
            trainer.maybe_compile(torch.nn.Linear(1, 1), True, "fastest")


if __name__ == "__main__":
    unittest.main()
