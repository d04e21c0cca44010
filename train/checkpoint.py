"""Checkpoints: one file per stage ("ae", "dyn") per save, written atomically (temp file + rename)
so a run killed mid-write (the GPU run lives under `timeout`) never leaves a torn latest file.

Layout under a run directory:
    <out>/ckpt/<stage>-<step:08d>.pt     model, EMA, optimizer, step, samples, config, elapsed
    <out>/ckpt/<stage>-latest.pt          copy of the newest (what resume and export read)
Only the newest `keep` numbered files are kept.
"""
from __future__ import annotations

import glob
import os
import re
from typing import Any, Dict, Optional

import torch

STAGES = ("ae", "dyn", "lab", "depth")  # lab: a proxy-lab arm (train/lab_train.py); depth:
# the lab's depth head (train/lab_depth.py)


def ckpt_dir(out: str) -> str:
    return os.path.join(out, "ckpt")


def latest_path(out: str, stage: str) -> str:
    return os.path.join(ckpt_dir(out), f"{stage}-latest.pt")


def _atomic_save(obj: Any, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save(out: str, stage: str, state: Dict[str, Any], keep: int = 2) -> str:
    """Saves state (must contain 'step') as the stage's newest checkpoint; returns its path."""
    if stage not in STAGES:
        raise ValueError(f"unknown checkpoint stage '{stage}'")
    d = ckpt_dir(out)
    os.makedirs(d, exist_ok=True)
    step = int(state["step"])
    path = os.path.join(d, f"{stage}-{step:08d}.pt")
    _atomic_save(state, path)
    _atomic_save(state, latest_path(out, stage))
    numbered = sorted(glob.glob(os.path.join(d, f"{stage}-[0-9]*.pt")))
    for old in numbered[:-keep] if keep > 0 else []:
        try:
            os.remove(old)
        except OSError:
            pass
    return path


def load(path: str, map_location: str = "cpu") -> Dict[str, Any]:
    """Loads a checkpoint file; errors name the file and what is wrong with it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location)
    except Exception as e:  # torch raises many types for truncated/corrupt files
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or "step" not in state or state.get("model") is None:
        raise ValueError(f"{path}: checkpoint lacks 'step'/'model' entries")
    return state


def find_latest(out: str, stage: str) -> Optional[str]:
    """The newest loadable checkpoint of a stage, or None. Falls back from a damaged -latest file
    to the highest-numbered one."""
    cand = [latest_path(out, stage)]
    numbered = glob.glob(os.path.join(ckpt_dir(out), f"{stage}-[0-9]*.pt"))
    numbered.sort(key=lambda p: int(re.findall(r"-(\d+)\.pt$", p)[0]), reverse=True)
    cand += numbered
    for p in cand:
        if os.path.isfile(p):
            try:
                load(p)
                return p
            except ValueError:
                continue
    return None
