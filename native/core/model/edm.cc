#include "model/edm.h"

#include <cmath>

namespace wl {

EdmScalars edm_precondition(double s, double sd) {
  const double v = s * s + sd * sd;
  return EdmScalars{float(sd * sd / v), float(s * sd / std::sqrt(v)), float(1.0 / std::sqrt(v)),
                    float(std::log(s) / 4.0)};
}

void karras_sigmas(int steps, double sigma_min, double sigma_max, double rho, double* out) {
  const double lo = std::pow(sigma_min, 1.0 / rho), hi = std::pow(sigma_max, 1.0 / rho);
  for (int i = 0; i < steps; ++i) {
    const double t = steps > 1 ? double(i) / double(steps - 1) : 0.0;
    out[i] = std::pow(hi + t * (lo - hi), rho);
  }
  out[steps] = 0.0;
}

EulerStep euler_step(double sigma, double sigma_next) {
  const double dt = sigma_next - sigma;
  return EulerStep{float(1.0 + dt / sigma), float(-dt / sigma)};
}

}  // namespace wl
