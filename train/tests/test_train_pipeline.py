"""The whole pipeline on the smoke config, end to end through the CLI, on live ground-truth worlds
(needs libworldloop.so: scripts/test.sh builds it first): autoencoder + denoiser under a step cap,
resume, time budget, export, eval (JSON + contact sheet), training from on-disk episodes, and
two-process DistributedDataParallel on CPU with gloo."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYPATH = os.pathsep.join([p for p in (os.environ.get("PYTHONPATH"), ROOT) if p])


def train(*args, env=None, timeout=600):
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=PYPATH)
    e.update(env or {})
    p = subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, env=e, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def records(out):
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "run")
        cls.model = os.path.join(cls.tmp.name, "m.safetensors")
        rc, log = train("all", "--config", "smoke", "--ae-steps", "4", "--steps", "4", "--out",
                        cls.out, "--model", cls.model, "--dtype", "F32")
        cls.log = log
        if rc != 0:
            raise AssertionError("smoke `train all` failed:\n" + log[-3000:])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_progress_lines_and_metrics_log(self):
        self.assertRegex(self.log, r"\[ae\] step 4 loss [0-9.]+ .* samples/s .* ETA")
        self.assertRegex(self.log, r"\[dyn\] step 4 loss [0-9.]+ .* samples/s .* ETA")
        recs = records(self.out)
        steps = [r for r in recs if "loss" in r]
        self.assertEqual({r["stage"] for r in steps}, {"ae", "dyn"})
        for r in steps:
            for k in ("step", "loss", "samples_per_s", "eta_s", "lr", "time_s"):
                self.assertIn(k, r)
            self.assertTrue(r["loss"] == r["loss"] and r["loss"] > 0)  # finite, positive
        ends = [r for r in recs if r.get("event") == "end"]
        self.assertEqual([r["stage"] for r in ends], ["ae", "dyn"])
        self.assertGreater(ends[0]["latent_scale"], 0)

    def test_export_manifest_names_config_data_steps_and_world_actions(self):
        from train import export, world
        m, ae, dn = export.load_model(self.model)
        layout = world.action_layout()
        self.assertEqual(m["actions"]["names"], [c["name"] for c in layout["channels"]])
        # The kinds the runtime may place in this model's world (src/object_placement.ts).
        self.assertEqual(m["objects"]["kinds"], layout["objects"])
        self.assertEqual(m["denoiser"]["context"], 4)
        t = m["training"]
        self.assertEqual(t["config"], "smoke")
        self.assertEqual(t["autoencoder"]["steps"], 4)
        self.assertEqual(t["denoiser"]["steps"], 4)
        self.assertIn("ground-truth", t["data"]["source"])
        self.assertGreater(m["latent"]["scale"], 0)
        self.assertNotEqual(m["latent"]["scale"], 1.0)

    def test_resume_continues_from_latest_checkpoint(self):
        out = os.path.join(self.tmp.name, "resume")
        rc, log = train("ae", "--config", "smoke", "--steps", "2", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        rc, log = train("ae", "--config", "smoke", "--steps", "4", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        self.assertIn("resumed from", log)
        self.assertIn("at step 2", log)
        self.assertRegex(log, r"\[ae\] done: step 4,")
        rc, log = train("ae", "--config", "smoke", "--steps", "4", "--out", out, "--fresh",
                        "--set", "ae.max_steps=1")
        self.assertEqual(rc, 0, log[-2000:])
        self.assertNotIn("resumed from", log)

    def test_profile_steps_writes_a_phase_table(self):
        import shutil
        out = os.path.join(self.tmp.name, "profile")
        shutil.copytree(self.out, out)
        rc, log = train("dyn", "--config", "smoke", "--steps", "12", "--out", out,
                        "--profile-steps", "2")
        self.assertEqual(rc, 0, log[-2000:])
        self.assertRegex(log, r"\[dyn\] profile: [0-9.]+ ms per step over 2 steps")
        with open(os.path.join(out, "profile_dyn.txt")) as f:
            text = f.read()
        for ph in ("data_pull", "sample_and_unroll", "forward_loss", "backward", "optimizer_ema"):
            self.assertIn("phase:" + ph, text)
        # One row per phase in the phase list (the op table below it may list them again).
        listed = text.split("phases (per step):\n")[1].split("\n\n")[0].splitlines()
        keys = [line.split()[0] for line in listed]
        self.assertEqual(len(keys), len(set(keys)), listed)

    def test_import_model_continues_training_and_keeps_provenance(self):
        # Continue the exported smoke model as a memory model (widened), train 2 more steps,
        # export: the manifest carries the memory slots and the earlier run in training.history.
        from train import export
        out = os.path.join(self.tmp.name, "continued")
        model2 = os.path.join(self.tmp.name, "m2.safetensors")
        mem = ["--set", "dyn.memory_slots=2", "--set", "data.chunk=16"]
        rc, log = train("import-model", "--config", "smoke", *mem, "--out", out,
                        "--model", self.model)
        self.assertEqual(rc, 0, log[-2000:])
        self.assertIn("widened the denoiser to 2 memory slots", log)
        rc, log = train("dyn", "--config", "smoke", *mem, "--steps", "6", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        self.assertIn("resumed from", log)
        rc, log = train("export", "--config", "smoke", *mem, "--out", out, "--model", model2)
        self.assertEqual(rc, 0, log[-2000:])
        m, _, dn = export.load_model(model2)
        self.assertEqual(dn.memory_slots, 2)
        self.assertIn("lamp", m["objects"]["kinds"])  # kept through the import
        t = m["training"]
        self.assertEqual(t["denoiser"]["steps"], 6)
        self.assertEqual(len(t["history"]), 1)
        self.assertEqual(t["history"][0]["denoiser"]["steps"], 4)
        self.assertEqual(t["history"][0]["file"], self.model)
        # A second import of the same folder is refused without --force.
        rc, log = train("import-model", "--config", "smoke", *mem, "--out", out,
                        "--model", self.model)
        self.assertNotEqual(rc, 0)
        self.assertIn("--force", log)

    def test_import_autoencoder_only_trains_a_fresh_residual_denoiser(self):
        # A fresh copy-then-correct denoiser on a shipped model's autoencoder: import-model
        # --autoencoder-only, then `train dyn` starts from step 0 and the export keeps the
        # autoencoder bit for bit and says what the denoiser predicts.
        import torch
        from train import export
        out = os.path.join(self.tmp.name, "residual")
        model2 = os.path.join(self.tmp.name, "m_res.safetensors")
        res = ["--set", "dyn.predicts=residual", "--set", "dyn.residual_sigma_data=0.3"]
        rc, log = train("import-model", "--config", "smoke", *res, "--out", out,
                        "--model", self.model)
        self.assertNotEqual(rc, 0)  # without the flag the denoisers' shapes disagree
        self.assertIn("denoiser", log)
        rc, log = train("import-model", "--config", "smoke", *res, "--out", out,
                        "--model", self.model, "--autoencoder-only", "--force")
        self.assertEqual(rc, 0, log[-2000:])
        rc, log = train("dyn", "--config", "smoke", *res, "--steps", "2", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        self.assertNotIn("resumed from", log)
        rc, log = train("export", "--config", "smoke", *res, "--out", out, "--model", model2)
        self.assertEqual(rc, 0, log[-2000:])
        m, ae, _ = export.load_model(model2)
        _, ae0, _ = export.load_model(self.model)
        self.assertEqual(m["denoiser"]["predicts"], "residual")
        self.assertAlmostEqual(m["edm"]["sigma_data"], 0.3)
        for (k, a), (_, b) in zip(ae.state_dict().items(), ae0.state_dict().items()):
            self.assertTrue(torch.allclose(a, b, atol=1e-2), k)  # export rounds to its dtype

    def test_decoder_only_training_keeps_encoder_scale_and_denoiser(self):
        # import-model, then `train ae` with ae.decoder_only: the decoder moves, the encoder, the
        # latent scale and the denoiser are the imported model's, bit for bit.
        import torch
        from train import export
        out = os.path.join(self.tmp.name, "decoder")
        model2 = os.path.join(self.tmp.name, "m_dec.safetensors")
        dec = ["--set", "ae.decoder_only=true", "--set", "ae.warmup_steps=1"]
        rc, log = train("ae", "--config", "smoke", *dec, "--steps", "2", "--out",
                        os.path.join(self.tmp.name, "empty"))
        self.assertNotEqual(rc, 0)
        self.assertIn("import-model", log)  # no autoencoder to keep: says what to run first
        rc, log = train("import-model", "--config", "smoke", "--out", out, "--model", self.model)
        self.assertEqual(rc, 0, log[-2000:])
        rc, log = train("ae", "--config", "smoke", *dec, "--steps", "10", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        self.assertIn("decoder only", log)
        rc, log = train("export", "--config", "smoke", "--out", out, "--model", model2,
                        "--dtype", "F32")
        self.assertEqual(rc, 0, log[-2000:])
        m1, ae1, dn1 = export.load_model(self.model)
        m2, ae2, dn2 = export.load_model(model2)
        self.assertEqual(m2["latent"]["scale"], m1["latent"]["scale"])
        for (k, a), b in zip(ae1.encoder.state_dict().items(), ae2.encoder.state_dict().values()):
            self.assertTrue(torch.equal(a, b), k)
        for (k, a), b in zip(dn1.state_dict().items(), dn2.state_dict().values()):
            self.assertTrue(torch.equal(a, b), k)
        moved = [k for (k, a), b in zip(ae1.decoder.state_dict().items(),
                                        ae2.decoder.state_dict().values())
                 if not torch.equal(a, b)]
        self.assertTrue(moved, "the decoder did not change")
        self.assertEqual(m2["training"]["autoencoder"]["steps"], 10)

    def test_time_budget_stops_training(self):
        out = os.path.join(self.tmp.name, "budget")
        rc, log = train("ae", "--config", "smoke", "--time-budget", "2", "--set",
                        "ae.max_steps=1000000", "--out", out)
        self.assertEqual(rc, 0, log[-2000:])
        end = [r for r in records(out) if r.get("event") == "end"][0]
        self.assertLess(end["step"], 1000000)
        self.assertGreater(end["step"], 0)

    def test_eval_writes_json_and_contact_sheet(self):
        from train import png
        ev = os.path.join(self.tmp.name, "eval")
        rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                        "--quick")
        self.assertEqual(rc, 0, log[-3000:])
        with open(os.path.join(ev, "eval.json")) as f:
            res = json.load(f)
        hz = res["rollout"]["horizons"]
        self.assertEqual(sorted(hz, key=int), ["1", "8"])
        for v in hz.values():
            for k in ("psnr", "ssim", "psnr_autoencoder", "psnr_copy_last", "sharpness_ratio",
                      "sharpness_autoencoder"):
                self.assertIn(k, v)
        self.assertIn("turn", res["actions"]["agreement"])
        for h in ("1", "8", str(res["still"]["frames"])):
            self.assertGreater(res["still"][h]["psnr"], 0)
            self.assertGreaterEqual(res["still"][h]["sharpness_ratio"], 0)
        for ch in ("move", "strafe", "turn"):
            self.assertGreaterEqual(res["actions"]["sensitivity"]["ratio"][ch], 0)
        self.assertIn("collapsed", res["collapse"])
        self.assertIn("featureless_end", res["collapse"])
        self.assertIn("targets", res)
        img = png.read_png_rgb(os.path.join(ev, "contact_sheet.png"))
        self.assertEqual(img.shape[1], 2 * 128 + 2)        # two horizons
        self.assertEqual(img.shape[0], 2 * (2 * 128 + 2) + 4)  # two worlds, truth over model

    def test_eval_context_noise_override(self):
        ev = os.path.join(self.tmp.name, "eval-ctx")
        rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                        "--quick", "--collapse-frames", "8", "--context-noise", "0.3")
        self.assertEqual(rc, 0, log[-3000:])
        with open(os.path.join(ev, "eval.json")) as f:
            res = json.load(f)
        self.assertAlmostEqual(res["context_noise_sigma"], 0.3)
        # The engine reads the manifest's level, so comparing it with an override means nothing.
        self.assertIn("overrides the manifest", res["parity"]["skipped"])
        rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                        "--quick", "--context-noise", "-1")
        self.assertNotEqual(rc, 0)
        self.assertIn("--context-noise must be a finite number >= 0", log)

    def test_eval_sampler_experiments(self):
        # --sigmas / --warm-start evaluate samplers the engine does not run: the result says which,
        # parity is skipped, and a bad schedule is refused by name.
        ev = os.path.join(self.tmp.name, "eval-sigmas")
        rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                        "--quick", "--collapse-frames", "8", "--sigmas", "5,0.3", "--warm-start")
        self.assertEqual(rc, 0, log[-3000:])
        with open(os.path.join(ev, "eval.json")) as f:
            res = json.load(f)
        self.assertEqual(res["sampler_experiment"], {"sigmas": [5.0, 0.3], "warm_start": True})
        self.assertEqual(res["sampler_steps"], 2)
        self.assertIn("does not run", res["parity"]["skipped"])
        for bad in ("0.3,5", "5,x", "5,-1"):
            rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                            "--quick", "--sigmas", bad)
            self.assertNotEqual(rc, 0, bad)
            self.assertIn("--sigmas", log)

    def test_stamp_rewrites_the_manifest_and_keeps_the_weights(self):
        from train import export
        ev = os.path.join(self.tmp.name, "eval-stamp")
        rc, log = train("eval", "--config", "smoke", "--model", self.model, "--out", ev,
                        "--quick", "--collapse-frames", "8")
        self.assertEqual(rc, 0, log[-3000:])
        out = os.path.join(self.tmp.name, "stamped.safetensors")
        rc, log = train("stamp", "--model", self.model, "--out", out, "--eval-json",
                        os.path.join(ev, "eval.json"), "--sampler-steps", "3",
                        "--context-noise", "0.2")
        self.assertEqual(rc, 0, log[-3000:])
        before, _ = export.read_safetensors(self.model)
        after, meta = export.read_safetensors(out)
        self.assertEqual(sorted(before), sorted(after))
        for k in before:
            self.assertTrue((before[k] == after[k]).all(), k)
        m = json.loads(meta["worldloop"])
        self.assertEqual(m["sampler"], {"steps": 3, "context_noise_sigma": 0.2})
        self.assertIn("8", m["training"]["eval"]["horizons"])
        # Bad input: a clear error, exit 2, and the file it would have replaced is untouched.
        with open(out, "rb") as f:
            kept = f.read()
        rc, log = train("stamp", "--model", out, "--sampler-steps", "0")
        self.assertEqual(rc, 2)
        self.assertIn("--sampler-steps must be 1..8", log)
        broken = os.path.join(self.tmp.name, "broken.json")
        with open(broken, "w") as f:
            f.write("{not json")
        rc, log = train("stamp", "--model", out, "--eval-json", broken)
        self.assertEqual(rc, 2)
        self.assertIn("not JSON", log)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), kept)

    def test_train_on_episodes_from_disk(self):
        eps = os.path.join(self.tmp.name, "episodes")
        rc, log = train("episodes", "--out", eps, "--count", "2", "--ticks", "40")
        self.assertEqual(rc, 0, log[-2000:])
        self.assertEqual(len([f for f in os.listdir(eps) if f.endswith(".npz")]), 2)
        out = os.path.join(self.tmp.name, "from-episodes")
        rc, log = train("ae", "--config", "smoke", "--steps", "2", "--out", out, "--episodes",
                        eps)
        self.assertEqual(rc, 0, log[-2000:])
        rc, log = train("ae", "--config", "smoke", "--steps", "2", "--out", out + "x",
                        "--episodes", os.path.join(self.tmp.name, "nowhere"))
        self.assertEqual(rc, 2)
        self.assertIn("episode directory not found", log)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DistributedTest(unittest.TestCase):
    def test_two_gloo_processes_train_one_model(self):
        # The two ranks are started the way torchrun starts them (RANK, WORLD_SIZE, LOCAL_RANK,
        # MASTER_ADDR/PORT in the environment). torchrun itself is not used here: the launcher of
        # Debian's PyTorch 1.13 fails under Python 3.11 (its Std flag enum), the training code does not.
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "ddp")
            port = str(free_port())
            procs = []
            for rank in range(2):
                e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=PYPATH, RANK=str(rank),
                         LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                         MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "train", "ae", "--config", "smoke", "--steps", "3",
                     "--out", out], cwd=ROOT, env=e, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True))
            logs = [p.communicate(timeout=600)[0] for p in procs]
            for p, log in zip(procs, logs):
                self.assertEqual(p.returncode, 0, log[-3000:])
            recs = records(out)
            start = [r for r in recs if r.get("event") == "start"]
            self.assertEqual(len(start), 1)            # only rank 0 writes the log
            self.assertEqual(start[0]["world_size"], 2)
            end = [r for r in recs if r.get("event") == "end"][0]
            self.assertEqual(end["step"], 3)
            self.assertEqual(end["samples"], 3 * 4 * 2)  # steps x batch x ranks
            self.assertTrue(os.path.isfile(os.path.join(out, "ckpt", "ae-latest.pt")))
            self.assertIn("[ae] done: step 3", logs[0])
            self.assertNotIn("[ae] done", logs[1])     # rank 1 trains but does not log


if __name__ == "__main__":
    unittest.main()
