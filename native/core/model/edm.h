// EDM preconditioning and the Karras noise schedule (Karras et al. 2022), as host-side scalars:
// computed in double, rounded once to f32, exactly as train/edm.py does.
#pragma once
namespace wl {

struct EdmScalars {
  float c_skip, c_out, c_in, c_noise;
};
EdmScalars edm_precondition(double sigma, double sigma_data);

// `steps` levels from sigma_max down to sigma_min on the rho ramp, then a final 0, into
// out[0..steps]. steps = 1 gives {sigma_max, 0}.
void karras_sigmas(int steps, double sigma_min, double sigma_max, double rho, double* out);

// One Euler step of dx/dsigma = (x - D)/sigma from sigma to sigma_next: x' = a x + b D.
struct EulerStep {
  float a, b;
};
EulerStep euler_step(double sigma, double sigma_next);

}  // namespace wl
