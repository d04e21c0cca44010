"""worldloop training package: the PyTorch definition of the networks, the EDM sampler, the
Philox noise generator shared with the engine, the .safetensors exporter and the golden fixtures.
Run commands with `/usr/bin/python3 -m train <command>`."""

import os as _os

# OpenMP threads that spin while waiting (libgomp's default) turn a shared 2-core machine into a
# crawl: a 16-step rollout took 102 s instead of 4 s while another process was busy (measured
# 2026-12-07, docs/HANDOFF.md "Traps"). Passive waiting costs little when the machine is quiet.
# It must be set before torch loads libgomp, which is why it lives here.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
