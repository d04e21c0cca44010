"""The training pipeline's subcommands of `python3 -m train` (registered into train/__main__.py's
dispatcher): ae, dyn, all, export, eval, episodes, convert."""
from __future__ import annotations

import functools
import glob
import json
import os
import platform
import sys
import time

import torch


def _common(p, out_default=True):
    p.add_argument("--config", default="cpu", help="smoke | cpu | gpu (default cpu)")
    if out_default:
        p.add_argument("--out", default=None, help="run directory (default runs/<config>)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override a config field, e.g. --set dyn.lr=1e-4 (repeatable)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda (default: the config's)")


def _train_args(p):
    _common(p)
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds of training (data generation included); stops cleanly")
    p.add_argument("--steps", type=int, default=None, help="stop at this total step count")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--episodes", default=None,
                   help="train on .npz episodes (directory or file) instead of live worlds")
    p.add_argument("--profile-steps", type=int, default=0, metavar="N",
                   help="profile N denoiser steps (torch.profiler, phases labelled) into "
                        "<out>/profile_dyn.txt")


def load_config(args):
    from . import configs
    cfg = configs.get_config(args.config)
    for s in args.set:
        cfg = configs.override(cfg, s)
    if getattr(args, "device", None):
        cfg.device = args.device
    return cfg


def _out(args, cfg):
    return args.out or os.path.join("runs", cfg.name)


def cmd_ae(args):
    from . import train_ae
    cfg = load_config(args)
    train_ae.run(cfg, _out(args, cfg), args.time_budget, args.steps, not args.fresh,
                 args.episodes)


def cmd_dyn(args):
    from . import train_dyn
    cfg = load_config(args)
    train_dyn.run(cfg, _out(args, cfg), args.time_budget, args.steps, not args.fresh,
                  args.episodes, args.profile_steps)


def cmd_all(args):
    """Autoencoder then denoiser, splitting --time-budget by the config's ae_fraction, then export.
    With a budget, an autoencoder that already reached its share (resume) hands the rest on."""
    from . import train_ae, train_dyn
    from .trainer import stop_requested
    cfg = load_config(args)
    out = _out(args, cfg)
    t0 = time.perf_counter()
    if args.time_budget:
        ae_budget = args.time_budget * cfg.ae_fraction
        if args.skip_ae_if_trained and _has_stage(out, "ae"):
            ae_budget = 0
        if ae_budget > 0:
            train_ae.run(cfg, out, ae_budget, None, not args.fresh, args.episodes)
        if stop_requested():
            return
        left = args.time_budget - (time.perf_counter() - t0)
        train_dyn.run(cfg, out, max(1.0, left), None, not args.fresh, args.episodes,
                      args.profile_steps)
    else:
        train_ae.run(cfg, out, None, args.ae_steps, not args.fresh, args.episodes)
        if stop_requested():
            return
        train_dyn.run(cfg, out, None, args.steps, not args.fresh, args.episodes,
                      args.profile_steps)
    if args.model:
        export_run(out, args.model, args.dtype, cfg)


def _has_stage(out, stage):
    from . import checkpoint
    return checkpoint.find_latest(out, stage) is not None


