"""Golden fixtures for the engine's end-to-end parity test (native/tests/test_goldens.cc).

`/usr/bin/python3 -m train goldens --out native/tests/fixtures` writes, deterministically:
  tiny_model.safetensors       the TINY manifest with random weights stored in mixed dtypes
                               (F32 / F16 / BF16; the goldens are computed with the rounded values)
  golden_denoise.safetensors   one D(x; sigma) call for a batch of 2 worlds
  golden_decode.safetensors    latent -> float RGB
  golden_encode.safetensors    RGB8 -> latent
  golden_sample.safetensors    a full 2-step Euler sample with explicit noise
  golden_sample_philox.safetensors  the same with the engine's Philox noise (seeds, frames)
  golden_philox.safetensors    Philox words and normals for a few (seed, frame, step) keys
  tiny_memory_model.safetensors  TINY_MEMORY (denoiser.memory: 3 slots, pose_dim 5)
  golden_memory.safetensors    its denoise, 2-step sample (explicit and Philox noise) with memory
                               views, and its denoise with no memory (the wl_model_denoise path)
  tiny_residual_model.safetensors  TINY with denoiser.predicts "residual" (copy-then-correct)
  golden_residual.safetensors  its 1- and 2-step samples (explicit and Philox noise), which add
                               the newest context latent back, and one plain denoise
Inputs are named input_*, outputs expected*.
"""
import os

import numpy as np
import torch

from . import edm, export, manifest as manifest_mod, modules, philox

SEED = 20240611
# Storage dtype per tensor-name prefix (first match wins): covers every conversion path.
FIXTURE_DTYPES = {
    "autoencoder.encoder.": "BF16",
    "autoencoder.decoder.": "F16",
    "denoiser.cond.": "F32",
    "denoiser.down.": "BF16",
    "denoiser.up.": "F16",
    "denoiser.": "F32",
}


def _dtype_for(name):
    for p, d in FIXTURE_DTYPES.items():
        if name.startswith(p):
            return d
    return "F32"


