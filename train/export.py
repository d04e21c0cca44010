"""Model files: the .safetensors container written by hand (numpy + struct) so no extra package is
needed, plus a strict reader for tests and tools.

Layout: u64 little-endian header length N, N bytes of JSON
  {"__metadata__": {"worldloop": "<manifest JSON>"}, "<name>": {"dtype": "F32"|"F16"|"BF16"|...,
   "shape": [...], "data_offsets": [begin, end]}, ...}
padded with spaces to a multiple of 8, then the data section (tensors back to back, in order)."""
import json
import os
import struct

import numpy as np
import torch

from . import manifest as manifest_mod

_NP = {"F32": np.float32, "F16": np.float16, "U8": np.uint8, "I32": np.int32, "I64": np.int64,
       "U32": np.uint32, "U64": np.uint64, "F64": np.float64}
_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "U8": 1, "I32": 4, "I64": 8, "U32": 4, "U64": 8, "F64": 8}


def _bf16_bits(a):
    """float32 array -> uint16 bfloat16 bits, round to nearest even (NaN kept quiet)."""
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (b + np.uint64(0x7FFF) + ((b >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    out = rounded.astype(np.uint16)
    out[nan] = np.uint16(0x7FC0)
    return out


def _bf16_to_f32(bits):
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def round_to_dtype(t, dtype):
    """The float32 tensor whose values are exactly representable in `dtype` (what a reader
    converting that file back to f32 sees)."""
    a = t.detach().cpu().to(torch.float32).numpy()
    if dtype == "F32":
        r = a
    elif dtype == "F16":
        r = a.astype(np.float16).astype(np.float32)
    elif dtype == "BF16":
        r = _bf16_to_f32(_bf16_bits(a))
    else:
        raise ValueError("not a float dtype: " + dtype)
    return torch.from_numpy(np.ascontiguousarray(r).reshape(a.shape).copy())


def _encode(arr, dtype):
    if dtype == "BF16":
        return _bf16_bits(np.asarray(arr, dtype=np.float32)).tobytes()
    return np.ascontiguousarray(np.asarray(arr), dtype=_NP[dtype]).astype("<" + np.dtype(_NP[dtype]).str[1:]).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, array-like, dtype string) in file order; metadata: str -> str."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, arr, dtype in tensors:
        if isinstance(arr, torch.Tensor):
            arr = arr.detach().cpu().numpy()
        arr = np.asarray(arr)
        blob = _encode(arr, dtype)
        if len(blob) != arr.size * _SIZES[dtype]:
            raise AssertionError("size mismatch for " + name)
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    _write_file(path, header, blobs)


def _write_file(path, header, blobs):
    """The header JSON (padded with spaces to a multiple of 8) after its u64 length, then the
    data section's pieces in order."""
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _split_file(path):
    """(header dict, data section bytes) of a safetensors file, the header length checked."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("%s: header length %d exceeds file size %d" % (path, n, len(data)))
    return json.loads(data[8:8 + n].decode("utf-8")), data[8 + n:]


def read_safetensors(path):
    """-> (dict name -> float32/uint8/... numpy array, metadata dict). Validates offsets."""
    header, body = _split_file(path)
    meta = header.pop("__metadata__", {}) or {}
    out, end_max = {}, 0
    for name, info in header.items():
        dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= b <= e <= len(body)) or e - b != count * _SIZES[dt]:
            raise ValueError("%s: tensor %r: bad data_offsets [%d, %d]" % (path, name, b, e))
        raw = body[b:e]
        if dt == "BF16":
            arr = _bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP[dt]).newbyteorder("<"))
            if dt == "F16":
                arr = arr.astype(np.float32)
        out[name] = np.array(arr).reshape(shape)
        end_max = max(end_max, e)
    return out, meta


def model_tensors(autoencoder, denoiser, dtype="F32", dtypes=None):
    """(name, tensor, dtype) for every state_dict entry, names prefixed "autoencoder." and
    "denoiser.". `dtypes` may map a name prefix to a storage dtype (first match wins)."""
    out = []
    for prefix, mod in (("autoencoder.", autoencoder), ("denoiser.", denoiser)):
        for k, v in mod.state_dict().items():
            name = prefix + k
            dt = dtype
            for p, d in (dtypes or {}).items():
                if name.startswith(p):
                    dt = d
                    break
            out.append((name, v.detach().to(torch.float32), dt))
    return out


def export_model(path, manifest, autoencoder, denoiser, dtype="F32", dtypes=None):
    manifest_mod.check(manifest)
    write_safetensors(path, model_tensors(autoencoder, denoiser, dtype, dtypes),
                      {"worldloop": manifest_mod.to_json(manifest)})


def restamp(src, dst, change_manifest):
    """Writes `dst` as `src` with its manifest replaced by change_manifest(manifest) -> manifest:
    the tensor bytes are copied as they are (no dtype round trip), so weights stay bit-identical.
    Used to attach eval numbers or sampler settings to a model trained elsewhere. Atomic: the
    new file appears under `dst` only when complete (dst may equal src)."""
    header, body = _split_file(src)
    meta = header.get("__metadata__") or {}
    if "worldloop" not in meta:
        raise ValueError("%s: no __metadata__[\"worldloop\"] manifest" % src)
    m = manifest_mod.check(change_manifest(manifest_mod.check(json.loads(meta["worldloop"]))))
    header["__metadata__"] = dict(meta, worldloop=manifest_mod.to_json(m))
    tmp = dst + ".tmp"
    _write_file(tmp, header, [body])
    os.replace(tmp, dst)
    return m


def load_model(path):
    """-> (manifest, autoencoder, denoiser) with weights from the file (f32)."""
    from . import modules
    tensors, meta = read_safetensors(path)
    if "worldloop" not in meta:
        raise ValueError("%s: no __metadata__[\"worldloop\"] manifest" % path)
    m = manifest_mod.check(json.loads(meta["worldloop"]))
    ae, dn = modules.build(m)
    for prefix, mod in (("autoencoder.", ae), ("denoiser.", dn)):
        sd = {k[len(prefix):]: torch.from_numpy(np.array(v, dtype=np.float32))
              for k, v in tensors.items() if k.startswith(prefix)}
        mod.load_state_dict(sd, strict=True)
    return m, ae, dn