def export_run(out: str, model_path: str, dtype: str, cfg=None, eval_json: str = None,
               name: str = None) -> dict:
    """Writes the run's autoencoder + EMA denoiser as one .safetensors file with a manifest that
    names the config, the data, the steps and (when given) the eval numbers."""
    from . import configs, export, train_ae, train_dyn
    dev = torch.device("cpu")
    ae, ae_st = train_ae.load_autoencoder(out, dev)
    run_cfg = configs.from_dict(ae_st["config"])
    if cfg is not None and cfg.name != run_cfg.name:
        print(f"export: note: the run was trained with config '{run_cfg.name}'", flush=True)
    cfg = run_cfg
    m = configs.manifest_for(cfg, ae_st["layout"], latent_scale=ae_st["latent_scale"],
                             name=name or f"worldloop-{cfg.name}")
    dn, dn_st = train_dyn.load_denoiser(out, dev, m)
    dcfg = configs.from_dict(dn_st["config"])
    d = dcfg.data
    training = {
        "config": cfg.name,
        "data": {"source": "procedural ground-truth worlds (native/world) on the fly, "
                           "exploration policy", "frame_size": d.frame_size, "worlds": d.worlds,
                 "episode_ticks": d.episode_ticks, "train_seed_base": d.seed_base,
                 "eval_seed_base": d.eval_seed_base, "p_light": d.p_light, "p_spawn": d.p_spawn,
                 "p_random": d.p_random, "random_ticks": [d.random_min, d.random_max]},
        "autoencoder": {"steps": int(ae_st["step"]), "samples": int(ae_st.get("samples", 0)),
                        "seconds": round(float(ae_st.get("elapsed_s", 0)), 1),
                        "batch": cfg.ae.batch, "lr": cfg.ae.lr},
        "denoiser": {"steps": int(dn_st["step"]), "samples": int(dn_st.get("samples", 0)),
                     "seconds": round(float(dn_st.get("elapsed_s", 0)), 1),
                     "batch": dcfg.dyn.batch, "lr": dcfg.dyn.lr, "ema": dcfg.dyn.ema,
                     "unroll": dcfg.dyn.unroll, "unroll_prob": dcfg.dyn.unroll_prob,
                     "ctx_noise_max": dcfg.dyn.ctx_noise_max,
                     "ctx_noise_prob": dcfg.dyn.ctx_noise_prob,
                     "weights": "ema" if dn_st.get("ema") is not None else "raw"},
        "torch": torch.__version__, "host": platform.node(), "exported": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "storage_dtype": dtype,
    }
    if eval_json:
        training["eval"] = _eval_digest(_load_eval_json(eval_json))
    if dn_st.get("history"):
        training["history"] = dn_st["history"]  # earlier runs this one continued (import-model)
    m["training"] = training
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    tmp = model_path + ".tmp"
    export.export_model(tmp, m, ae, dn, dtype=dtype)
    os.replace(tmp, model_path)
    size = os.path.getsize(model_path)
    print(json.dumps({"exported": model_path, "bytes": size, "dtype": dtype,
                      "ae_steps": training["autoencoder"]["steps"],
                      "dyn_steps": training["denoiser"]["steps"]}), flush=True)
    return m


def _load_eval_json(path: str) -> dict:
    """A `train eval` result, checked to be one (export and stamp put it into a manifest)."""
    with open(path) as f:
        try:
            ev = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e})") from None
    if not isinstance(ev, dict) or "rollout" not in ev:
        raise ValueError(f"{path}: not a `train eval` result (no 'rollout')")
    return ev


def _eval_digest(ev: dict) -> dict:
    """The eval numbers that travel in the manifest (the full JSON stays beside the model)."""
    hz = ev.get("rollout", {}).get("horizons", {})
    dig = {"held_out_seeds": ev.get("held_out_seeds"), "sampler_steps": ev.get("sampler_steps"),
           "horizons": {h: {k: v[k] for k in ("psnr", "ssim", "psnr_autoencoder",
                                              "psnr_copy_last", "sharpness_ratio",
                                              "sharpness_autoencoder") if k in v}
                        for h, v in hz.items()},
           "action_agreement": ev.get("actions", {}).get("agreement"),
           "events": {k: {"applied": v.get("applied"), "change_ratio": v.get("change_ratio")}
                      for k, v in ev.get("events", {}).items()},
           "collapse": {k: ev.get("collapse", {}).get(k) for k in
                        ("frames", "collapsed", "nan_frames", "black_frames",
                         "saturated_frames", "frozen_runs")},
           "targets_met": {k: v["met"] for k, v in ev.get("targets", {}).items()}}
    p = ev.get("parity", {})
    if "max_abs_latent_rollout" in p:
        dig["engine_parity_max_abs_latent"] = p["max_abs_latent_rollout"]
    return dig