def randomize(module, gen, amount=0.1):
    """Default init leaves GroupNorm at gamma=1, beta=0 and biases small; perturb every tensor
    so the goldens exercise the affine and bias paths too."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * amount)


def build_fixture_model(m, seed=SEED):
    torch.manual_seed(seed)
    ae, dn = modules.build(m)
    gen = torch.Generator().manual_seed(seed + 1)
    randomize(ae, gen)
    randomize(dn, gen)
    # Round every weight to its storage dtype so PyTorch computes with what the engine loads.
    with torch.no_grad():
        for prefix, mod in (("autoencoder.", ae), ("denoiser.", dn)):
            for k, v in mod.state_dict().items():
                v.copy_(export.round_to_dtype(v, _dtype_for(prefix + k)))
    ae.eval()
    dn.eval()
    return ae, dn


def rgb_u8_to_f32(u8):
    """[N,H,W,3] uint8 -> [N,3,H,W] float in [-1,1] (x / 127.5 - 1), the engine's conversion."""
    x = torch.from_numpy(u8.astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    return x / 127.5 - 1.0


def write_all(out_dir, seed=SEED, size="tiny", model_path=None):
    """size "tiny" writes the committed fixtures; "default" the same goldens for the default v1
    architecture (about 20 MB, not committed: point WL_FIXTURES at the directory). model_path
    computes the goldens with an existing model file's weights instead (e.g. a trained model);
    the goldens then name that file by its absolute path."""
    os.makedirs(out_dir, exist_ok=True)
    if model_path:
        m, ae, dn = export.load_model(model_path)
        ae.eval()
        dn.eval()
        model_file = os.path.abspath(model_path)
    elif size == "tiny":
        m, model_file = manifest_mod.tiny_manifest(), "tiny_model.safetensors"
    elif size == "default":
        m, model_file = manifest_mod.default_manifest(), "default_model.safetensors"
        m["name"] = "default-golden"
        m["sampler"]["context_noise_sigma"] = 0.05
    else:
        raise ValueError("size must be tiny or default")
    if not model_path:
        ae, dn = build_fixture_model(m, seed)
        export.export_model(os.path.join(out_dir, model_file), m, ae, dn, dtypes=FIXTURE_DTYPES)
    # Each golden names the model file it was computed with.
    meta = {"model": model_file}

    g = torch.Generator().manual_seed(seed + 2)
    B = 2
    C, h, w = m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]
    H, W = m["frame"]["height"], m["frame"]["width"]
    K, A = m["denoiser"]["context"], len(m["actions"]["names"])
    ctx_sigma = m["sampler"]["context_noise_sigma"]
    path = lambda n: os.path.join(out_dir, n)  # noqa: E731

    with torch.no_grad():
        sigma = torch.tensor([0.8, 3.1], dtype=torch.float32)
        noisy = torch.randn(B, C, h, w, generator=g) * sigma[:, None, None, None]
        context = torch.randn(B, K, C, h, w, generator=g) * 0.5
        actions = torch.rand(B, K, A, generator=g) * 2 - 1
        out = edm.denoise(dn, noisy, sigma.double(), context, actions,
                          torch.full((B,), ctx_sigma), m["edm"]["sigma_data"])
        export.write_safetensors(path("golden_denoise.safetensors"), [
            ("input_noisy", noisy, "F32"), ("input_sigma", sigma, "F32"),
            ("input_context", context, "F32"), ("input_actions", actions, "F32"),
            ("expected", out, "F32")], meta)

        latent = torch.randn(B, C, h, w, generator=g) * 0.5
        export.write_safetensors(path("golden_decode.safetensors"), [
            ("input_latent", latent, "F32"), ("expected", ae.decode(latent), "F32")], meta)

        # A smooth image plus noise: realistic enough to keep activations in range.
        yy, xx = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
        base = np.stack([xx * 255.0 / (W - 1), yy * 255.0 / (H - 1), (xx + yy) * 127.0 / (H + W)], -1)
        jitter = torch.randint(-20, 21, (B, H, W, 3), generator=g).numpy()
        rgb = np.clip(base[None] + jitter, 0, 255).astype(np.uint8)
        export.write_safetensors(path("golden_encode.safetensors"), [
            ("input_rgb", rgb, "U8"), ("expected", ae.encode(rgb_u8_to_f32(rgb)), "F32")], meta)

        steps = 2
        noise = torch.randn(steps + 1, B, C, h, w, generator=g)
        context = torch.randn(B, K, C, h, w, generator=g) * 0.5
        actions = torch.rand(B, K, A, generator=g) * 2 - 1
        z = edm.sample(dn, context, actions, noise[0], steps, m["edm"], ctx_sigma)
        export.write_safetensors(path("golden_sample.safetensors"), [
            ("input_context", context, "F32"), ("input_actions", actions, "F32"),
            ("input_noise", noise, "F32"), ("input_steps", np.array([steps], np.int64), "I64"),
            ("expected", z, "F32")], meta)

        # The engine's own noise path: world b starts from Philox(seeds[b], frames[b], step 0).
        seeds = np.array([12345, 0xFEEDFACE12345678], np.uint64)
        frames = np.array([7, (1 << 33) + 1], np.uint64)
        philox_noise = np.stack([philox.normals(int(sd), int(fr), 0, C * h * w)
                                 for sd, fr in zip(seeds, frames)]).reshape(B, C, h, w)
        z = edm.sample(dn, context, actions, torch.from_numpy(philox_noise), steps, m["edm"],
                       ctx_sigma)
        export.write_safetensors(path("golden_sample_philox.safetensors"), [
            ("input_context", context, "F32"), ("input_actions", actions, "F32"),
            ("input_seeds", seeds, "U64"), ("input_frames", frames, "U64"),
            ("input_steps", np.array([steps], np.int64), "I64"), ("expected", z, "F32")], meta)

    if manifest_mod.memory_slots(m)[0]:
        write_memory_golden(path("golden_memory.safetensors"), m, dn, model_file, seed)
    elif size == "tiny" and not model_path:
        mm = manifest_mod.tiny_memory_manifest()
        mae, mdn = build_fixture_model(mm, seed + 10)
        mfile = "tiny_memory_model.safetensors"
        export.export_model(path(mfile), mm, mae, mdn, dtypes=FIXTURE_DTYPES)
        write_memory_golden(path("golden_memory.safetensors"), mm, mdn, mfile, seed)

    if size == "tiny" and not model_path:
        write_residual_golden(out_dir, seed)

    keys = [(0, 0, 0), (1, 2, 3), (0xDEADBEEFCAFEF00D, (1 << 40) + 7, 0xFFFFFFFF)]
    export.write_safetensors(path("golden_philox.safetensors"), [
        ("input_keys", np.array(keys, dtype=np.uint64), "U64"),
        ("expected_words", np.stack([philox.raw_blocks(s, f, t, 4) for s, f, t in keys]), "U32"),
        ("expected_normals", np.stack([philox.normals(s, f, t, 37) for s, f, t in keys]), "F32")])
    return sorted(os.listdir(out_dir))


