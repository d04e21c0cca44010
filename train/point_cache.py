"""The point cache of libworldloop.so (C ABI native/include/worldloop/wl_cache.h) from Python, over
ctypes: a bounded store of world points seen in frames with depth, rendering any camera with a
z-buffer (docs/memory-model.md, "The point cache").

    with PointCache(policy="newest") as cache:
        cache.insert(cam, frame_u8, depth)          # cam: world.Camera (a World.camera()'s struct)
        rgb, depth, mask = cache.render(cam)        # uint8 [H,W,3], float32 [H,W], uint8 [H,W]

Cameras: `world_camera(world)` gives a World's current camera as the C struct; `pose_camera`
builds one from a pose (x, y, yaw) and the intrinsics of a camera of the same world config,
exactly as World::camera() does (native/world/world.cc camera_extrinsics: R in double, rows right,
down, forward; t = -R (x, y, eye)), so the lab's batch-generated poses give the cameras the world
published (train/tests/test_lab_cache.py checks it against World.camera()).
"""
from __future__ import annotations

import ctypes
import math
from typing import Optional, Tuple

import numpy as np

from . import world

POLICIES = {"newest": 0, "closest": 1, "first": 2}


class CacheConfig(ctypes.Structure):
    """wl_point_cache_config."""
    _fields_ = [("max_points", ctypes.c_int64), ("voxel", ctypes.c_float),
                ("policy", ctypes.c_int32), ("max_depth", ctypes.c_float),
                ("near_z", ctypes.c_float), ("max_footprint", ctypes.c_float),
                ("threads", ctypes.c_int32)]


_declared = False


def _lib() -> ctypes.CDLL:
    global _declared
    lib = world.library()
    if _declared:
        return lib
    P = ctypes.c_void_p
    f32p = ctypes.POINTER(ctypes.c_float)
    u8p = ctypes.POINTER(ctypes.c_uint8)
    camp = ctypes.POINTER(world.Camera)
    sig = {
        "wl_point_cache_default_config": (None, [ctypes.POINTER(CacheConfig)]),
        "wl_point_cache_create": (ctypes.c_int, [ctypes.POINTER(CacheConfig), ctypes.POINTER(P)]),
        "wl_point_cache_free": (None, [P]),
        "wl_point_cache_insert": (ctypes.c_int, [P, camp, u8p, ctypes.c_size_t, f32p,
                                                 ctypes.c_size_t]),
        "wl_point_cache_render": (ctypes.c_int, [P, camp, u8p, ctypes.c_size_t, f32p,
                                                 ctypes.c_size_t, u8p, ctypes.c_size_t]),
        "wl_point_cache_count": (ctypes.c_int64, [P]),
        "wl_point_cache_evicted": (ctypes.c_int64, [P]),
        "wl_point_cache_clear": (ctypes.c_int, [P]),
    }
    for name, (res, args) in sig.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise RuntimeError(f"libworldloop.so has no {name}: it predates the point cache; "
                               "rebuild it (npm run build:native)") from None
        fn.restype = res
        fn.argtypes = args
    world.check_struct_sizes(lib, {"wl_point_cache_config": CacheConfig, "wl_camera": world.Camera})
    _declared = True
    return lib


def world_camera(w: "world.World") -> world.Camera:
    """The World's current camera as the C struct (wl_world_camera)."""
    c = world.Camera()
    world._check(world.library().wl_world_camera(w._handle(), ctypes.byref(c)))
    return c


def pose_camera(intrinsics: world.Camera, x: float, y: float, yaw: float) -> world.Camera:
    """The camera at pose (x, y, yaw) with `intrinsics`' width, height, fx, fy, cx, cy and eye
    height (any camera of the same world config): World::camera()'s computation."""
    c = world.Camera()
    for name in ("width", "height", "fx", "fy", "cx", "cy", "eye_height"):
        setattr(c, name, getattr(intrinsics, name))
    # float32 pose as the world holds it; R in double, stored as float (camera_extrinsics).
    x, y, yaw = (float(np.float32(v)) for v in (x, y, yaw))
    c.x, c.y, c.yaw = x, y, yaw
    co, s = math.cos(yaw), math.sin(yaw)
    r = (-s, co, 0.0, 0.0, 0.0, -1.0, co, s, 0.0)
    eye = (x, y, float(np.float32(intrinsics.eye_height)))
    m = []
    for i in range(3):
        m += [r[i * 3], r[i * 3 + 1], r[i * 3 + 2],
              -(r[i * 3] * eye[0] + r[i * 3 + 1] * eye[1] + r[i * 3 + 2] * eye[2])]
    c.world_to_camera[:] = [float(np.float32(v)) for v in m]
    return c


class PointCache(world._NativeHandle):
    """One point cache. insert(camera, rgb uint8 [H,W,3], depth float32 [H,W]) and
    render(camera) -> (rgb uint8 [H,W,3], depth float32 [H,W], mask uint8 [H,W], 255 = valid)."""

    _free = "wl_point_cache_free"

    def __init__(self, policy: str = "newest", max_points: Optional[int] = None,
                 voxel: Optional[float] = None, threads: int = 1, **config):
        lib = _lib()
        cfg = CacheConfig()
        lib.wl_point_cache_default_config(ctypes.byref(cfg))
        if policy not in POLICIES:
            raise ValueError(f"policy '{policy}': choose from {', '.join(POLICIES)}")
        cfg.policy = POLICIES[policy]
        if max_points is not None:
            cfg.max_points = int(max_points)
        if voxel is not None:
            cfg.voxel = float(voxel)
        cfg.threads = int(threads)
        names = {f[0] for f in CacheConfig._fields_}
        for k, v in config.items():
            if k not in names:
                raise ValueError(f"unknown point cache config field '{k}'")
            setattr(cfg, k, v)
        h = ctypes.c_void_p()
        world._check(lib.wl_point_cache_create(ctypes.byref(cfg), ctypes.byref(h)))
        self._h = h
        self.policy = policy

    def _handle(self):
        if self._h is None:
            raise world.WorldError(1, "point cache is closed")
        return self._h

    def insert(self, camera: world.Camera, rgb: np.ndarray, depth: np.ndarray) -> None:
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        depth = np.ascontiguousarray(depth, dtype=np.float32)
        world._check(_lib().wl_point_cache_insert(
            self._handle(), ctypes.byref(camera), world._u8(rgb), rgb.size, world._f32(depth),
            depth.size))

    def render(self, camera: world.Camera) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        H, W = int(camera.height), int(camera.width)
        rgb = np.empty((H, W, 3), np.uint8)
        depth = np.empty((H, W), np.float32)
        mask = np.empty((H, W), np.uint8)
        world._check(_lib().wl_point_cache_render(
            self._handle(), ctypes.byref(camera), world._u8(rgb), rgb.size, world._f32(depth),
            depth.size, world._u8(mask), mask.size))
        return rgb, depth, mask

    def count(self) -> int:
        return int(_lib().wl_point_cache_count(self._handle()))

    def evicted(self) -> int:
        return int(_lib().wl_point_cache_evicted(self._handle()))

    def clear(self) -> None:
        world._check(_lib().wl_point_cache_clear(self._handle()))