def cmd_export(args):
    cfg = load_config(args)
    export_run(_out(args, cfg), args.model, args.dtype, cfg, args.eval_json, args.name)


def cmd_stamp(args):
    """A model file's manifest rewritten, its weights untouched: eval numbers from an eval JSON
    (for a model trained on another machine, whose run directory is not here) and/or sampler
    settings found by evaluating them (`eval --steps/--context-noise`)."""
    from . import export, manifest
    if args.steps is not None:
        manifest.check_sampler_steps(args.steps, "--sampler-steps")
    if args.context_noise is not None:
        manifest.check_context_noise(args.context_noise, "--context-noise")
    ev = _load_eval_json(args.eval_json) if args.eval_json else None

    def change(m):
        m = dict(m, sampler=dict(m["sampler"]))
        if args.steps is not None:
            m["sampler"]["steps"] = args.steps
        if args.context_noise is not None:
            m["sampler"]["context_noise_sigma"] = args.context_noise
        if ev is not None:
            t = dict(m.get("training") or {})
            t["eval"] = _eval_digest(ev)
            m["training"] = t
        return m

    m = export.restamp(args.model, args.out or args.model, change)
    print(json.dumps({"stamped": args.out or args.model, "sampler": m["sampler"],
                      "eval": ev is not None}), flush=True)


def cmd_eval(args):
    from . import eval as ev
    cfg = load_config(args)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.model)) or ".", "eval")
    if args.worlds:
        cfg.eval.worlds = args.worlds
    if args.collapse_frames:
        cfg.eval.collapse_frames = args.collapse_frames
    if args.steps:
        cfg.eval.steps = args.steps
    sigmas = None
    if args.sigmas is not None:
        try:
            sigmas = [float(v) for v in args.sigmas.split(",")]
        except ValueError:
            raise SystemExit(f"--sigmas: expected comma-separated numbers, got '{args.sigmas}'")
    ev.run(args.model, cfg, out, args.device, args.engine_lib, args.quick, args.seed,
           args.context_noise, sigmas, args.warm_start)


def cmd_episodes(args):
    """Writes episodes of ground-truth play in the on-disk format (a demo/test of the format, and a
    fixed dataset when one is wanted)."""
    from . import data, eval as ev, world
    layout = world.action_layout()
    names = [c["name"] for c in layout["channels"]]
    os.makedirs(args.out, exist_ok=True)
    seeds = [args.seed + i for i in range(args.count)]
    fr, ac = ev.truth_play(seeds, args.ticks, args.frame_size)
    for i, s in enumerate(seeds):
        p = os.path.join(args.out, f"episode_{s:08d}.npz")
        data.save_episode(p, fr[i], ac[i], names, meta={"source": "worldloop truth world",
                                                         "seed": s})
        print(p)


