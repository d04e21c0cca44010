"""Model manifests: the JSON that travels in a model file's __metadata__["worldloop"] and fixes
every size of the networks. The engine reads the same fields (docs/model-format.md)."""
import copy
import json
import math

FORMAT_NAME = "worldloop-model"
FORMAT_VERSION = 1

DEFAULT = {
    "format": FORMAT_NAME,
    "format_version": FORMAT_VERSION,
    "name": "default-v1",
    "frame": {"height": 128, "width": 128},
    "latent": {"channels": 8, "height": 16, "width": 16, "scale": 1.0},
    "autoencoder": {"channels": [16, 32, 64, 128], "blocks": 1, "groups": 8},
    "denoiser": {"channels": [64, 128, 192], "blocks": 2, "attention_levels": [1, 2], "heads": 4,
                 "groups": 8, "cond_dim": 256, "fourier_dim": 64, "context": 4},
    "actions": {"names": ["move", "strafe", "turn"], "min": [-1.0, -1.0, -1.0],
                "max": [1.0, 1.0, 1.0], "kinds": ["axis", "axis", "axis"]},
    "edm": {"sigma_data": 0.5, "sigma_min": 0.002, "sigma_max": 5.0, "rho": 7.0},
    "sampler": {"steps": 2, "context_noise_sigma": 0.0},
    "training": {},
}

# Small enough that its file stays in the tens of KB, yet it exercises every path of the engine:
# two denoiser levels both with attention, channel-changing skips, multi-head attention, a 3-level
# downsampling autoencoder and a non-unit latent scale.
TINY = {
    "format": FORMAT_NAME,
    "format_version": FORMAT_VERSION,
    "name": "tiny-golden",
    "frame": {"height": 32, "width": 32},
    "latent": {"channels": 4, "height": 4, "width": 4, "scale": 0.75},
    "autoencoder": {"channels": [8, 8, 16, 16], "blocks": 1, "groups": 4},
    "denoiser": {"channels": [8, 16], "blocks": 2, "attention_levels": [0, 1], "heads": 2,
                 "groups": 4, "cond_dim": 16, "fourier_dim": 8, "context": 2},
    "actions": {"names": ["move", "strafe", "turn"], "min": [-1.0, -1.0, -1.0],
                "max": [1.0, 1.0, 1.0], "kinds": ["axis", "axis", "axis"]},
    "edm": {"sigma_data": 0.5, "sigma_min": 0.002, "sigma_max": 5.0, "rho": 7.0},
    "sampler": {"steps": 2, "context_noise_sigma": 0.05},
    "training": {"note": "random weights for golden tests"},
}


# TINY plus three memory slots with a 5-wide pose (dx, dy, sin, cos dyaw, age): the fixture of the
# memory path (denoiser.memory, docs/memory-model.md). Context 1 so the memory channels dominate
# conv_in's input and a wrong slot order would show. A one-level autoencoder at latent size keeps
# the file small (the autoencoder is not what this fixture tests).
TINY_MEMORY = copy.deepcopy(TINY)
TINY_MEMORY["name"] = "tiny-memory-golden"
TINY_MEMORY["frame"] = {"height": 4, "width": 4}
TINY_MEMORY["autoencoder"] = {"channels": [4], "blocks": 1, "groups": 2}
TINY_MEMORY["denoiser"]["context"] = 1
TINY_MEMORY["denoiser"]["memory"] = {"slots": 3, "pose_dim": 5}

MAX_MEMORY_SLOTS = 16
MAX_MEMORY_POSE_DIM = 64
# The engine's limits on the sampler block (native/core/model/manifest.{h,cc}: kMaxSteps, and
# context_noise_sigma in [0, 1e3]).
MAX_SAMPLER_STEPS = 8
# What the denoiser's output means: "latent" = the next latent itself (the original models);
# "residual" = its change from the newest context latent (copy-then-correct: the sampler runs on
# the change and adds the newest context latent back, so a still scene costs the network nothing);
# "residual_cache" = its change from the point cache's render where valid (issue 18's proxy lab,
# edm.residual_base; the engine refuses it until an arm earns carrying it through);
# "residual_render" = its change from the render itself (renders hole-filled in pixel space).
PREDICTS = ("latent", "residual", "residual_cache", "residual_render")
MAX_CONTEXT_NOISE = 1e3


