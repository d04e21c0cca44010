"""worldloop training package: the PyTorch definition of the networks, the EDM sampler, the
Philox noise generator shared with the engine, the .safetensors exporter and the golden fixtures.
Run commands with `/usr/bin/python3 -m train <command>`."""
