"""Command line: /usr/bin/python3 -m train <command> [options]."""
import argparse
import json
import sys

import torch


def cmd_goldens(args):
    from . import goldens
    for name in goldens.write_all(args.out, args.seed, args.size, args.model):
        print(name)


def cmd_export_random(args):
    from . import export, manifest, modules
    m = manifest.tiny_manifest() if args.tiny else manifest.default_manifest()
    m["name"] = m["name"] + "-random"
    m["training"] = {"note": "random weights (benchmarks/tests), not trained", "seed": args.seed}
    if args.memory_slots:
        m["denoiser"]["memory"] = {"slots": args.memory_slots, "pose_dim": args.memory_pose_dim}
        m["name"] += "-mem%d" % args.memory_slots
    torch.manual_seed(args.seed)
    ae, dn = modules.build(m)
    export.export_model(args.out, m, ae, dn, dtype=args.dtype)
    print(json.dumps({"out": args.out, "decoder_params": modules.count_params(ae.decoder),
                      "encoder_params": modules.count_params(ae.encoder),
                      "denoiser_params": modules.count_params(dn)}))


def cmd_info(args):
    from . import export, modules
    m, ae, dn = export.load_model(args.model)
    print(json.dumps({"manifest": m, "params": {
        "denoiser": modules.count_params(dn), "decoder": modules.count_params(ae.decoder),
        "encoder": modules.count_params(ae.encoder)}}, indent=1))


COMMANDS = {
    "goldens": (cmd_goldens, "write the golden fixtures for native/tests/test_goldens.cc",
                lambda p: (p.add_argument("--out", default="native/tests/fixtures"),
                           p.add_argument("--seed", type=int, default=20240611),
                           p.add_argument("--size", choices=["tiny", "default"], default="tiny"),
                           p.add_argument("--model", default=None,
                                          help="use this model file's weights (not committed)"))),
    "export-random": (cmd_export_random, "write a model file with random weights",
                      lambda p: (p.add_argument("--out", required=True),
                                 p.add_argument("--tiny", action="store_true"),
                                 p.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32"),
                                 p.add_argument("--seed", type=int, default=0),
                                 p.add_argument("--memory-slots", type=int, default=0,
                                                help="denoiser.memory slots (0 = none)"),
                                 p.add_argument("--memory-pose-dim", type=int, default=5))),
    "info": (cmd_info, "print a model file's manifest and parameter counts",
             lambda p: p.add_argument("model")),
}

# The training pipeline's commands (ae, dyn, all, export, eval, episodes, convert).
from .commands import COMMANDS as _TRAINING_COMMANDS  # noqa: E402
COMMANDS.update(_TRAINING_COMMANDS)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, (_, help_text, add_args) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text))
    args = ap.parse_args(argv)
    COMMANDS[args.command][0](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
