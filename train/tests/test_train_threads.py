"""CPU thread count: training and eval use every CPU the process may run on unless the user chose
with OMP_NUM_THREADS (Debian's PyTorch 1.13 starts with one thread on the 2-core dev machine)."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = ("import os, torch; from train import trainer; trainer.pick_device('cpu'); "
         "print(torch.get_num_threads(), len(os.sched_getaffinity(0)))")


def probe(env_threads):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if env_threads is not None:
        env["OMP_NUM_THREADS"] = env_threads
    env["PYTHONPATH"] = os.pathsep.join([p for p in (env.get("PYTHONPATH"), ROOT) if p])
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout.split()
    return int(out[0]), int(out[1])


class ThreadsTest(unittest.TestCase):
    def test_cpu_device_uses_every_allowed_cpu(self):
        threads, cpus = probe(None)
        self.assertEqual(threads, cpus)

    def test_omp_num_threads_is_respected(self):
        threads, _ = probe("1")
        self.assertEqual(threads, 1)


if __name__ == "__main__":
    unittest.main()
