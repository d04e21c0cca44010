"""EDM preconditioning (Karras et al. 2022) and the few-step Euler sampler the engine runs.

D(x; sigma) = c_skip * x + c_out * F(c_in * x, c_noise, ...), with
  c_skip = sd^2 / (s^2 + sd^2), c_out = s * sd / sqrt(s^2 + sd^2), c_in = 1 / sqrt(s^2 + sd^2),
  c_noise = ln(s) / 4.
The engine computes these scalars in double on the host and rounds them to f32; so do we.
"""
import torch


def precondition(sigma, sigma_data):
    """Per-sample scalars (c_skip, c_out, c_in, c_noise) for a list/1-D tensor of sigmas, computed
    in float64 and returned as float32 tensors."""
    s = torch.as_tensor(sigma, dtype=torch.float64)
    sd = float(sigma_data)
    c_skip = sd * sd / (s * s + sd * sd)
    c_out = s * sd / torch.sqrt(s * s + sd * sd)
    c_in = 1.0 / torch.sqrt(s * s + sd * sd)
    c_noise = torch.log(s) / 4.0
    return tuple(t.to(torch.float32) for t in (c_skip, c_out, c_in, c_noise))


def denoise(net, x, sigma, context, actions, ctx_sigma, sigma_data, memory=None):
    """The denoised estimate D(x; sigma). sigma and ctx_sigma: [N] (any float dtype).
    memory: None or (latents [N,M,C,h,w], poses [N,M,P], mask [N,M]) for a memory-enabled net."""
    c_skip, c_out, c_in, c_noise = precondition(sigma, sigma_data)
    v = lambda t: t[:, None, None, None]  # noqa: E731
    ctx_sigma = torch.as_tensor(ctx_sigma, dtype=torch.float32)
    if memory is None:
        f = net(v(c_in) * x, c_noise, context, actions, ctx_sigma)
    else:
        f = net(v(c_in) * x, c_noise, context, actions, ctx_sigma, *memory)
    return v(c_skip) * x + v(c_out) * f


def karras_sigmas(steps, sigma_min, sigma_max, rho):
    """steps noise levels from sigma_max down to sigma_min on the rho-warped ramp, then 0.
    Returns python floats (double); steps=1 gives [sigma_max, 0]."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    out = []
    for i in range(steps):
        t = i / (steps - 1) if steps > 1 else 0.0
        out.append((hi + t * (lo - hi)) ** rho)
    return out + [0.0]


def euler_coefficients(sigma, sigma_next):
    """x_next = a * x + b * D for one Euler step of dx/dsigma = (x - D) / sigma, as f32 scalars
    computed in double (the same numbers the engine uses)."""
    dt = sigma_next - sigma
    a = 1.0 + dt / sigma
    b = -dt / sigma
    return float(torch.tensor(a, dtype=torch.float32)), float(torch.tensor(b, dtype=torch.float32))


@torch.no_grad()
def sample(net, context, actions, noise, steps, edm, ctx_sigma=0.0, memory=None,
           predicts="latent"):
    """Few-step Euler sampling of the next latent.

    context [N,K,C,h,w], actions [N,K,A], noise [N,C,h,w] standard normal (the engine draws it
    from Philox(seed, frame, step 0)); edm: manifest["edm"]. The context is used as given (clean
    at inference); ctx_sigma is only the conditioning value (manifest
    sampler.context_noise_sigma), exactly as in the engine. memory: as in denoise().
    predicts (manifest denoiser.predicts): "latent", or a copy-then-correct kind ("residual",
    "residual_cache"): the sampler runs on the change from residual_base(), which is added back at
    the end, so keeping that latent costs the network nothing."""
    sig = karras_sigmas(steps, edm["sigma_min"], edm["sigma_max"], edm["rho"])
    n = context.shape[0]
    x = noise * float(torch.tensor(sig[0], dtype=torch.float32))
    cs = torch.full((n,), float(ctx_sigma))
    for i in range(steps):
        d = denoise(net, x, torch.full((n,), sig[i], dtype=torch.float64), context, actions, cs,
                    edm["sigma_data"], memory)
        a, b = euler_coefficients(sig[i], sig[i + 1])
        x = a * x + b * d
    base = residual_base(predicts, context, memory)
    return x if base is None else x + base


def predicts_kind(manifest) -> str:
    """What the denoiser's output means (manifest denoiser.predicts; absent: "latent", the
    original parameterisation)."""
    return manifest["denoiser"].get("predicts", "latent")


def residual_base(predicts, context, memory=None):
    """The latent a copy-then-correct denoiser's output is a change from, [N, C, h, w], or None
    for predicts "latent" (the output is the latent itself).

    "residual": the newest context latent (context [N, K, C, h, w]).
    "residual_cache" (issue 18's lab, not run by the engine): the point cache's render where its
    latent cells saw a surface, the newest context latent elsewhere. memory = (latents
    [N, M, C, h, w], poses, mask [N, M]) with slot 0 the render and slot 1 its per-cell valid
    fraction (lab_cache.slot_inputs kinds ("render", "mask")); a target whose cache is absent
    (mask 0) keeps the newest latent. Keeping the render is then what costs the network nothing,
    so on a turn the rotated view is the default and not the frame before it.
    "residual_render" (the same lab): the render (slot 0) wherever the cache is present, for
    renders whose holes were filled with the newest frame in pixel space before encoding."""
    if predicts == "latent":
        return None
    newest = context[:, -1]
    if predicts == "residual":
        return newest
    if predicts not in ("residual_cache", "residual_render"):
        raise ValueError(f"denoiser.predicts '{predicts}': expected latent, residual, "
                         "residual_cache or residual_render")
    # residual_render: the render wherever the cache is present (its holes already hold the
    # newest frame, lab_cache.fill_holes); residual_cache: weighted by the mask slot's per-cell
    # valid fraction.
    slots = 1 if predicts == "residual_render" else 2
    if not memory or memory[0].shape[1] < slots:
        raise ValueError(f"predicts '{predicts}' needs the cache's render"
                         + (" in memory slot 0" if slots == 1 else
                            " and mask in memory slots 0 and 1"))
    lat, _, present = memory
    weight = present[:, 0].to(newest.dtype).view(-1, 1, 1, 1)
    if predicts == "residual_cache":
        weight = lat[:, 1].to(newest.dtype) * weight
    return newest + weight * (lat[:, 0].to(newest.dtype) - newest)
