"""Converter from worldloop recordings (src/record/format.ts, "WLRECORD" v1) to training episodes.

A recording stores the actions and a CRC-32 per frame, not the frames. Recordings of the ground-
truth world ("truth:<seed>") are replayed here through the deterministic world (train/world.py) and
every regenerated frame is checked against its recorded CRC, so an episode is exactly what the
player saw. Recordings of model worlds are refused: their frames are a model's own output, not
ground truth to learn from.

Episode split: each reset flag starts a new episode, and so does each edit the player made between
steps (a light setting, a placed object: header.lightSettings / header.placedObjects), because the
action vector does not explain the change it makes; the edited frame starts the next episode. Frame
t of an episode is the frame shown before action t (the world's convention), so the frame after the
last action of an episode is dropped. A recording made by a world that renders differently (its
header.worldVersion differs from this library's) is refused by name.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from typing import Dict, List

import numpy as np

from .data import save_episode

MAGIC = b"WLRECORD"
VERSION = 1
MAX_HEADER_BYTES = 1 << 20
MAX_FRAMES = 50_000_000
MAX_CHANNELS = 1024
FLAG_RESET = 1
FLAG_LIGHT = 2  # the light was set before this step (after any reset): next header.lightSettings
FLAG_PLACE = 4  # an object was placed before this step (after any light): next header.placedObjects


class RecordingError(ValueError):
    pass


def read_recording(path: str) -> Dict:
    """Parses and verifies a recording (bounds, checksum, header fields); errors name the file."""
    def need(cond, what):
        if not cond:
            raise RecordingError(f"{path}: {what}")
    with open(path, "rb") as f:
        b = f.read()
    need(len(b) >= 28, f"truncated: {len(b)} bytes is shorter than the smallest recording")
    need(b[:8] == MAGIC, f"not a worldloop recording (magic {b[:8]!r})")
    version, hlen = struct.unpack_from("<II", b, 8)
    need(version == VERSION, f"recording format version {version} is not supported (reads "
                             f"{VERSION})")
    need(hlen <= MAX_HEADER_BYTES, f"header length {hlen} exceeds {MAX_HEADER_BYTES}")
    need(16 + hlen + 8 <= len(b), "truncated inside the header")
    o = 16 + hlen
    n, a = struct.unpack_from("<II", b, o)
    need(n <= MAX_FRAMES, f"frame count {n} exceeds {MAX_FRAMES}")
    need(1 <= a <= MAX_CHANNELS, f"action channel count {a} is outside 1..{MAX_CHANNELS}")
    flags_end = o + 8 + n
    actions_at = flags_end + (4 - flags_end % 4) % 4
    crcs_at = actions_at + n * a * 4
    total = crcs_at + n * 4 + 4
    need(len(b) >= total, f"truncated: {n} frames x {a} channels need {total} bytes, file has "
                          f"{len(b)}")
    need(len(b) == total, f"{len(b) - total} unexpected bytes after the end of the recording")
    (stored,) = struct.unpack_from("<I", b, total - 4)
    need(stored == (zlib.crc32(b[:total - 4]) & 0xFFFFFFFF), "checksum mismatch: the file is "
                                                             "corrupt")
    try:
        header = json.loads(b[16:16 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RecordingError(f"{path}: header is not valid UTF-8 JSON ({e})") from e
    need(isinstance(header, dict), "header is not a JSON object")
    need(header.get("format") == "worldloop-recording", "header.format is not "
                                                        "\"worldloop-recording\"")
    chans = (header.get("actionSpace") or {}).get("channels")
    need(isinstance(chans, list) and len(chans) == a,
         f"header.actionSpace.channels must list the {a} channels")
    for i, c in enumerate(chans):
        need(isinstance(c, dict) and isinstance(c.get("name"), str),
             f"header.actionSpace.channels[{i}] has no name")
    s = header.get("settings") or {}
    for k in ("width", "height"):
        need(isinstance(s.get(k), int) and 16 <= s[k] <= 1024,
             f"header.settings.{k} must be an integer in 16..1024")
    need(isinstance(header.get("seed"), int) and header["seed"] >= 0,
         "header.seed must be a non-negative integer")
    wv = header.get("worldVersion")
    need(wv is None or (isinstance(wv, int) and not isinstance(wv, bool) and wv > 0),
         "header.worldVersion must be a positive integer")
    flags = np.frombuffer(b, np.uint8, n, o + 8).copy()
    need(not (flags & ~np.uint8(FLAG_RESET | FLAG_LIGHT | FLAG_PLACE)).any(), "unknown flag bits")

    def edits(key: str, bit: int, what: str) -> list:
        """header[key]: one entry per step flagged `bit`, in step order."""
        v = header.get(key) or []
        flagged = int(np.count_nonzero(flags & bit))
        need(isinstance(v, list) and len(v) == flagged,
             f"{flagged} steps {what} but header.{key} has "
             f"{len(v) if isinstance(v, list) else 'no list of'} entries")
        return v

    unit = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
    for i, l in enumerate(edits("lightSettings", FLAG_LIGHT, "set the light")):
        need(isinstance(l, dict) and unit(l.get("level")) and isinstance(l.get("tint"), list)
             and len(l["tint"]) == 3 and all(unit(v) for v in l["tint"]),
             f"header.lightSettings[{i}] must be {{\"level\": 0..1, \"tint\": [r, g, b] in 0..1}}")
    placed = edits("placedObjects", FLAG_PLACE, "placed an object")
    from .world import OBJECT_KINDS
    for i, k in enumerate(placed):
        need(k in OBJECT_KINDS, f"header.placedObjects[{i}] = {json.dumps(k)} is not an object kind "
                                f"({', '.join(OBJECT_KINDS)})")
    actions = np.frombuffer(b, "<f4", n * a, actions_at).reshape(n, a).astype(np.float32)
    need(np.isfinite(actions).all(), "an action is not finite")
    crcs = np.frombuffer(b, "<u4", n, crcs_at).copy()
    return {"header": header, "frames": n, "channels": a, "flags": flags, "actions": actions,
            "crcs": crcs}


def convert(path: str, out_dir: str, frame_size: int = 128) -> List[str]:
    """Replays a truth recording and writes one .npz episode per reset segment; returns paths."""
    from . import world
    rec = read_recording(path)
    h = rec["header"]
    if h.get("sourceKind") != "truth":
        raise RecordingError(f"{path}: recorded from a model ({h.get('sourceId')}); only "
                             "recordings of the ground-truth world (`worldloop truth`) can be "
                             "converted to training data")
    have = world.action_layout()["world_version"]
    if h.get("worldVersion") is not None and h["worldVersion"] != have:
        raise RecordingError(f"{path}: recorded with ground-truth world version {h['worldVersion']}, "
                             f"but this library's world is version {have}: the same actions would "
                             "render different frames. Convert it with the build that recorded it")
    s = h["settings"]
    if s["width"] != frame_size or s["height"] != frame_size:
        raise RecordingError(f"{path}: recorded at {s['width']}x{s['height']}, training needs "
                             f"{frame_size}x{frame_size}")
    names = [c["name"] for c in h["actionSpace"]["channels"]]
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.splitext(os.path.basename(path))[0]
    w = world.World(h["seed"], width=s["width"], height=s["height"])
    outputs = []
    try:
        first = w.frame().copy()
        if (zlib.crc32(first.tobytes()) & 0xFFFFFFFF) != (h.get("firstFrameCrc", 0) & 0xFFFFFFFF):
            raise RecordingError(f"{path}: the replayed first frame does not match the recording "
                                 "(different world version or settings)")
        seg_frames, seg_actions, seg = [first], [], 0

        def flush():
            nonlocal seg
            if seg_actions:
                p = os.path.join(out_dir, f"{base}_{seg:03d}.npz")
                save_episode(p, np.stack(seg_frames[:len(seg_actions)]), np.stack(seg_actions),
                             names, meta={"source": os.path.basename(path),
                                          "sourceId": h.get("sourceId"), "seed": h["seed"],
                                          "segment": seg})
                outputs.append(p)
                seg += 1
        lights = iter(h.get("lightSettings") or [])
        placed = iter(h.get("placedObjects") or [])
        for i in range(rec["frames"]):
            flags = int(rec["flags"][i])
            if flags and seg_actions:
                flush()
            if flags & FLAG_RESET:
                w.reset(h["seed"])
            if flags & FLAG_LIGHT:
                light = next(lights)
                w.set_light(float(light["level"]), tuple(float(v) for v in light["tint"]))
            if flags & FLAG_PLACE:
                kind = next(placed)
                # Only placements that placed something are recorded, so this must place it too.
                if not w.spawn(kind):
                    raise RecordingError(f"{path}: frame {i}: placing a {kind} placed nothing "
                                         "on replay (the world diverged)")
            if flags:
                seg_frames, seg_actions = [w.frame().copy()], []
            w.step(rec["actions"][i])
            f = w.frame().copy()
            if (zlib.crc32(f.tobytes()) & 0xFFFFFFFF) != int(rec["crcs"][i]):
                raise RecordingError(f"{path}: frame {i}: replayed frame does not match the "
                                     "recorded CRC (the world diverged)")
            seg_actions.append(rec["actions"][i])
            seg_frames.append(f)
        flush()
    finally:
        w.close()
    return outputs
