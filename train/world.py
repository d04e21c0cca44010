"""The ground-truth world from Python, over the C ABI of libworldloop.so (ctypes).

    layout = action_layout()                      # channels (names, ranges, kinds), objects, presets
    batch = WorldBatch(seeds, width=128, height=128, threads=2)
    frames, actions, poses = batch.generate(64)   # uint8 [N,T,H,W,3], float32 [N,T,A], float32 [N,T,3]

frames[i, t] is what world i showed before actions[i, t] was applied (so frames[i, t+1] is its
result) and poses[i, t] the pose frames[i, t] was rendered from. Each world is driven by the seeded
exploration policy (native/world/explore.cc — the same one TypeScript uses); worlds are stepped in
parallel by C++ threads inside one ctypes call, which releases the GIL, so a Python thread can
train while the next batch is rendered. Output does not depend on the thread count.

The library is found through $WL_LIB, else build/Release/libworldloop.so (cmake-js build), else
build/native/libworldloop.so (plain CMake build) under the repository root.
"""
from __future__ import annotations

import ctypes
import json
import os
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

ACTION_COUNT = 5  # move, strafe, turn, light, spawn (WL_ACTION_COUNT)
OBJECT_KINDS = ("pillar", "barrel", "plant", "lamp", "crate", "orb")