def write_memory_golden(path, m, dn, model_file, seed=SEED):
    """Goldens of a memory-enabled denoiser (docs/memory-model.md) in one file: batch 2 with a
    different set of present slots per world; absent slots hold NaN in the inputs, which the
    engine must never read."""
    g = torch.Generator().manual_seed(seed + 3)
    B = 2
    C, h, w = m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]
    K, A = m["denoiser"]["context"], len(m["actions"]["names"])
    M, P = manifest_mod.memory_slots(m)
    ctx_sigma = m["sampler"]["context_noise_sigma"]
    with torch.no_grad():
        mask = torch.zeros(B, M)
        mask[0, 0::2] = 1.0                # world 0: every other slot, first included
        mask[1, M - 1] = 1.0               # world 1: only the last slot
        memory = torch.randn(B, M, C, h, w, generator=g) * 0.5
        # Poses in world coordinates (x, y, yaw) and ages in frames, as the runtime has them.
        current = torch.cat([torch.rand(B, 2, generator=g) * 20,
                             torch.rand(B, 1, generator=g) * 6.28 - 3.14], dim=1).double()
        views = current[:, None, :] + torch.cat([
            torch.randn(B, M, 2, generator=g) * 3,
            torch.rand(B, M, 1, generator=g) * 6.28 - 3.14], dim=2).double()
        ages = torch.randint(20, 400, (B, M), generator=g).double()
        poses = modules.memory_pose_features(current[:, None, :], views, ages, P)
        absent = (mask == 0)
        memory[absent] = float("nan")
        poses[absent] = float("nan")
        mem = (memory, poses, mask)

        sigma = torch.tensor([0.8, 3.1], dtype=torch.float32)
        noisy = torch.randn(B, C, h, w, generator=g) * sigma[:, None, None, None]
        context = torch.randn(B, K, C, h, w, generator=g) * 0.5
        actions = torch.rand(B, K, A, generator=g) * 2 - 1
        cs = torch.full((B,), ctx_sigma)
        sd = m["edm"]["sigma_data"]
        den = edm.denoise(dn, noisy, sigma.double(), context, actions, cs, sd, mem)
        den_none = edm.denoise(dn, noisy, sigma.double(), context, actions, cs, sd)

        steps = 2
        noise = torch.randn(steps + 1, B, C, h, w, generator=g)  # the C ABI's documented block
        z = edm.sample(dn, context, actions, noise[0], steps, m["edm"], ctx_sigma, mem)
        seeds = np.array([99, 0xABCDEF0123456789], np.uint64)
        frames = np.array([3, 1 << 35], np.uint64)
        pn = np.stack([philox.normals(int(sd_), int(fr), 0, C * h * w)
                       for sd_, fr in zip(seeds, frames)]).reshape(B, C, h, w)
        zp = edm.sample(dn, context, actions, torch.from_numpy(pn), steps, m["edm"], ctx_sigma,
                        mem)
    export.write_safetensors(path, [
        ("input_noisy", noisy, "F32"), ("input_sigma", sigma, "F32"),
        ("input_context", context, "F32"), ("input_actions", actions, "F32"),
        ("input_memory", memory, "F32"), ("input_memory_poses", poses, "F32"),
        ("input_memory_mask", mask, "F32"),
        ("input_pose_current", current, "F64"), ("input_pose_views", views, "F64"),
        ("input_pose_ages", ages, "F64"),
        ("input_noise", noise, "F32"), ("input_seeds", seeds, "U64"),
        ("input_frames", frames, "U64"), ("input_steps", np.array([steps], np.int64), "I64"),
        ("expected_denoise", den, "F32"), ("expected_denoise_no_memory", den_none, "F32"),
        ("expected_sample", z, "F32"), ("expected_sample_philox", zp, "F32")],
        {"model": model_file})


