"""The proxy lab's subcommands of `python3 -m train` (docs/lab.md): lab-build, lab-cache-build,
lab-depth, lab-train, lab-eval, lab-compare. Registered into train/__main__.py's dispatcher."""
from __future__ import annotations

import glob
import json
import os

from .point_cache import POLICIES

DEFAULT_SET = os.path.join("runs", "lab", "set")
DEFAULT_MODEL = os.path.join("models", "default.safetensors")


def cmd_build(args):
    from . import lab_set, trainer
    trainer.use_all_cpus()
    lab_set.build(args.out, args.model, args.train_worlds, args.ticks, args.held_worlds,
                  args.held_ticks)


def cmd_cache_build(args):
    from . import lab_cache, trainer
    trainer.use_all_cpus()   # a depth head runs in PyTorch, which starts with one thread here
    lab_cache.build(args.set_dir, args.policy, layer_dir=args.layer_dir, fill=args.fill,
                    depth_head=args.depth_head)


def cmd_depth(args):
    from . import lab_depth
    lab_depth.run(args.set_dir, args.out, args.minutes, args.worlds, args.width, args.batch,
                  args.lr, args.seed)


def cmd_train(args):
    from . import lab_eval, lab_train
    out = args.out or os.path.join("runs", "lab", "arms", args.arm)
    path = lab_train.run(args.set_dir, out, args.arm, args.steps, args.set, args.seed,
                         cache_dir=args.cache_dir)
    if not args.no_eval:
        lab_eval.run(path, args.set_dir, out, cache_policy=args.cache_policy,
                     cache_dir=args.cache_dir, depth_head=args.depth_head)


def cmd_critic(args):
    from . import critic, lab_eval
    out = args.out or os.path.join("runs", "lab", "critic")
    path = critic.run(args.set_dir, out, args.steps, args.denoiser_model, args.batch, args.lr,
                      args.adv_weight, args.edge_weight, args.predicted_share, seed=args.seed)
    if not args.no_eval:
        lab_eval.run(path, args.set_dir, out, decoder_model=path)


def _sigmas(text):
    """--sigmas S0,S1,..: the comma-separated schedule, or None."""
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise SystemExit(f"--sigmas: expected comma-separated numbers, got '{text}'")


def cmd_eval(args):
    from . import lab_eval, trainer
    trainer.use_all_cpus()
    res = lab_eval.run(args.model, args.set_dir, args.out, args.steps, args.seed,
                       decoder_model=args.decoder_model, cache_policy=args.cache_policy,
                       cache_feed=args.cache_feed, cache_dir=args.cache_dir,
                       cache_min_valid=args.cache_min_valid,
                       cache_fill_cracks=args.cache_fill_cracks, depth_head=args.depth_head,
                       sigmas=_sigmas(args.sigmas))
    if not args.out:
        print(json.dumps(res, indent=1))


# The compare table: (column, path into lab_eval.json, digits).
COLUMNS = [("tf_psnr", ("teacher_forced", "psnr")), ("tf_sharp", ("teacher_forced", "sharpness_ratio")),
           ("tf_detail", ("teacher_forced", "detail")), ("h8_psnr", ("h8", "psnr")),
           ("h8_over_copy", ("h8", "over_copy_db")), ("h8_sharp", ("h8", "sharpness_ratio")),
           ("h32_psnr", ("h32", "psnr")), ("h32_sharp", ("h32", "sharpness_ratio")),
           ("h32_detail", ("h32", "detail")), ("still1", ("still", "1", "psnr")),
           ("still8", ("still", "8", "psnr")), ("still32", ("still", "32", "psnr")),
           ("still32_sharp", ("still", "32", "sharpness_ratio")), ("flicker", ("still", "flicker")),
           ("still32_self", ("still", "self", "32")),
           ("turn", ("turn", "agreement")), ("return", ("return", "psnr"))]