def check_sampler_steps(v, name="manifest: sampler.steps"):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SAMPLER_STEPS:
        raise ValueError("%s must be 1..%d, got %r" % (name, MAX_SAMPLER_STEPS, v))
    return v


def check_context_noise(v, name="manifest: sampler.context_noise_sigma"):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not 0 <= v <= MAX_CONTEXT_NOISE:
        raise ValueError("%s must be a finite number >= 0 (at most %g), got %r"
                         % (name, MAX_CONTEXT_NOISE, v))
    return v


def default_manifest():
    return copy.deepcopy(DEFAULT)


def tiny_manifest():
    return copy.deepcopy(TINY)


def tiny_memory_manifest():
    return copy.deepcopy(TINY_MEMORY)


def memory_slots(m):
    """(slots, pose_dim) of a manifest; (0, 0) when it has no memory."""
    mem = m["denoiser"].get("memory") or {}
    slots = int(mem.get("slots", 0))
    return (slots, int(mem.get("pose_dim", 0))) if slots else (0, 0)


def check(m):
    """Consistency checks the networks rely on (the engine validates the same and more)."""
    def fail(msg):
        raise ValueError("manifest: " + msg)
    if m.get("format") != FORMAT_NAME or m.get("format_version") != FORMAT_VERSION:
        fail("format/format_version must be %r/%d" % (FORMAT_NAME, FORMAT_VERSION))
    ae, dn, lat, fr = m["autoencoder"], m["denoiser"], m["latent"], m["frame"]
    down = 2 ** (len(ae["channels"]) - 1)
    if fr["height"] != lat["height"] * down or fr["width"] != lat["width"] * down:
        fail("frame %dx%d is not latent %dx%d times 2^(levels-1)=%d" %
             (fr["height"], fr["width"], lat["height"], lat["width"], down))
    for c in ae["channels"]:
        if c % ae["groups"]:
            fail("autoencoder.groups %d does not divide channel count %d" % (ae["groups"], c))
    dd = 2 ** (len(dn["channels"]) - 1)
    if lat["height"] % dd or lat["width"] % dd:
        fail("latent %dx%d not divisible by 2^(denoiser levels-1)=%d" % (lat["height"], lat["width"], dd))
    for c in dn["channels"]:
        if c % dn["groups"]:
            fail("denoiser.groups %d does not divide channel count %d" % (dn["groups"], c))
    for lv in dn["attention_levels"]:
        if not 0 <= lv < len(dn["channels"]):
            fail("denoiser.attention_levels entry %d out of range" % lv)
        if dn["channels"][lv] % dn["heads"]:
            fail("denoiser.heads %d does not divide channels %d" % (dn["heads"], dn["channels"][lv]))
    if dn["fourier_dim"] % 2:
        fail("denoiser.fourier_dim must be even")
    check_sampler_steps(m["sampler"]["steps"])
    check_context_noise(m["sampler"]["context_noise_sigma"])
    if dn.get("predicts", "latent") not in PREDICTS:
        fail("denoiser.predicts must be one of %s, got %r" % ("/".join(PREDICTS), dn["predicts"]))
    if dn.get("predicts") == "residual_render" and dn.get("memory", {}).get("slots", 0) < 1:
        fail("denoiser.predicts 'residual_render' needs a memory slot (the cache's render)")
    if dn.get("predicts") == "residual_cache" and dn.get("memory", {}).get("slots", 0) < 2:
        fail("denoiser.predicts 'residual_cache' needs 2 memory slots (the cache's render and "
             "its mask)")
    if "memory" in dn:
        mem = dn["memory"]
        if not isinstance(mem, dict):
            fail("denoiser.memory must be an object")
        slots, pose = mem.get("slots"), mem.get("pose_dim", 0)
        if not isinstance(slots, int) or not 0 <= slots <= MAX_MEMORY_SLOTS:
            fail("denoiser.memory.slots must be an integer in [0, %d]" % MAX_MEMORY_SLOTS)
        if slots and (not isinstance(pose, int) or not 1 <= pose <= MAX_MEMORY_POSE_DIM):
            fail("denoiser.memory.pose_dim must be an integer in [1, %d]" % MAX_MEMORY_POSE_DIM)
    return m


def to_json(m):
    return json.dumps(m, separators=(",", ":"), sort_keys=False)
