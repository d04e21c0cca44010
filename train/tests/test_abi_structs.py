"""The ctypes mirrors of the C ABI's structs (train/world.py, train/eval.py) against the sizes the
built library reports (wl_struct_size): the same check train/world.py runs at load, plus proof that
a mirror with a field missing is refused. Needs the built library (scripts/test.sh builds it)."""
import ctypes
import unittest

from train import eval as eval_mod
from train import world


class AbiStructsTest(unittest.TestCase):
    def test_every_mirror_matches_the_library(self):
        lib = world.library()  # runs the load-time check for the world structs
        world.check_struct_sizes(lib, {
            "wl_world_config": world.WorldConfig,
            "wl_explore_config": world.ExploreConfig,
            "wl_camera": world.Camera,
            "wl_model_options": eval_mod._Opts,
        })

    def test_a_mirror_with_a_field_missing_is_refused(self):
        class Short(ctypes.Structure):
            _fields_ = world.ExploreConfig._fields_[:-1]

        with self.assertRaisesRegex(RuntimeError, r"struct wl_explore_config is \d+ bytes in C but .*Short"):
            world.check_struct_sizes(world.library(), {"wl_explore_config": Short})

    def test_unknown_struct_names_report_zero(self):
        with self.assertRaisesRegex(RuntimeError, r"wl_no_such_struct is 0 bytes"):
            world.check_struct_sizes(world.library(), {"wl_no_such_struct": world.WorldConfig})


if __name__ == "__main__":
    unittest.main()