class WorldError(RuntimeError):
    """A wl_* call failed; the message is the library's (it names the argument and the problem)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class WorldConfig(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int32), ("height", ctypes.c_int32), ("map_size", ctypes.c_int32),
                ("fov_deg", ctypes.c_float), ("move_speed", ctypes.c_float),
                ("strafe_speed", ctypes.c_float), ("turn_speed_deg", ctypes.c_float),
                ("player_radius", ctypes.c_float), ("fog_distance", ctypes.c_float),
                ("max_spawned", ctypes.c_int32)]


class ExploreConfig(ctypes.Structure):
    _fields_ = [("p_stop", ctypes.c_float), ("p_look", ctypes.c_float), ("p_bump", ctypes.c_float),
                ("p_revisit", ctypes.c_float), ("p_light", ctypes.c_float),
                ("p_spawn", ctypes.c_float), ("p_backstep", ctypes.c_float),
                ("speed_min", ctypes.c_float), ("speed_max", ctypes.c_float),
                ("jitter", ctypes.c_float), ("stop_min", ctypes.c_int32),
                ("stop_max", ctypes.c_int32), ("look_min", ctypes.c_int32),
                ("look_max", ctypes.c_int32), ("bump_min", ctypes.c_int32),
                ("bump_max", ctypes.c_int32), ("p_random", ctypes.c_float),
                ("random_min", ctypes.c_int32), ("random_max", ctypes.c_int32),
                ("p_idle", ctypes.c_float), ("idle_min", ctypes.c_int32),
                ("idle_max", ctypes.c_int32)]


class Camera(ctypes.Structure):
    """wl_camera: an exact pinhole (docs/world.md, "Camera model")."""
    _fields_ = [("width", ctypes.c_int32), ("height", ctypes.c_int32), ("fx", ctypes.c_float),
                ("fy", ctypes.c_float), ("cx", ctypes.c_float), ("cy", ctypes.c_float),
                ("eye_height", ctypes.c_float), ("x", ctypes.c_float), ("y", ctypes.c_float),
                ("yaw", ctypes.c_float), ("world_to_camera", ctypes.c_float * 12)]


_lib: Optional[ctypes.CDLL] = None


def _candidates():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = os.environ.get("WL_LIB")
    if env:
        yield env
    yield os.path.join(root, "build", "Release", "libworldloop.so")
    yield os.path.join(root, "build", "native", "libworldloop.so")


def library() -> ctypes.CDLL:
    """Loads libworldloop.so once and declares the wl_world_* signatures."""
    global _lib
    if _lib is not None:
        return _lib
    tried = list(_candidates())
    path = next((p for p in tried if os.path.isfile(p)), None)
    if path is None:
        raise FileNotFoundError("libworldloop.so not found (looked in: " + ", ".join(tried) +
                                "); build it with `npm run build:native` or set WL_LIB")
    lib = ctypes.CDLL(path)
    P = ctypes.c_void_p
    f32p = ctypes.POINTER(ctypes.c_float)
    u8p = ctypes.POINTER(ctypes.c_uint8)
    sig = {
        "wl_last_error": (ctypes.c_char_p, []),
        "wl_world_default_config": (None, [ctypes.POINTER(WorldConfig)]),
        "wl_world_create": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(WorldConfig), ctypes.POINTER(P)]),
        "wl_world_free": (None, [P]),
        "wl_world_reset": (ctypes.c_int, [P, ctypes.c_uint64]),
        "wl_world_step": (ctypes.c_int, [P, f32p, ctypes.c_size_t]),
        "wl_world_frame": (u8p, [P]),
        "wl_world_depth": (f32p, [P]),
        "wl_world_camera": (ctypes.c_int, [P, ctypes.POINTER(Camera)]),
        "wl_world_frame_index": (ctypes.c_uint64, [P]),
        "wl_world_pose": (ctypes.c_int, [P, f32p]),
        "wl_world_set_pose": (ctypes.c_int, [P, ctypes.c_float, ctypes.c_float, ctypes.c_float]),
        "wl_world_set_light": (ctypes.c_int, [P, ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_float]),
        "wl_world_spawn": (ctypes.c_int, [P, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32)]),
        "wl_world_action_layout_json": (ctypes.c_char_p, []),
        "wl_world_info_json": (ctypes.c_char_p, [P]),
        "wl_world_map": (ctypes.c_int, [P, u8p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
        "wl_world_snapshot": (ctypes.c_int, [P, u8p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
        "wl_world_restore": (ctypes.c_int, [P, u8p, ctypes.c_size_t]),
        "wl_explore_default_config": (None, [ctypes.POINTER(ExploreConfig)]),
        "wl_explorer_create": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(ExploreConfig), ctypes.POINTER(P)]),
        "wl_explorer_free": (None, [P]),
        "wl_explorer_next": (ctypes.c_int, [P, P, f32p, ctypes.c_size_t]),
        "wl_world_batch_create": (ctypes.c_int, [ctypes.POINTER(ctypes.c_uint64), ctypes.c_int32,
                                                 ctypes.POINTER(WorldConfig), ctypes.POINTER(ExploreConfig),
                                                 ctypes.c_int32, ctypes.POINTER(P)]),
        "wl_world_batch_free": (None, [P]),
        "wl_world_batch_generate": (ctypes.c_int, [P, ctypes.c_int32, u8p, f32p, f32p]),
        "wl_world_batch_generate_depth": (ctypes.c_int, [P, ctypes.c_int32, u8p, f32p, f32p, f32p]),
        "wl_world_batch_reset": (ctypes.c_int, [P, ctypes.c_int32, ctypes.c_uint64]),
        "wl_world_batch_threads": (ctypes.c_int32, [P]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    check_struct_sizes(lib, {"wl_world_config": WorldConfig, "wl_explore_config": ExploreConfig,
                             "wl_camera": Camera}, path)
    _lib = lib
    return lib


def check_struct_sizes(lib: ctypes.CDLL, mirrors: Dict[str, type], path: str = "libworldloop.so") -> None:
    """Compares ctypes mirrors of C ABI structs ({"wl_world_config": WorldConfig, ...}) with the
    sizes the library reports (wl_struct_size), so a field added or removed on one side only fails
    here, at load, instead of corrupting memory later."""
    try:
        size_of = lib.wl_struct_size
    except AttributeError:
        raise RuntimeError(f"{path} has no wl_struct_size: it predates this checkout; rebuild it "
                           "(npm run build:native)") from None
    size_of.restype = ctypes.c_size_t
    size_of.argtypes = [ctypes.c_char_p]
    for name, cls in mirrors.items():
        want, have = size_of(name.encode()), ctypes.sizeof(cls)
        if want != have:
            raise RuntimeError(f"{path}: struct {name} is {want} bytes in C but the ctypes mirror "
                               f"{cls.__module__}.{cls.__name__} is {have}: update its _fields_ to "
                               "match native/include/worldloop/")


def _check(status: int) -> None:
    if status != 0:
        raise WorldError(status, library().wl_last_error().decode("utf-8", "replace"))


def _seed(seed) -> int:
    s = int(seed)
    if s < 0 or s >= 1 << 64:
        raise ValueError(f"seed {seed} must be in [0, 2^64)")
    return s


def world_config(**overrides) -> WorldConfig:
    """Native defaults with keyword overrides (width, height, map_size, fov_deg, move_speed,
    strafe_speed, turn_speed_deg, player_radius, fog_distance, max_spawned)."""
    cfg = WorldConfig()
    library().wl_world_default_config(ctypes.byref(cfg))
    names = {f[0] for f in WorldConfig._fields_}
    for k, v in overrides.items():
        if k not in names:
            raise ValueError(f"unknown world config field '{k}' (known: {', '.join(sorted(names))})")
        setattr(cfg, k, v)
    return cfg


def explore_config(**overrides) -> ExploreConfig:
    """Exploration policy defaults with keyword overrides (p_stop, p_look, p_bump, p_revisit,
    p_light, p_spawn, p_backstep, speed_min, speed_max, jitter, stop_min.., look_min.., bump_min..,
    p_random, random_min, random_max, p_idle, idle_min, idle_max)."""
    cfg = ExploreConfig()
    library().wl_explore_default_config(ctypes.byref(cfg))
    names = {f[0] for f in ExploreConfig._fields_}
    for k, v in overrides.items():
        if k not in names:
            raise ValueError(f"unknown explore config field '{k}' (known: {', '.join(sorted(names))})")
        setattr(cfg, k, v)
    return cfg


def action_layout() -> dict:
    """{"channels": [{"name","min","max","kind"}...], "objects": [...], "light_presets": [...],
    "defaults": {...}} — the action vector every world and model shares."""
    return json.loads(library().wl_world_action_layout_json().decode())


def _f32(ptr_array: np.ndarray):
    return ptr_array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _u8(ptr_array: np.ndarray):
    return ptr_array.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))


class _NativeHandle:
    """Owns one native handle (`self._h`) freed by the C function named in `_free`; usable as a
    context manager and freed on garbage collection."""

    _free = ""
    _h = None

    def close(self) -> None:
        if self._h is not None:
            getattr(library(), self._free)(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class World(_NativeHandle):
    """One world. frame() is a read-only numpy view [H, W, 3] on the native frame buffer and
    depth() one [H, W] float32 on its depth buffer (step overwrites both: copy to keep)."""

    _free = "wl_world_free"

    def __init__(self, seed: int = 1, **config):
        lib = library()
        cfg = world_config(**config)
        handle = ctypes.c_void_p()
        _check(lib.wl_world_create(_seed(seed), ctypes.byref(cfg), ctypes.byref(handle)))
        self._h = handle
        self.width, self.height = cfg.width, cfg.height
        buf = (ctypes.c_uint8 * (self.width * self.height * 3)).from_address(
            ctypes.addressof(lib.wl_world_frame(handle).contents))
        self._frame = np.frombuffer(buf, dtype=np.uint8).reshape(self.height, self.width, 3)
        self._frame.flags.writeable = False
        dbuf = (ctypes.c_float * (self.width * self.height)).from_address(
            ctypes.addressof(lib.wl_world_depth(handle).contents))
        self._depth = np.frombuffer(dbuf, dtype=np.float32).reshape(self.height, self.width)
        self._depth.flags.writeable = False
        self._action = np.zeros(ACTION_COUNT, np.float32)

    def _handle(self):
        if self._h is None:
            raise WorldError(1, "world is closed")
        return self._h

    def frame(self) -> np.ndarray:
        self._handle()
        return self._frame

    def depth(self) -> np.ndarray:
        """Per-pixel z of the current frame in cells (distance along the view direction to the
        surface shown; inf where the sky shows)."""
        self._handle()
        return self._depth

    def camera(self) -> dict:
        """The current frame's camera: width, height, fx, fy, cx, cy, eye_height, x, y, yaw and
        world_to_camera ([R | t], float32 [3, 4]); pixel (i, j) centre (i + .5, j + .5) shows P
        with u = cx + fx * Xc / Zc, v = cy + fy * Yc / Zc, [Xc, Yc, Zc] = R P + t."""
        c = Camera()
        _check(library().wl_world_camera(self._handle(), ctypes.byref(c)))
        out = {name: getattr(c, name) for name, _ in Camera._fields_ if name != "world_to_camera"}
        out["world_to_camera"] = np.array(c.world_to_camera[:], np.float32).reshape(3, 4)
        return out

    def step(self, action: Sequence[float]) -> None:
        a = np.ascontiguousarray(action, dtype=np.float32).reshape(-1)
        _check(library().wl_world_step(self._handle(), _f32(a), a.size))

    def reset(self, seed: int) -> None:
        _check(library().wl_world_reset(self._handle(), _seed(seed)))

    def pose(self) -> np.ndarray:
        out = np.zeros(3, np.float32)
        _check(library().wl_world_pose(self._handle(), _f32(out)))
        return out

    def set_pose(self, x: float, y: float, yaw: float) -> None:
        _check(library().wl_world_set_pose(self._handle(), x, y, yaw))

    def set_light(self, level: float, tint=(1.0, 1.0, 1.0)) -> None:
        _check(library().wl_world_set_light(self._handle(), level, *tint))

    def spawn(self, kind) -> bool:
        k = OBJECT_KINDS.index(kind) if isinstance(kind, str) else int(kind)
        placed = ctypes.c_int32(0)
        _check(library().wl_world_spawn(self._handle(), k, ctypes.byref(placed)))
        return bool(placed.value)

    @property
    def frame_index(self) -> int:
        return int(library().wl_world_frame_index(self._handle()))

    def info(self) -> dict:
        return json.loads(library().wl_world_info_json(self._handle()).decode())

    def map(self) -> np.ndarray:
        """Grid [size, size] uint8, 1 = wall, indexed [y, x]."""
        n = ctypes.c_size_t(0)
        _check(library().wl_world_map(self._handle(), None, 0, ctypes.byref(n)))
        out = np.zeros(n.value, np.uint8)
        _check(library().wl_world_map(self._handle(), _u8(out), out.size, ctypes.byref(n)))
        side = int(round(n.value ** 0.5))
        return out.reshape(side, side)

    def snapshot(self) -> bytes:
        n = ctypes.c_size_t(0)
        _check(library().wl_world_snapshot(self._handle(), None, 0, ctypes.byref(n)))
        out = np.zeros(n.value, np.uint8)
        _check(library().wl_world_snapshot(self._handle(), _u8(out), out.size, ctypes.byref(n)))
        return out.tobytes()

    def restore(self, data: bytes) -> None:
        buf = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        _check(library().wl_world_restore(self._handle(), _u8(buf), buf.size))

    def close(self) -> None:
        super().close()
        self._frame = None  # the view would point at freed memory


class Explorer(_NativeHandle):
    """The seeded exploration policy for one world."""

    _free = "wl_explorer_free"

    def __init__(self, seed: int = 1, **config):
        lib = library()
        cfg = explore_config(**config)
        handle = ctypes.c_void_p()
        _check(lib.wl_explorer_create(_seed(seed), ctypes.byref(cfg), ctypes.byref(handle)))
        self._h = handle

    def next(self, world: World, out: Optional[np.ndarray] = None) -> np.ndarray:
        out = np.zeros(ACTION_COUNT, np.float32) if out is None else out
        if out.dtype != np.float32 or out.size != ACTION_COUNT or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous float32 array of {ACTION_COUNT} values")
        _check(library().wl_explorer_next(self._h, world._handle(), _f32(out), ACTION_COUNT))
        return out



class WorldBatch(_NativeHandle):
    """Many worlds with their explorers, stepped in parallel by C++ threads."""

    _free = "wl_world_batch_free"

    def __init__(self, seeds: Sequence[int], width: int = 128, height: int = 128, threads: int = 0,
                 explore: Optional[Dict[str, float]] = None, **config):
        lib = library()
        self.count = len(seeds)
        if self.count < 1:
            raise ValueError("WorldBatch needs at least one seed")
        cfg = world_config(width=width, height=height, **config)
        ecfg = explore_config(**(explore or {}))
        arr = (ctypes.c_uint64 * self.count)(*[_seed(s) for s in seeds])
        handle = ctypes.c_void_p()
        _check(lib.wl_world_batch_create(arr, self.count, ctypes.byref(cfg), ctypes.byref(ecfg),
                                         int(threads), ctypes.byref(handle)))
        self._h = handle
        self.width, self.height = width, height
        self.threads = int(lib.wl_world_batch_threads(handle))

    def generate(self, steps: int, out: Optional[Tuple[np.ndarray, ...]] = None,
                 depth: bool = False) -> Tuple[np.ndarray, ...]:
        """The next `steps` ticks of every world: frames uint8 [N,T,H,W,3], actions float32
        [N,T,A], poses float32 [N,T,3], and with depth=True depths float32 [N,T,H,W] (each
        frame's World.depth(); inf where the sky shows). Pass `out` (arrays of those shapes) to
        reuse memory."""
        if self._h is None:
            raise WorldError(1, "batch is closed")
        shapes = [(self.count, steps, self.height, self.width, 3), (self.count, steps, ACTION_COUNT),
                  (self.count, steps, 3)]
        dtypes = [np.uint8, np.float32, np.float32]
        if depth:
            shapes.append((self.count, steps, self.height, self.width))
            dtypes.append(np.float32)
        if out is None:
            out = tuple(np.empty(shape, dtype) for shape, dtype in zip(shapes, dtypes))
        if len(out) != len(shapes):
            raise ValueError(f"out must hold {len(shapes)} arrays (depth={depth}), got {len(out)}")
        for arr, shape, dtype in zip(out, shapes, dtypes):
            if arr.shape != shape or arr.dtype != dtype or not arr.flags.c_contiguous:
                raise ValueError(f"output array must be contiguous {np.dtype(dtype).name} {shape}, "
                                 f"got {arr.dtype} {arr.shape}")
        frames, actions, poses = out[:3]
        depths = _f32(out[3]) if depth else None
        _check(library().wl_world_batch_generate_depth(self._h, int(steps), _u8(frames), _f32(actions),
                                                       _f32(poses), depths))
        return tuple(out)

    def reset(self, index: int, seed: int) -> None:
        """Starts world `index` over as a fresh world from `seed` (a new episode)."""
        _check(library().wl_world_batch_reset(self._h, int(index), _seed(seed)))



def batches(seeds: Sequence[int], steps: int, width: int = 128, height: int = 128, threads: int = 0,
            explore: Optional[Dict[str, float]] = None) -> Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Endless stream of (frames, actions, poses) chunks of `steps` ticks from one WorldBatch."""
    with WorldBatch(seeds, width, height, threads, explore) as batch:
        while True:
            yield batch.generate(steps)