def write_residual_golden(out_dir, seed=SEED):
    """The copy-then-correct parameterisation (manifest denoiser.predicts "residual"): a TINY model
    with a residual sigma_data, and its samples for a batch of 2 (explicit noise with 1 and 2
    steps, Philox noise with the default steps) plus one denoise call (which stays in residual
    space: the engine adds the newest context latent only in its samplers)."""
    m = manifest_mod.tiny_manifest()
    m["name"] = "tiny-residual-golden"
    m["denoiser"]["predicts"] = "residual"
    m["edm"]["sigma_data"] = 0.3
    ae, dn = build_fixture_model(m, seed + 20)
    mfile = "tiny_residual_model.safetensors"
    export.export_model(os.path.join(out_dir, mfile), m, ae, dn, dtypes=FIXTURE_DTYPES)
    g = torch.Generator().manual_seed(seed + 21)
    B = 2
    C, h, w = m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]
    K, A = m["denoiser"]["context"], len(m["actions"]["names"])
    cs = m["sampler"]["context_noise_sigma"]
    with torch.no_grad():
        context = torch.randn(B, K, C, h, w, generator=g) * 0.5
        actions = torch.rand(B, K, A, generator=g) * 2 - 1
        noise = torch.randn(B, C, h, w, generator=g)
        sigma = torch.tensor([0.4, 2.5], dtype=torch.float32)
        noisy = noise * sigma[:, None, None, None]
        den = edm.denoise(dn, noisy, sigma.double(), context, actions, torch.full((B,), cs),
                          m["edm"]["sigma_data"])
        s1 = edm.sample(dn, context, actions, noise, 1, m["edm"], cs, predicts="residual")
        s2 = edm.sample(dn, context, actions, noise, 2, m["edm"], cs, predicts="residual")
        seeds = np.array([99, 0xABCDEF0123456789], np.uint64)
        frames = np.array([3, (1 << 35) + 5], np.uint64)
        pn = np.stack([philox.normals(int(sd), int(fr), 0, C * h * w)
                       for sd, fr in zip(seeds, frames)]).reshape(B, C, h, w)
        sp = edm.sample(dn, context, actions, torch.from_numpy(pn), m["sampler"]["steps"],
                        m["edm"], cs, predicts="residual")
    export.write_safetensors(os.path.join(out_dir, "golden_residual.safetensors"), [
        ("input_context", context, "F32"), ("input_actions", actions, "F32"),
        ("input_noise", noise, "F32"), ("input_sigma", sigma, "F32"),
        ("input_noisy", noisy, "F32"), ("input_seeds", seeds, "U64"),
        ("input_frames", frames, "U64"), ("expected_denoise", den, "F32"),
        ("expected_sample_1", s1, "F32"), ("expected_sample_2", s2, "F32"),
        ("expected_sample_philox", sp, "F32")], {"model": mfile})
