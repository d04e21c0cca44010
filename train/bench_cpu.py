"""CPU baselines for `npm run bench` (bench/engine.ts): the same exported .safetensors weights run
as one frame (N Euler steps of the EDM denoiser + decode to RGB8) in PyTorch on the CPU, timed per
frame; and the same networks exported to ONNX for onnxruntime-node.

  /usr/bin/python3 -m train.bench_cpu torch --model M.safetensors --threads 2 [--steps 2 --frames 30]
  /usr/bin/python3 -m train.bench_cpu onnx --model M.safetensors --out-dir DIR
      writes DIR/denoise.onnx (x, c_skip, c_out, c_in, c_noise, context, actions, ctx_sigma -> D)
      and DIR/decode.onnx (z -> frame floats in [-1,1], unclamped), and DIR/check.json (one set of
      inputs with PyTorch's outputs for each graph); prints their input names.

JSON lines in the benchmark schema: {"bench":"frame","backend":"torch-cpu",...,"median_ms":..}.
"""
import argparse
import json
import os
import platform
import sys
import time

import torch

from .bench_torch import quantiles


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class DenoiseGraph(torch.nn.Module):
    """D(x; sigma) with the EDM scalars as inputs, so one ONNX graph serves every step."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, c_skip, c_out, c_in, c_noise, context, actions, ctx_sigma):
        v = lambda t: t[:, None, None, None]  # noqa: E731
        return v(c_skip) * x + v(c_out) * self.net(v(c_in) * x, c_noise, context, actions, ctx_sigma)


def cmd_torch(args):
    from . import edm, export
    torch.set_num_threads(args.threads)
    m, ae, dn = export.load_model(args.model)
    ae.eval(), dn.eval()
    lat, K = m["latent"], m["denoiser"]["context"]
    A = len(m["actions"]["names"])
    ctx = torch.randn(1, K, lat["channels"], lat["height"], lat["width"]) * 0.5
    acts = torch.zeros(1, K, A)
    noise = torch.randn(1, lat["channels"], lat["height"], lat["width"])

    def frame():
        z = edm.sample(dn, ctx, acts, noise, args.steps, m["edm"])
        with torch.no_grad():
            x = ae.decode(z)
        return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()

    def den():
        with torch.no_grad():
            return edm.denoise(dn, noise, torch.tensor([1.0]), ctx, acts, torch.zeros(1),
                               m["edm"]["sigma_data"])

    def dec():
        with torch.no_grad():
            return ae.decode(noise)

    base = {"machine": cpu_name(), "backend": "torch-cpu", "torch": torch.__version__,
            "model": m["name"], "threads": args.threads, "batch": 1}
    for name, fn, extra in (("frame", frame, {"steps": args.steps}), ("denoise", den, {}),
                            ("decode", dec, {})):
        for _ in range(args.warmup):
            fn()
        ts = []
        for _ in range(args.frames):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1e3)
        med, p95, p99 = quantiles(ts)
        print(json.dumps(dict(bench=name, **base, **extra, runs=len(ts), median_ms=round(med, 4),
                              p95_ms=round(p95, 4), p99_ms=round(p99, 4))), flush=True)


def cmd_onnx(args):
    from . import export
    m, ae, dn = export.load_model(args.model)
    ae.eval(), dn.eval()
    lat, K = m["latent"], m["denoiser"]["context"]
    A = len(m["actions"]["names"])
    os.makedirs(args.out_dir, exist_ok=True)
    x = torch.randn(1, lat["channels"], lat["height"], lat["width"])
    one = torch.ones(1)
    ctx = torch.randn(1, K, lat["channels"], lat["height"], lat["width"])
    acts = torch.zeros(1, K, A)
    names = ["x", "c_skip", "c_out", "c_in", "c_noise", "context", "actions", "ctx_sigma"]
    with torch.no_grad():
        torch.onnx.export(DenoiseGraph(dn), (x, one, one, one, one, ctx, acts, torch.zeros(1)),
                          os.path.join(args.out_dir, "denoise.onnx"), input_names=names,
                          output_names=["denoised"], opset_version=17)
        torch.onnx.export(ae.decoder, (x / ae.scale,), os.path.join(args.out_dir, "decode.onnx"),
                          input_names=["z"], output_names=["frame"], opset_version=17)
        # A check case: inputs and PyTorch's outputs, so whoever runs the graphs can verify them
        # (test/onnx_export.test.ts does, in onnxruntime-node).
        g = torch.Generator().manual_seed(0)
        cx = torch.randn(x.shape, generator=g)
        cctx = 0.5 * torch.randn(ctx.shape, generator=g)
        cacts = torch.rand(acts.shape, generator=g) * 2 - 1
        scal = {"c_skip": 0.3, "c_out": 0.7, "c_in": 0.5, "c_noise": 0.1, "ctx_sigma": 0.05}
        t = {k: torch.tensor([v]) for k, v in scal.items()}
        den = DenoiseGraph(dn)(cx, t["c_skip"], t["c_out"], t["c_in"], t["c_noise"], cctx, cacts,
                               t["ctx_sigma"])
        frame = ae.decoder(cx / ae.scale)

    def flat(v):
        return {"shape": list(v.shape), "data": [round(float(f), 7) for f in v.flatten()]}
    with open(os.path.join(args.out_dir, "check.json"), "w") as f:
        json.dump({"denoise": {"inputs": {"x": flat(cx), "context": flat(cctx),
                                          "actions": flat(cacts), **{k: flat(v) for k, v in
                                                                     t.items()}},
                               "output": flat(den)},
                   "decode": {"inputs": {"z": flat(cx / ae.scale)}, "output": flat(frame)}}, f)
    print(json.dumps({"denoise": os.path.join(args.out_dir, "denoise.onnx"),
                      "decode": os.path.join(args.out_dir, "decode.onnx"),
                      "check": os.path.join(args.out_dir, "check.json"),
                      "denoise_inputs": names, "latent_scale": ae.scale, "edm": m["edm"],
                      "context": K, "action_dim": A}))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m train.bench_cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("torch", help="time frames in PyTorch on the CPU")
    t.add_argument("--model", required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--steps", type=int, default=2)
    t.add_argument("--frames", type=int, default=30)
    t.add_argument("--warmup", type=int, default=3)
    o = sub.add_parser("onnx", help="export the denoiser and decoder to ONNX")
    o.add_argument("--model", required=True)
    o.add_argument("--out-dir", required=True)
    args = p.parse_args(argv)
    {"torch": cmd_torch, "onnx": cmd_onnx}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
