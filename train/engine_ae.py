"""A model file's autoencoder run by the native engine (libworldloop.so, wl_model_encode /
wl_model_decode) instead of PyTorch: ~10 ms a frame against ~110 ms here (2026-12-07), which is what lets the proxy lab
encode hundreds of worlds and decode its eval frames in minutes. The engine's outputs match the
PyTorch modules' within the goldens' tolerance (native/tests/test_goldens.cc, engine_parity);
the lab uses one or the other consistently, never both for one number."""
from __future__ import annotations

import ctypes
from typing import Optional

import numpy as np

from .eval import _Opts, find_library

_FP = ctypes.POINTER(ctypes.c_float)
_U8 = ctypes.POINTER(ctypes.c_uint8)


class _Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in (
        "latent_channels", "latent_h", "latent_w", "frame_h", "frame_w", "context", "action_dim",
        "default_steps", "max_batch", "memory_slots", "memory_pose_dim")]


class EngineAutoencoder:
    def __init__(self, model_path: str, batch: int = 32, lib_path: Optional[str] = None):
        lib_path = find_library(lib_path)
        if not lib_path:
            raise FileNotFoundError("libworldloop.so not found (build it: npm run build:native, "
                                    "or set WL_LIB)")
        lib = ctypes.CDLL(lib_path)
        from . import world
        world.check_struct_sizes(lib, {"wl_model_dims": _Dims})
        lib.wl_last_error.restype = ctypes.c_char_p
        lib.wl_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Opts),
                                      ctypes.POINTER(ctypes.c_void_p)]
        lib.wl_model_free.argtypes = [ctypes.c_void_p]
        lib.wl_model_dims_get.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Dims)]
        lib.wl_model_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, _U8, _FP]
        lib.wl_model_decode.argtypes = [ctypes.c_void_p, ctypes.c_int, _FP, _U8]
        self.lib, self.batch = lib, int(batch)
        h = ctypes.c_void_p()
        if lib.wl_model_load(model_path.encode(), ctypes.byref(_Opts(0, 0, self.batch)),
                             ctypes.byref(h)) != 0:
            raise ValueError(f"{model_path}: the engine cannot load it: "
                             f"{lib.wl_last_error().decode()}")
        self.h = h
        d = _Dims()
        self._check(lib.wl_model_dims_get(h, ctypes.byref(d)), "wl_model_dims_get")
        self.latent = (d.latent_channels, d.latent_h, d.latent_w)
        self.frame = (d.frame_h, d.frame_w)

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"{what}: {self.lib.wl_last_error().decode()}")

    def encode(self, frames_u8: np.ndarray) -> np.ndarray:
        """uint8 [..., H, W, 3] -> float32 latents [..., C, h, w]."""
        lead = frames_u8.shape[:-3]
        flat = np.ascontiguousarray(frames_u8.reshape(-1, *self.frame, 3))
        out = np.empty((flat.shape[0], *self.latent), np.float32)
        for i in range(0, flat.shape[0], self.batch):
            n = min(self.batch, flat.shape[0] - i)
            src = np.ascontiguousarray(flat[i:i + n])
            dst = np.empty((n, *self.latent), np.float32)
            self._check(self.lib.wl_model_encode(self.h, n, src.ctypes.data_as(_U8),
                                                 dst.ctypes.data_as(_FP)), "wl_model_encode")
            out[i:i + n] = dst
        return out.reshape(*lead, *self.latent)

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """float latents [..., C, h, w] -> uint8 frames [..., H, W, 3]."""
        lead = latents.shape[:-3]
        flat = np.ascontiguousarray(latents.reshape(-1, *self.latent), dtype=np.float32)
        out = np.empty((flat.shape[0], *self.frame, 3), np.uint8)
        for i in range(0, flat.shape[0], self.batch):
            n = min(self.batch, flat.shape[0] - i)
            src = np.ascontiguousarray(flat[i:i + n])
            dst = np.empty((n, *self.frame, 3), np.uint8)
            self._check(self.lib.wl_model_decode(self.h, n, src.ctypes.data_as(_FP),
                                                 dst.ctypes.data_as(_U8)), "wl_model_decode")
            out[i:i + n] = dst
        return out.reshape(*lead, *self.frame, 3)

    def close(self) -> None:
        if self.h is not None:
            self.lib.wl_model_free(self.h)
            self.h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
