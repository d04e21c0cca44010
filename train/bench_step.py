"""Throughput of the denoiser trainer's step: `python3 -m train bench-step`.

Times train_dyn.DynStep (the very step `train dyn` runs: clip sampling, memory views, unrolls,
forward + loss, backward, clipping, AdamW, EMA) on a synthetic latent pool of the config's shape,
so no data generation runs; the encoder's cost per fresh frame is timed separately and charged to
the step at the config's pull rate (worlds x chunk frames every data.dyn_pull_every steps), as
`targets_per_s_with_data`. That assumes a generated chunk is ready at every pull, as on the GPU
machine (its 16 cores generate ~68k frames/s); on 2 cores the generator is the limit and the
figure is a lower bound.

A variant is '+'-joined tokens on top of the config (and its --set overrides):
  eager     nothing changed (the trainer's default path)
  nhwc      channels_last weights and activations (Config.channels_last)
  compile   torch.compile, default mode            graphs    torch.compile mode reduce-overhead
  autotune  torch.compile mode max-autotune        b<N>      dyn.batch = N
Variants are built once and then run in alternating rounds (on a shared machine a slow minute
hits every variant alike); each variant's first `--warmup` steps (compilation included) are not
timed, and their wall time is reported as warmup_s. One JSON line per variant:
  {"bench":"train_step","machine":..,"backend":..,"model":<config>,"variant":..,"sets":[..],
   "batch":..,"targets_per_step":..,"median_ms":..,"p95_ms":..,"p99_ms":..,"targets_per_s":..,
   "encode_ms_per_frame":..,"targets_per_s_with_data":..,"compiled":..,"warmup_s":..,..}
("compiled" false under a compile variant: this PyTorch has no torch.compile and ran eagerly)
and a last line {"bench":"train_step_best",..} naming the fastest variant by targets_per_s_with_data
with its ratio to the first variant. Step times are block means (a device sync every `--block`
steps, as training syncs only to log), so p95/p99 are over blocks.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Dict, List

import torch

from . import configs, data, memory_data, modules, trainer
from .bench_torch import quantiles
from .train_dyn import DynStep, encode_chunks

TOKENS = {
    "eager": [],
    "nhwc": ["channels_last=true"],
    "compile": ["compile=true", "compile_mode=default"],
    "graphs": ["compile=true", "compile_mode=reduce-overhead"],
    "autotune": ["compile=true", "compile_mode=max-autotune"],
}


def variant_sets(variant: str) -> List[str]:
    """The config overrides a variant name stands for; errors name the bad token."""
    sets: List[str] = []
    for tok in variant.split("+"):
        if tok in TOKENS:
            sets += TOKENS[tok]
        elif tok.startswith("b") and tok[1:].isdigit() and int(tok[1:]) > 0:
            sets.append(f"dyn.batch={int(tok[1:])}")
        else:
            raise ValueError(f"variant '{variant}': unknown token '{tok}' (use "
                             f"{', '.join(TOKENS)} or b<batch>, joined by '+')")
    return sets


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name, flags, fam, model = platform.processor() or "unknown", set(), "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name":
                    name = v
                elif k == "flags" and not flags:
                    flags = set(v.split())
                elif k == "cpu family":
                    fam = v
                elif k == "model" and model == "?":
                    model = v
    except OSError:
        pass
    isa = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else platform.machine()
    return f"{name} (family {fam} model {model}, {isa})"


def synthetic_pool(cfg: configs.Config, manifest: dict, device: torch.device, seqs: int,
                   seed: int):
    """A pool of random latents (the latents' std, 0.5), in-range random actions and random-walk
    poses, in the pool class the trainer would use."""
    c, lat = cfg.dyn, manifest["latent"]
    shape = (lat["channels"], lat["height"], lat["width"])
    A = len(manifest["actions"]["names"])
    T = cfg.data.chunk
    g = torch.Generator().manual_seed(seed)
    z = 0.5 * torch.randn((seqs, T) + shape, generator=g)
    lo = torch.tensor(manifest["actions"]["min"], dtype=torch.float32)
    hi = torch.tensor(manifest["actions"]["max"], dtype=torch.float32)
    a = lo + (hi - lo) * torch.rand((seqs, T, A), generator=g)
    if c.memory_slots > 0:
        pool = memory_data.PosedClipPool(seqs, T, shape, A, device, seed=seed)
        steps = torch.randn((seqs, T, 3), generator=g) * torch.tensor([0.1, 0.1, 0.05])
        pool.add(z.to(device), a.to(device), steps.cumsum(dim=1))
    else:
        pool = data.ClipPool(seqs, T, shape, A, device, seed=seed)
        pool.add(z.to(device), a.to(device))
    return pool


class Variant:
    def __init__(self, name: str, base: configs.Config, layout: dict, device: torch.device,
                 seed: int, pool_seqs: int):
        self.name, self.sets = name, variant_sets(name)
        cfg = base
        for s in self.sets:
            cfg = configs.override(cfg, s)
        self.cfg = cfg
        self.manifest = configs.manifest_for(cfg, layout, latent_scale=1.0)
        torch.manual_seed(seed)
        model = trainer.to_memory_format(modules.Denoiser(self.manifest).to(device),
                                         cfg.channels_last)
        ema = trainer.EMA(model, cfg.dyn.ema) if cfg.dyn.ema > 0 else None
        opt = trainer.make_optimizer(model.parameters(), cfg.dyn.lr, cfg.dyn.weight_decay, device)
        net = trainer.maybe_compile(model, cfg.compile, cfg.compile_mode)
        pool = synthetic_pool(cfg, self.manifest, device, pool_seqs, seed)
        self.compiled = net is not model
        self.step_fn = DynStep(cfg, self.manifest, model, net, net, opt, ema, pool, device)
        self.ae = trainer.to_memory_format(modules.Autoencoder(self.manifest).to(device),
                                           cfg.channels_last).eval()
        self.device, self.step, self.block_ms, self.warmup_s = device, 0, [], 0.0
        self.targets = 0
        self.encode_ms_per_frame = float("nan")

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def warm(self, steps: int):
        t = time.perf_counter()
        for _ in range(steps):
            loss, _, self.targets, _ = self.step_fn(self.step, 1e-4)
            self.step += 1
        trainer.finite_or_raise(loss.detach(), f"bench-step {self.name}", self.step)
        self.sync()
        self.warmup_s += time.perf_counter() - t

    def run_for(self, seconds: float, block: int):
        end = time.perf_counter() + seconds
        while True:
            self.sync()
            t = time.perf_counter()
            for _ in range(block):
                _, _, self.targets, _ = self.step_fn(self.step, 1e-4)
                self.step += 1
            self.sync()
            now = time.perf_counter()
            self.block_ms.append((now - t) * 1e3 / block)
            if now >= end:
                break

    def time_encode(self, frames: int, max_s: float = 3.0):
        """ms per frame of the data pull's encoder over up to `frames` random frames, in its
        batches of up to 1,024, stopping after the batch that passes max_s (a CPU encodes a
        frame in tens of ms)."""
        if frames <= 0:
            return
        H = self.manifest["frame"]["height"]
        W = self.manifest["frame"]["width"]
        u8 = torch.randint(0, 256, (1, frames, H, W, 3), dtype=torch.uint8).numpy()
        batch = min(1024, frames)
        encode_chunks(self.ae, u8[:, :min(batch, 8)], self.device, batch, self.cfg.channels_last)
        self.sync()
        done, t = 0, time.perf_counter()
        while done < frames:
            n = min(batch, frames - done)
            encode_chunks(self.ae, u8[:, done:done + n], self.device, batch,
                          self.cfg.channels_last)
            self.sync()
            done += n
            if time.perf_counter() - t > max_s:
                break
        self.encode_ms_per_frame = (time.perf_counter() - t) * 1e3 / done

    def record(self, model_name: str, backend: str, mach: str) -> Dict:
        med, p95, p99 = quantiles(self.block_ms)
        q = {"median_ms": round(med, 3), "p95_ms": round(p95, 3), "p99_ms": round(p99, 3)}
        d = self.cfg.data
        frames_per_step = d.worlds * d.chunk / max(1, d.dyn_pull_every)
        with_data = med + self.encode_ms_per_frame * frames_per_step
        rec = {"bench": "train_step", "machine": mach, "backend": backend, "model": model_name,
               "variant": self.name, "sets": self.sets, "batch": self.cfg.dyn.batch,
               "targets_per_step": self.targets, **q,
               "targets_per_s": round(self.targets / med * 1e3, 1),
               "encode_ms_per_frame": round(self.encode_ms_per_frame, 4),
               "frames_per_step": round(frames_per_step, 1),
               "targets_per_s_with_data": round(self.targets / with_data * 1e3, 3)
               if with_data == with_data else None,
               "compiled": self.compiled, "channels_last": self.cfg.channels_last,
               "warmup_s": round(self.warmup_s, 1), "steps": self.step,
               "torch": torch.__version__}
        return rec


def pick(path: str) -> List[str]:
    """The config overrides of the fastest variant recorded in a bench-step JSON-lines file (by
    targets_per_s_with_data where every record has it), as ["--set", "x=y", ...]; [] when the
    fastest is the unchanged trainer. Lines from several runs (one variant each) may be mixed."""
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e})") from e
            if r.get("bench") == "train_step" and "error" not in r:
                recs.append(r)
    if not recs:
        raise ValueError(f"{path}: no successful train_step record to pick from")
    key = "targets_per_s_with_data" if all(r.get("targets_per_s_with_data") for r in recs) \
        else "targets_per_s"
    best = max(recs, key=lambda r: r[key])
    seen = ", ".join(f"{r['variant']} {r[key]}" for r in recs)
    print(f"bench-step: fastest of {len(recs)} is '{best['variant']}' at {best[key]} {key} "
          f"({seen})", file=sys.stderr)
    return [a for s in best["sets"] for a in ("--set", s)]


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="gpu", help="smoke | cpu | gpu (default gpu)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="config override applied before every variant's (repeatable)")
    p.add_argument("--variants", default="eager,nhwc",
                   help="comma-separated variants (default eager,nhwc); the first is the "
                        "baseline of the ratio")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="timed seconds per variant, split over the rounds (default 10)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed steps per variant before timing (compilation happens here)")
    p.add_argument("--block", type=int, default=5, help="steps between device syncs (default 5)")
    p.add_argument("--encode-frames", type=int, default=2048,
                   help="frames encoded to time the data pull's encoder (0 = skip)")
    p.add_argument("--pool-seqs", type=int, default=64, help="synthetic pool size in sequences")
    p.add_argument("--device", default=None, help="cpu | cuda (default: the config's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    p.add_argument("--pick", default=None, metavar="JSONL",
                   help="measure nothing: print the fastest recorded variant's overrides as "
                        "'--set x=y ...' (scripts/gpu_train.sh uses this)")


def cmd(args) -> None:
    if args.pick:
        print(" ".join(pick(args.pick)))
        return
    for name, v in (("--seconds", args.seconds), ("--rounds", args.rounds),
                    ("--block", args.block), ("--pool-seqs", args.pool_seqs)):
        if not v > 0:
            raise ValueError(f"{name} must be positive; got {v}")
    if args.warmup < 1:
        raise ValueError(f"--warmup must be at least 1; got {args.warmup}")
    base = configs.get_config(args.config)
    for s in args.set:
        base = configs.override(base, s)
    device = trainer.pick_device(args.device or base.device)
    trainer.setup_backend(device)
    if hasattr(torch, "_dynamo"):  # every compiled variant is another module instance
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not names:
        raise ValueError("--variants names no variant")
    for n in names:
        variant_sets(n)
    layout = data.action_layout()
    backend = f"torch-{device.type}" + ("-bf16" if device.type == "cuda" else "-f32")
    mach = machine(device)
    out = open(args.out, "a") if args.out else None

    def emit(rec):
        line = json.dumps(rec)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    variants, failed = [], {}
    for n in names:
        try:
            v = Variant(n, base, layout, device, args.seed, args.pool_seqs)
            v.warm(args.warmup)
            v.time_encode(args.encode_frames)
            variants.append(v)
            print(f"[bench-step] {n}: ready, warm-up {v.warmup_s:.1f} s", file=sys.stderr,
                  flush=True)
        except Exception as e:  # a variant this PyTorch/card cannot run is a result, not a crash
            failed[n] = f"{type(e).__name__}: {e}"[:500]
            emit({"bench": "train_step", "machine": mach, "backend": backend,
                  "model": args.config, "variant": n, "error": failed[n]})
    for _ in range(args.rounds):
        for v in variants:
            v.run_for(args.seconds / args.rounds, args.block)
    recs = [v.record(args.config, backend, mach) for v in variants]
    for r in recs:
        emit(r)
    if recs:
        key = "targets_per_s_with_data" if all(r["targets_per_s_with_data"] for r in recs) \
            else "targets_per_s"
        best = max(recs, key=lambda r: r[key])
        first = recs[0]
        emit({"bench": "train_step_best", "machine": mach, "backend": backend,
              "model": args.config, "by": key, "variant": best["variant"], "sets": best["sets"],
              "value": best[key], "baseline": first["variant"],
              "ratio": round(best[key] / first[key], 3),
              "ratios": {r["variant"]: round(r[key] / first[key], 3) for r in recs},
              "failed": sorted(failed)})
    if out:
        out.close()
    if not recs:
        print("bench-step: every variant failed (see the error lines)", file=sys.stderr)
        sys.exit(1)


COMMANDS = {"bench-step": (cmd, "time the denoiser trainer's step (variants: eager, nhwc, "
                                "compile, graphs, b<N>) and print JSON lines", add_args)}
