"""What every training stage shares: device and precision choice, optional DistributedDataParallel
(torchrun sets RANK/WORLD_SIZE; gloo on CPU, NCCL on CUDA), the time budget with a learning-rate
schedule tied to it, progress lines, the JSONL metrics log and EMA weights."""
from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import time
from typing import Dict, Optional

import torch
import torch.distributed as dist


_STOP = {"flag": False}


def install_stop_handler() -> None:
    """SIGTERM/SIGINT end the step loop cleanly (final checkpoint and all) instead of killing the
    process mid-write: the GPU script runs training under `timeout`."""
    def handler(signum, frame):
        if _STOP["flag"]:  # second signal: give up at once
            raise KeyboardInterrupt
        _STOP["flag"] = True
        print(f"train: signal {signum}: stopping after this step", flush=True)
    for s in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(s, handler)
        except ValueError:  # not the main thread (e.g. under a test runner thread)
            pass


def stop_requested() -> bool:
    return _STOP["flag"]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config asks for CUDA but torch.cuda.is_available() is False "
                           "(use --device cpu or a config meant for CPU)")
    if name == "cpu":
        use_all_cpus()
    return torch.device(name)


def use_all_cpus() -> int:
    """Sets PyTorch's intra-op threads to the CPUs this process may run on, unless the user chose
    with OMP_NUM_THREADS. Measured on the 2-core dev machine: Debian's PyTorch 1.13 starts with
    one thread there, and a 3x3 convolution then runs 1.8x slower than with two."""
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    if torch.get_num_threads() < n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