def cmd_import_model(args):
    """Turns a model file into the run's checkpoints (weights only; the optimiser warms up again) so
    training continues from a shipped model — e.g. the next GPU session from models/."""
    from . import checkpoint, configs, export, modules
    cfg = load_config(args)
    out = _out(args, cfg)
    m, ae, dn = export.load_model(args.model)
    a = m["actions"]
    kinds = a.get("kinds") or ["axis"] * len(a["names"])
    layout = {"channels": [{"name": n, "min": lo, "max": hi, "kind": k}
                           for n, lo, hi, k in zip(a["names"], a["min"], a["max"], kinds)]}
    objects = (m.get("objects") or {}).get("kinds")
    if not objects and "spawn" in a["names"]:
        # Exported before manifests listed them: its spawn event spawned the truth world's kinds.
        from . import world
        objects = world.action_layout()["objects"]
    if objects:
        layout["objects"] = list(objects)
    want = configs.manifest_for(cfg, layout, latent_scale=m["latent"]["scale"])
    if want["denoiser"].get("memory") and not m["denoiser"].get("memory"):
        # A memory-less model continuing as a memory model (--set dyn.memory_slots=M): the new
        # inputs start at zero weight, so the widened net computes exactly what the file did.
        dn = modules.widen_to_memory(dn, want)
        m = dict(m, denoiser=want["denoiser"])
        print(f"import-model: widened the denoiser to {cfg.dyn.memory_slots} memory slots "
              "(new weights zero: same outputs until trained)", flush=True)
    keys = ("frame", "autoencoder") if args.autoencoder_only else ("frame", "autoencoder",
                                                                    "denoiser")
    for key in keys:
        if want[key] != m[key]:
            raise ValueError(f"{args.model}: {key} is {m[key]}, config '{cfg.name}' builds "
                             f"{want[key]}; pick the config the model was trained with")
    if any(want["latent"][k] != m["latent"][k] for k in ("channels", "height", "width")):
        raise ValueError(f"{args.model}: latent {m['latent']} does not match config '{cfg.name}'")
    if checkpoint.find_latest(out, "ae") or checkpoint.find_latest(out, "dyn"):
        if not args.force:
            raise ValueError(f"{out} already has checkpoints; pass --force to replace them")
    t = m.get("training") or {}
    # Provenance: the model's own training block joins the chain of earlier runs, and the export
    # of this run writes the chain into its manifest (training.history).
    earlier = {k: v for k, v in t.items() if k != "history"}
    history = list(t.get("history") or []) + ([dict(earlier, file=args.model)] if earlier else [])
    common = {"optimizer": None, "config": cfg.to_dict(), "layout": layout,
              "latent_scale": float(m["latent"]["scale"]), "imported_from": args.model,
              "history": history, "time": time.time()}
    ta, td = t.get("autoencoder", {}), t.get("denoiser", {})
    checkpoint.save(out, "ae", dict(common, step=int(ta.get("steps", 0)),
                                    samples=int(ta.get("samples", 0)),
                                    elapsed_s=float(ta.get("seconds", 0)),
                                    model=ae.state_dict()))
    if args.autoencoder_only:
        # No denoiser checkpoint: `train all --skip-ae-if-trained` trains one from scratch.
        for p in glob.glob(os.path.join(checkpoint.ckpt_dir(out), "dyn-*.pt")):
            os.remove(p)
        print(json.dumps({"imported": args.model, "out": out, "ae_steps": ta.get("steps", 0),
                          "dyn_steps": 0, "autoencoder_only": True}), flush=True)
        return
    checkpoint.save(out, "dyn", dict(common, step=int(td.get("steps", 0)),
                                     samples=int(td.get("samples", 0)),
                                     elapsed_s=float(td.get("seconds", 0)),
                                     model=dn.state_dict(), ema=None,
                                     ae_step=int(ta.get("steps", 0))))
    print(json.dumps({"imported": args.model, "out": out, "ae_steps": ta.get("steps", 0),
                      "dyn_steps": td.get("steps", 0)}), flush=True)


def cmd_convert(args):
    from . import recordings
    for p in recordings.convert(args.recording, args.out, frame_size=args.frame_size):
        print(p)


