"""PyTorch baseline for the CUDA backend's benchmark: the same exported .safetensors weights, the
same frame (N Euler steps of the EDM denoiser + decode to RGB8 in pinned host memory), timed per
frame with a wall clock around a synchronous frame, as bench_cuda times the engine. JSON lines in
the engine's schema:
  {"bench":"frame","machine":<GPU>,"backend":"torch-<mode>-bf16","model":..,"batch":B,"steps":N,
   "frames":F,"median_ms":..,"p95_ms":..,"p99_ms":..,"fps":..}

Modes: eager (modules cast to bf16), graph (the eager frame captured once with torch.cuda.CUDAGraph
and replayed), compile (torch.compile of the frame, default inductor mode, then captured as a CUDA
graph the same way). cuDNN autotuning is on for all of them.

  python3 -m train.bench_torch run --model default=/path/default.safetensors \
      --model large=/path/large.safetensors --batches 1,32 --modes eager,graph [--out x.jsonl]
  python3 -m train.bench_torch export --config large --out large.safetensors
  python3 -m train.bench_torch summary ours.jsonl torch.jsonl --out summary.json
  python3 -m train.bench_torch dry-run --model default.safetensors   (one f32 frame on the CPU)

`export --config large` writes the larger benchmark model (256x256 frames, 32x32x16 latent, ~30M
parameter denoiser) with random weights; `--config default` the default-v1 sizes.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def large_manifest():
    from . import manifest
    m = manifest.default_manifest()
    m["name"] = "large-bench"
    m["frame"] = {"height": 256, "width": 256}
    m["latent"].update(channels=16, height=32, width=32)
    m["denoiser"].update(channels=[128, 256, 384], cond_dim=512)
    return m


def cmd_export(args):
    from . import export, manifest, modules
    m = large_manifest() if args.config == "large" else manifest.default_manifest()
    m["name"] = m["name"] + "-random"
    m["training"] = {"note": "random weights (benchmarks), not trained", "seed": args.seed}
    torch.manual_seed(args.seed)
    ae, dn = modules.build(m)
    export.export_model(args.out, m, ae, dn, dtype=args.dtype)
    print(json.dumps({"out": args.out, "config": args.config,
                      "denoiser_params": modules.count_params(dn),
                      "decoder_params": modules.count_params(ae.decoder)}))


class Frame:
    """One frame for B worlds with every tensor preallocated, so it can be captured as a graph."""

    def __init__(self, m, ae, dn, batch, steps, dtype, device="cuda"):
        from . import edm
        dev = torch.device(device)
        self.ae, self.dn, self.steps = ae, dn, steps
        lat, fr = m["latent"], m["frame"]
        K, A = m["denoiser"]["context"], len(m["actions"]["names"])
        C, h, w = lat["channels"], lat["height"], lat["width"]
        g = torch.Generator().manual_seed(0)
        self.context = (torch.randn(batch, K, C, h, w, generator=g) * 0.5).to(dev, dtype)
        self.actions = (torch.rand(batch, K, A, generator=g) * 2 - 1).to(dev, dtype)
        self.ctx_sigma = torch.full((batch,), float(m["sampler"]["context_noise_sigma"]),
                                    device=dev, dtype=dtype)
        e = m["edm"]
        sig = edm.karras_sigmas(steps, e["sigma_min"], e["sigma_max"], e["rho"])
        self.sigma0 = float(sig[0])
        self.scal = []
        for i in range(steps):
            c_skip, c_out, c_in, c_noise = edm.precondition([sig[i]] * batch, e["sigma_data"])
            a, b = edm.euler_coefficients(sig[i], sig[i + 1])
            v = lambda t: t.to(dev, dtype)[:, None, None, None]  # noqa: E731
            self.scal.append((v(c_skip), v(c_out), v(c_in), c_noise.to(dev, dtype), a, b))
        self.noise = torch.empty(batch, C, h, w, device=dev, dtype=dtype)
        self.host = torch.empty(batch, fr["height"], fr["width"], 3, dtype=torch.uint8,
                                pin_memory=dev.type == "cuda")

    def compute(self, noise):
        """The frame on the device: N Euler steps from `noise`, decode, RGB8 [B,H,W,3]."""
        x = noise * self.sigma0
        for c_skip, c_out, c_in, c_noise, a, b in self.scal:
            f = self.dn(c_in * x, c_noise, self.context, self.actions, self.ctx_sigma)
            x = a * x + b * (c_skip * x + c_out * f)
        rgb = self.ae.decode(x)
        u8 = ((rgb.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
        return u8.permute(0, 2, 3, 1).contiguous()

    def __call__(self, compute=None):
        # Noise drawn outside `compute` so a compiled `compute` holds no RNG state of its own.
        self.noise.normal_()
        self.host.copy_((compute or self.compute)(self.noise), non_blocking=True)


def capture(fn, warmup=3):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g.replay


def time_frames(step, frames, warmup):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    out = []
    for _ in range(frames):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1000.0)
    return quantiles(out)


def quantiles(samples_ms):
    """(median, p95, p99) of a list of timings; percentiles at rank round(p * (n - 1))."""
    out = sorted(samples_ms)

    def q(p):
        return out[min(len(out) - 1, int(p * (len(out) - 1) + 0.5))]
    return statistics.median(out), q(0.95), q(0.99)


def cmd_dry_run(args):
    """One f32 frame on the CPU: checks this script end to end on a machine without a GPU."""
    from . import export
    m, ae, dn = export.load_model(args.model)
    with torch.no_grad():
        f = Frame(m, ae.eval(), dn.eval(), 2, args.steps, torch.float32, device="cpu")
        t0 = time.perf_counter()
        f()
    print(json.dumps({"bench": "dry_run", "model": args.model, "frame_shape": list(f.host.shape),
                      "mean_rgb": round(float(f.host.float().mean()), 3),
                      "seconds": round(time.perf_counter() - t0, 3)}))
    return 0


def cmd_run(args):
    from . import export
    torch.backends.cudnn.benchmark = True
    if not torch.cuda.is_available():
        print(json.dumps({"bench": "skipped", "reason": "torch.cuda.is_available() is False"}))
        return 0
    machine = torch.cuda.get_device_name(0)
    dtype = torch.bfloat16
    batches = [int(b) for b in args.batches.split(",")]
    modes = args.modes.split(",")
    sink = open(args.out, "a") if args.out else None
    rc = 0
    for spec in args.model:
        name, _, path = spec.partition("=")
        m, ae, dn = export.load_model(path)
        ae = ae.to("cuda", dtype).eval()
        dn = dn.to("cuda", dtype).eval()
        for mode in modes:
            for batch in batches:
                try:
                    with torch.no_grad():
                        frame = Frame(m, ae, dn, batch, args.steps, dtype)
                        if mode == "eager":
                            step = frame
                        elif mode == "graph":
                            step = capture(frame)
                        elif mode == "compile":
                            t0 = time.perf_counter()
                            compiled = torch.compile(frame.compute, dynamic=False)
                            step = capture(lambda f=frame, c=compiled: f(c))
                            print(json.dumps({"bench": "compile_time", "model": name,
                                              "batch": batch,
                                              "seconds": round(time.perf_counter() - t0, 1)}),
                                  file=sys.stderr, flush=True)
                        else:
                            raise ValueError("unknown mode " + mode)
                        med, p95, p99 = time_frames(step, args.frames, args.warmup)
                except Exception as e:  # keep going: one failing mode must not lose the others
                    print(json.dumps({"bench": "error", "backend": "torch-%s-bf16" % mode,
                                      "model": name, "batch": batch, "error": repr(e)[:500]}),
                          flush=True)
                    rc = 1
                    continue
                line = json.dumps({"bench": "frame", "machine": machine,
                                   "backend": "torch-%s-bf16" % mode, "model": name,
                                   "batch": batch, "steps": args.steps, "frames": args.frames,
                                   "median_ms": round(med, 4), "p95_ms": round(p95, 4),
                                   "p99_ms": round(p99, 4),
                                   "fps": round(batch * 1000.0 / med, 1)})
                print(line, flush=True)
                if sink:
                    sink.write(line + "\n")
                    sink.flush()
    return rc


def cmd_summary(args):
    """Engine vs PyTorch from the JSON lines of bench_cuda and `run`: per model and batch, the
    engine's best CUDA variant against PyTorch with CUDA graphs (and the others when present),
    checked against the issue's targets."""
    rows = []
    for path in args.inputs:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("{"):
                        try:
                            rows.append(json.loads(line))
                        except ValueError:
                            pass
        except OSError:
            pass
    frames = [r for r in rows if r.get("bench") == "frame" and "median_ms" in r]
    out = []
    for model in sorted({r["model"] for r in frames}):
        for batch in sorted({r["batch"] for r in frames if r["model"] == model}):
            sel = {r["backend"]: r for r in frames if r["model"] == model and r["batch"] == batch}
            ours = sel.get("cuda-bf16-graphs")
            entry = {"model": model, "batch": batch,
                     "machine": next(iter(sel.values())).get("machine"),
                     "median_ms": {k: v["median_ms"] for k, v in sorted(sel.items())}}
            if ours:
                for ref in ("torch-graph-bf16", "torch-compile-bf16", "torch-eager-bf16"):
                    if ref in sel:
                        entry["speedup_vs_" + ref] = round(sel[ref]["median_ms"] / ours["median_ms"], 3)
                if batch == 1 and model == "default":
                    entry["target_le_1ms"] = ours["median_ms"] <= 1.0
                    entry["stretch_le_0.5ms"] = ours["median_ms"] <= 0.5
                if "speedup_vs_torch-graph-bf16" in entry:
                    entry["target_1.5x_torch_graph"] = entry["speedup_vs_torch-graph-bf16"] >= 1.5
            out.append(entry)
    for e in out:
        print(json.dumps(e))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.bench_torch")
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write a benchmark model with random weights")
    e.add_argument("--config", choices=["default", "large"], required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    e.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run", help="time PyTorch frames on the GPU")
    r.add_argument("--model", action="append", required=True, help="NAME=PATH (repeatable)")
    r.add_argument("--batches", default="1,32")
    r.add_argument("--modes", default="eager,graph")
    r.add_argument("--steps", type=int, default=2)
    r.add_argument("--frames", type=int, default=200)
    r.add_argument("--warmup", type=int, default=20)
    r.add_argument("--out", default=None, help="also append the JSON lines to this file")
    s = sub.add_parser("summary", help="engine vs PyTorch from JSON-line files")
    s.add_argument("inputs", nargs="+")
    s.add_argument("--out", default=None)
    d = sub.add_parser("dry-run", help="one f32 frame on the CPU (no GPU needed)")
    d.add_argument("--model", required=True)
    d.add_argument("--steps", type=int, default=2)
    args = ap.parse_args(argv)
    if args.command == "export":
        cmd_export(args)
        return 0
    if args.command == "dry-run":
        return cmd_dry_run(args)
    if args.command == "summary":
        return cmd_summary(args)
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