class Dist:
    """Process-group membership. Inactive (rank 0 of 1) unless launched by torchrun."""

    def __init__(self, device: torch.device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.active = self.world > 1
        if self.active and not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(self.local_rank)
            dist.init_process_group(backend=backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, base: torch.device) -> torch.device:
        if base.type == "cuda" and self.active:
            return torch.device("cuda", self.local_rank)
        return base

    def any_flag(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when any rank says True (used for the shared stop decision)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def mean(self, value: float, device: torch.device) -> float:
        if not self.active:
            return value
        t = torch.tensor([value], device=device, dtype=torch.float64 if device.type == "cpu"
                         else torch.float32)
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def barrier(self):
        if self.active:
            dist.barrier()

    def close(self):
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def start_stage(device_name: str, seed: int):
    """Common start of a training stage: pick the device, join DDP when torchrun launched us,
    install the clean-stop handler, set the backend flags, and seed this rank.
    Returns (dist, device)."""
    base = pick_device(device_name)
    dd = Dist(base)
    install_stop_handler()
    device = dd.device(base)
    setup_backend(device)
    torch.manual_seed(seed + dd.rank)
    return dd, device


def autocast(device: torch.device):
    """bf16 autocast on CUDA; full fp32 on CPU (bf16 CPU autocast is slow in PyTorch 1.13)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def setup_backend(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")


def maybe_compile(module: torch.nn.Module, enabled: bool,
                  mode: str = "default") -> torch.nn.Module:
    """torch.compile when asked for and available (PyTorch 2.x); otherwise the module itself."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile_mode must be one of {', '.join(COMPILE_MODES)}; got '{mode}'")
    if not enabled or not hasattr(torch, "compile"):
        return module
    try:
        return torch.compile(module, mode=mode)
    except Exception as e:  # pragma: no cover - depends on the installed toolchain
        print(f"train: torch.compile unavailable ({e}); running eagerly", flush=True)
        return module


class EMA:
    """Exponential moving average of a module's parameters and buffers, with the usual warm-up so
    early steps are not dominated by the random initialisation."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = copy.deepcopy(module).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, module: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        sp = list(self.shadow.parameters())
        mp = [p.detach() for p in module.parameters()]
        if hasattr(torch, "_foreach_lerp_"):  # a few fused launches instead of two per tensor
            torch._foreach_lerp_(sp, mp, 1 - d)
        else:
            for s, p in zip(sp, mp):
                s.mul_(d).add_(p, alpha=1 - d)
        for s, b in zip(self.shadow.buffers(), module.buffers()):
            s.copy_(b)


def make_optimizer(params, lr: float, weight_decay: float, device: torch.device):
    """AdamW; the fused CUDA kernel when this PyTorch has it (one launch for all tensors: the
    denoiser's step is launch-bound at 16x16 latents)."""
    kw = dict(lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))
    if device.type == "cuda":
        try:
            return torch.optim.AdamW(params, fused=True, **kw)
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(params, **kw)


class Schedule:
    """Linear warm-up, constant, then a linear decay to 10% over the final `decay_frac` of the
    time budget (or of max_steps when there is no budget) — a time-budgeted run still ends with a
    low learning rate."""

    def __init__(self, base_lr: float, warmup: int, budget_s: Optional[float], max_steps: int,
                 decay_frac: float = 0.2, warm_origin: int = 0):
        self.base, self.warmup, self.budget, self.max_steps = base_lr, warmup, budget_s, max_steps
        self.decay_frac, self.warm_origin = decay_frac, warm_origin

    def lr(self, step: int, elapsed: float, step0: int) -> float:
        w = min(1.0, (step - self.warm_origin + 1) / max(1, self.warmup))
        if self.budget:
            frac_left = max(0.0, 1.0 - elapsed / self.budget)
        else:
            frac_left = max(0.0, 1.0 - (step - step0) / max(1, self.max_steps - step0))
        d = 1.0 if frac_left >= self.decay_frac else 0.1 + 0.9 * frac_left / self.decay_frac
        return self.base * w * d


class Progress:
    """Progress lines on stdout and one JSON object per logged step in <out>/metrics.jsonl."""

    def __init__(self, out: str, stage: str, main: bool, budget_s: Optional[float],
                 max_steps: int, step0: int):
        self.stage, self.main, self.budget, self.max_steps = stage, main, budget_s, max_steps
        self.t0 = time.perf_counter()
        self.step0 = step0
        self.samples = 0
        self.window_t, self.window_samples = self.t0, 0
        self.path = os.path.join(out, "metrics.jsonl")
        if main:
            os.makedirs(out, exist_ok=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def add_samples(self, n: int) -> None:
        self.samples += n
        self.window_samples += n

    def log(self, step: int, values: Dict[str, float], extra: Optional[Dict] = None) -> None:
        now = time.perf_counter()
        rate = self.window_samples / max(1e-9, now - self.window_t)
        self.window_t, self.window_samples = now, 0
        el = now - self.t0
        done_steps = step - self.step0
        eta_steps = (self.max_steps - step) * el / max(1, done_steps)
        eta = min(eta_steps, self.budget - el) if self.budget else eta_steps
        rec = {"stage": self.stage, "step": step, "time_s": round(el, 2),
               "samples_per_s": round(rate, 1), "eta_s": round(max(0.0, eta), 1)}
        rec.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()})
        if extra:
            rec.update(extra)
        if not self.main:
            return
        parts = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in values.items())
        print(f"[{self.stage}] step {step} {parts} | {rate:.0f} samples/s | "
              f"{el:.0f}s elapsed, ETA {max(0.0, eta):.0f}s", flush=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def event(self, rec: Dict) -> None:
        if self.main:
            with open(self.path, "a") as f:
                f.write(json.dumps(dict(rec, stage=self.stage)) + "\n")


def to_memory_format(module: torch.nn.Module, channels_last: bool) -> torch.nn.Module:
    """The module's 4-D weights in NHWC when channels_last (values unchanged; exports and
    checkpoints store logical NCHW arrays either way)."""
    return module.to(memory_format=torch.channels_last) if channels_last else module


def unwrap(m: torch.nn.Module) -> torch.nn.Module:
    m = getattr(m, "module", m)          # DDP
    return getattr(m, "_orig_mod", m)    # torch.compile


def finite_or_raise(loss: torch.Tensor, stage: str, step: int) -> None:
    if not math.isfinite(float(loss)):
        raise FloatingPointError(f"{stage}: loss became {float(loss)} at step {step} "
                                 "(lower the learning rate or check the data)")


class StepProfiler:
    """`--profile-steps N`: after `skip` warm-up steps, N training steps run under torch.profiler
    with each phase of a step labelled (phase()), then <out>/profile_<stage>.txt gets the labelled
    phases and the top ops by self time (CUDA time on a GPU), and one summary line is printed.
    Meant for finding where a GPU step goes; inactive (no overhead) when N is 0."""

    def __init__(self, out: str, stage: str, steps: int, device: torch.device, main: bool,
                 skip: int = 5):
        self.out, self.stage, self.steps, self.device = out, stage, max(0, steps), device
        self.main, self.skip = main, skip
        self.seen, self.prof, self.t0 = 0, None, 0.0

    def phase(self, name: str):
        if self.prof is None:
            return contextlib.nullcontext()
        return torch.profiler.record_function(name)

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def after_step(self) -> None:
        if not self.steps or not self.main:
            return
        self.seen += 1
        if self.seen == self.skip:
            acts = [torch.profiler.ProfilerActivity.CPU]
            if self.device.type == "cuda":
                acts.append(torch.profiler.ProfilerActivity.CUDA)
            self._sync()
            self.prof = torch.profiler.profile(activities=acts)
            self.prof.__enter__()
            self.t0 = time.perf_counter()
        elif self.prof is not None and self.seen == self.skip + self.steps:
            self._sync()
            wall = (time.perf_counter() - self.t0) / self.steps
            prof, self.prof = self.prof, None
            prof.__exit__(None, None, None)
            # The profiler's reporting API differs between PyTorch 1.13 and 2.x (cuda_* became
            # device_*); a failure here must never stop the training run it is measuring.
            try:
                self._report(prof, wall)
            except Exception as e:  # pragma: no cover - depends on the PyTorch version
                print(f"[{self.stage}] profile report failed ({e!r}); training goes on", flush=True)

    def _report(self, prof, wall: float) -> None:
        on_gpu = self.device.type == "cuda"
        avg = prof.key_averages()

        def device_us(e) -> float:
            us = getattr(e, "device_time_total", None)
            if us is None:
                us = getattr(e, "cuda_time_total", 0)
            return us or 0

        # On a GPU a labelled phase comes back twice under one name: the host range (CPU time)
        # and its GPU annotation (device time). One row per phase, both times summed.
        phases = {}
        for e in avg:
            if e.key.startswith("phase:"):
                cpu, dev = phases.get(e.key, (0.0, 0.0))
                phases[e.key] = (cpu + e.cpu_time_total, dev + device_us(e))
        path = os.path.join(self.out, f"profile_{self.stage}.txt")
        with open(path, "w") as f:
            f.write(f"{self.stage}: {self.steps} steps profiled, {wall * 1e3:.1f} ms wall "
                    f"per step (device {self.device})\n\nphases (per step):\n")
            for key, (cpu, dev) in sorted(phases.items(), key=lambda kv: -kv[1][0]):
                f.write(f"  {key:<24} cpu {cpu / 1e3 / self.steps:8.2f} ms"
                        f"   gpu {dev / 1e3 / self.steps:8.2f} ms\n")
            table = None
            for key in (("self_device_time_total", "self_cuda_time_total") if on_gpu else ())\
                    + ("self_cpu_time_total",):
                try:
                    table = avg.table(sort_by=key, row_limit=40)
                    break
                except Exception:
                    continue
            f.write("\n" + (table or "(no op table from this PyTorch)") + "\n")
        print(f"[{self.stage}] profile: {wall * 1e3:.1f} ms per step over {self.steps} "
              f"steps -> {path}", flush=True)