def compare_rows(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        row = {"run": os.path.basename(os.path.dirname(p)) or p}
        for col, keys in COLUMNS:
            v = r
            for k in keys:
                v = v.get(k) if isinstance(v, dict) else None
            row[col] = v
        rows.append(row)
    return rows


def cmd_compare(args):
    paths = []
    for a in args.runs:
        paths += [a] if a.endswith(".json") else sorted(glob.glob(os.path.join(a, "lab_eval.json")))
    if not paths:
        raise FileNotFoundError("no lab_eval.json under " + " ".join(args.runs))
    rows = compare_rows(paths)
    cols = ["run"] + [c for c, _ in COLUMNS]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(str(r[c]).rjust(w) for c, w in zip(cols, widths)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


def _args_build(p):
    p.add_argument("--out", default=DEFAULT_SET, help=f"set directory (default {DEFAULT_SET})")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="model file whose encoder makes the latents (default: the shipped one)")
    p.add_argument("--train-worlds", type=int, default=384)
    p.add_argument("--ticks", type=int, default=64, help="ticks per training world")
    p.add_argument("--held-worlds", type=int, default=16)
    p.add_argument("--held-ticks", type=int, default=48)


def _args_cache_build(p):
    p.add_argument("--set-dir", default=DEFAULT_SET, help="an existing lab set (its files stay)")
    p.add_argument("--policy", choices=list(POLICIES), default="newest",
                   help="the point cache's policy for the training renders (default newest; "
                        "first: a voxel keeps its first observation)")
    p.add_argument("--layer-dir", default=None,
                   help="write the layer here instead of beside the set's files (a second "
                        "layer, e.g. of another policy, beside the first)")
    p.add_argument("--fill", choices=["none", "newest"], default="none",
                   help="what the renders' holes hold before encoding: black (none) or the "
                        "previous frame's pixels (newest; for predicts residual_render arms)")
    p.add_argument("--depth-head", default=None,
                   help="make the renders with this depth head's predicted depth (lab-depth's "
                        "depth_head.safetensors) instead of the truth's")


def _args_depth(p):
    p.add_argument("--set-dir", default=DEFAULT_SET)
    p.add_argument("--out", default=os.path.join("runs", "lab", "depth"),
                   help="run directory (default runs/lab/depth; resumes from its ckpt/)")
    p.add_argument("--minutes", type=float, default=12.0,
                   help="training wall time in all, resumes included (default 12)")
    p.add_argument("--worlds", type=int, default=192,
                   help="training worlds of the set to re-render with depth (default 192)")
    p.add_argument("--width", type=int, default=16, help="the U-Net's base width (default 16)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)


def _args_cache_eval(p):
    """The cache arguments of a micro-eval, whether lab-train's at the end or lab-eval's."""
    p.add_argument("--cache-dir", default=None,
                   help="a cache arm's cache layer, read by training and by teacher forcing "
                        "(lab-cache-build --layer-dir; default: the one beside the set's files)")
    p.add_argument("--cache-policy", choices=list(POLICIES), default="newest",
                   help="the point cache's policy in the micro-eval's rollouts of a cache arm")
    p.add_argument("--depth-head", default=None,
                   help="the micro-eval's rollouts insert frames with this depth head's "
                        "predicted depth (lab-depth) instead of the truth's")


def _args_train(p):
    from .lab_train import ARMS
    p.add_argument("--arm", required=True, choices=sorted(ARMS),
                   # argparse %-formats help: a literal "%" must be doubled.
                   help="; ".join(f"{k}: {v[1]}" for k, v in ARMS.items()).replace("%", "%%"))
    p.add_argument("--set-dir", default=DEFAULT_SET)
    p.add_argument("--out", default=None, help="run directory (default runs/lab/arms/<arm>)")
    p.add_argument("--steps", type=int, default=3000, help="optimiser steps (default 3000)")
    p.add_argument("--set", action="append", default=[], metavar="dyn.FIELD=VALUE",
                   help="extra config overrides on top of the arm's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-eval", action="store_true", help="skip the micro-eval at the end")
    _args_cache_eval(p)


def _args_eval(p):
    p.add_argument("--model", required=True, help="model file (a lab arm's or the shipped one)")
    p.add_argument("--set-dir", default=DEFAULT_SET)
    p.add_argument("--out", default=None, help="write lab_eval.json and lab_sheet.png here")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: manifest's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--decoder-model", default=None,
                   help="decode with this model file's decoder (default: the set's model)")
    p.add_argument("--sigmas", default=None, metavar="S0,S1,..",
                   help="sampler experiment: these noise levels, then 0 (overrides --steps; "
                        "the engine runs only the manifest's schedule)")
    _args_cache_eval(p)
    p.add_argument("--cache-feed", choices=["model", "truth"], default="model",
                   help="what those rollouts insert into the cache: the model's decoded frames "
                        "(default) or, as a diagnostic, the truth's")
    p.add_argument("--cache-min-valid", type=float, default=0.0,
                   help="a diagnostic: withhold the render (every cache slot) at steps whose "
                        "render's valid fraction is below this (above 1: always)")
    p.add_argument("--cache-fill-cracks", action="store_true",
                   help="a diagnostic: close the cracks of the rollouts' renders (thin holes "
                        "between a surface's points) before they are encoded")


def _args_critic(p):
    p.add_argument("--set-dir", default=DEFAULT_SET)
    p.add_argument("--out", default=None, help="run directory (default runs/lab/critic)")
    p.add_argument("--steps", type=int, default=600, help="decoder steps (default 600)")
    p.add_argument("--denoiser-model", default=None,
                   help="model file whose denoiser makes the predicted latents (default: the "
                        "set's model); its denoiser also goes into the exported file")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--adv-weight", type=float, default=0.1, help="weight of the critic's term")
    p.add_argument("--edge-weight", type=float, default=0.5, help="weight of the gradient L1")
    p.add_argument("--predicted-share", type=float, default=0.5,
                   help="share of each batch decoded from predicted instead of encoded latents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-eval", action="store_true")


def _args_compare(p):
    p.add_argument("runs", nargs="+", help="arm directories or lab_eval.json files")
    p.add_argument("--json", default=None, help="also write the table as JSON here")


COMMANDS = {
    "lab-build": (cmd_build, "build the proxy lab's cached latent set (docs/lab.md)", _args_build),
    "lab-cache-build": (cmd_cache_build, "add the oracle-depth point cache's renders to a lab set "
                                         "(issue 18; docs/lab.md)", _args_cache_build),
    "lab-depth": (cmd_depth, "train the point cache's depth head on the set's worlds, then "
                             "evaluate it on the held-out ones", _args_depth),
    "lab-train": (cmd_train, "train one lab arm from scratch on the set, then micro-eval it",
                  _args_train),
    "lab-critic": (cmd_critic, "fine-tune the set's decoder against a patch critic, then "
                               "micro-eval it", _args_critic),
    "lab-eval": (cmd_eval, "micro-eval a model file on the lab set's held-out worlds", _args_eval),
    "lab-compare": (cmd_compare, "table of lab arms' micro-eval lines", _args_compare),
}
