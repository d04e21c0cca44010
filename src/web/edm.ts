// EDM preconditioning, the Karras noise schedule and the Euler step as host scalars, like the
// engine's native/core/model/edm.cc: computed in double and rounded once to f32.

export interface EdmScalars {
  cSkip: number;
  cOut: number;
  cIn: number;
  cNoise: number;
}

export function edmPrecondition(s: number, sd: number): EdmScalars {
  const v = s * s + sd * sd;
  return {
    cSkip: Math.fround((sd * sd) / v),
    cOut: Math.fround((s * sd) / Math.sqrt(v)),
    cIn: Math.fround(1 / Math.sqrt(v)),
    cNoise: Math.fround(Math.log(s) / 4),
  };
}

/** `steps` levels from sigmaMax down to sigmaMin on the rho ramp, then a final 0. */
export function karrasSigmas(steps: number, sigmaMin: number, sigmaMax: number, rho: number): number[] {
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = steps > 1 ? i / (steps - 1) : 0;
    out.push((hi + t * (lo - hi)) ** rho);
  }
  out.push(0);
  return out;
}

/** One Euler step of dx/dsigma = (x - D)/sigma: x' = a x + b D. */
export function eulerStep(sigma: number, sigmaNext: number): { a: number; b: number } {
  const dt = sigmaNext - sigma;
  return { a: Math.fround(1 + dt / sigma), b: Math.fround(-dt / sigma) };
}