COMMANDS = {
    "ae": (cmd_ae, "train the autoencoder (stage 1)", _train_args),
    "dyn": (cmd_dyn, "train the denoiser on frozen latents (stage 2)", _train_args),
    "all": (cmd_all, "autoencoder then denoiser in one time budget, then export",
            lambda p: (_train_args(p),
                       p.add_argument("--ae-steps", type=int, default=None),
                       p.add_argument("--skip-ae-if-trained", action="store_true",
                                      help="with a budget: give it all to the denoiser when an "
                                           "autoencoder checkpoint exists (resumed GPU runs)"),
                       p.add_argument("--model", default=None,
                                      help="export the result to this .safetensors path"),
                       p.add_argument("--dtype", default="BF16",
                                      choices=["F32", "F16", "BF16"]))),
    "export": (cmd_export, "export a run to one .safetensors model file",
               lambda p: (_common(p), p.add_argument("--model", required=True),
                          p.add_argument("--dtype", default="BF16",
                                         choices=["F32", "F16", "BF16"]),
                          p.add_argument("--eval-json", default=None,
                                         help="put this eval's numbers into the manifest"),
                          p.add_argument("--name", default=None))),
    "eval": (cmd_eval, "evaluate a model file against the ground-truth world",
             lambda p: (_common(p), p.add_argument("--model", required=True),
                        p.add_argument("--engine-lib", default=None,
                                       help="libworldloop.so for the engine parity check"),
                        p.add_argument("--quick", action="store_true",
                                       help="fewer clips, 256-frame collapse check"),
                        p.add_argument("--worlds", type=int, default=None),
                        p.add_argument("--collapse-frames", type=int, default=None),
                        p.add_argument("--steps", type=int, default=None,
                                       help="sampler steps (default: the config's eval steps)"),
                        p.add_argument("--context-noise", type=float, default=None, metavar="S",
                                       help="context noise level given as conditioning (default: "
                                            "the manifest's sampler.context_noise_sigma; "
                                            "overriding it skips the engine parity check)"),
                        p.add_argument("--sigmas", default=None, metavar="S0,S1,..",
                                       help="sampler experiment: these noise levels (then 0) "
                                            "instead of the Karras ramp; skips parity"),
                        p.add_argument("--warm-start", action="store_true",
                                       help="sampler experiment: start from the newest context "
                                            "latent plus noise; skips parity"),
                        p.add_argument("--seed", type=int, default=0))),
    "episodes": (cmd_episodes, "write ground-truth play as .npz episodes",
                 lambda p: (p.add_argument("--out", required=True),
                            p.add_argument("--count", type=int, default=4),
                            p.add_argument("--ticks", type=int, default=256),
                            p.add_argument("--frame-size", type=int, default=128),
                            p.add_argument("--seed", type=int, default=1 << 42))),
    "import-model": (cmd_import_model, "continue training from a model file (writes checkpoints)",
                     lambda p: (_common(p), p.add_argument("--model", required=True),
                                p.add_argument("--force", action="store_true"),
                                p.add_argument("--autoencoder-only", action="store_true",
                                               help="import the autoencoder only: the denoiser "
                                                    "then trains afresh in the config's shape "
                                                    "(e.g. --set dyn.predicts=residual)"))),
    "stamp": (cmd_stamp, "rewrite a model file's manifest (eval numbers, sampler settings); "
                         "weights untouched",
              lambda p: (p.add_argument("--model", required=True),
                         p.add_argument("--out", default=None,
                                        help="write here instead of over --model"),
                         p.add_argument("--eval-json", default=None,
                                        help="put this `train eval` result into the manifest"),
                         p.add_argument("--sampler-steps", dest="steps", type=int, default=None),
                         p.add_argument("--context-noise", type=float, default=None,
                                        metavar="S", help="sampler.context_noise_sigma"))),
    "convert": (cmd_convert, "convert a worldloop recording to .npz episodes",
                lambda p: (p.add_argument("recording"), p.add_argument("--out", required=True),
                           p.add_argument("--frame-size", type=int, default=128))),
}


def _user_errors(name, fn):
    """Bad input (files, flags, configs) ends the command with one line naming the problem and exit
    status 2, not a traceback; genuine bugs still raise."""
    @functools.wraps(fn)
    def run(args):
        from .data import EpisodeError
        try:
            return fn(args)
        except (ValueError, FileNotFoundError, EpisodeError, OSError) as e:
            print(f"train {name}: error: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
    return run


from .lab_commands import COMMANDS as _LAB_COMMANDS  # noqa: E402
from .bench_step import COMMANDS as _BENCH_COMMANDS  # noqa: E402
COMMANDS.update(_LAB_COMMANDS)
COMMANDS.update(_BENCH_COMMANDS)
COMMANDS = {k: (_user_errors(k, fn), h, a) for k, (fn, h, a) in COMMANDS.items()}
