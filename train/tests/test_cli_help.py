"""Every `python3 -m train <command> --help` renders (argparse %-formats help strings, so a stray
"%" in one breaks or garbles it)."""
import argparse
import unittest

from train.__main__ import COMMANDS


class HelpTest(unittest.TestCase):
    def test_every_command_renders_its_help(self):
        for name, (_, help_text, add_args) in COMMANDS.items():
            ap = argparse.ArgumentParser(prog="python3 -m train")
            sub = ap.add_subparsers(dest="command")
            p = sub.add_parser(name, help=help_text)
            add_args(p)
            text = p.format_help()
            self.assertIn("usage:", text, name)
            self.assertNotIn("option_strings", text, name)  # a "% a"-style conversion leaked


if __name__ == "__main__":
    unittest.main()
