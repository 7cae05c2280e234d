"""Shared by the tests of the Python client (tests/python/test_*.py).

Each test file runs as `python3 test_x.py AIOJOBSD AIOJOBCTL [unittest
arguments]`: run() takes the two binaries off the command line, hands
them to the integration harness (whose Daemon starts a real daemon) and
runs the file's unittest cases, exiting non-zero on any failure. The
package is imported from client/python, in the source tree.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "client", "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402,F401
import aiojobsd  # noqa: E402,F401


def run():
    """unittest.main() for a test file given AIOJOBSD AIOJOBCTL first."""
    if len(sys.argv) < 3:
        sys.stderr.write("usage: %s AIOJOBSD AIOJOBCTL [unittest args]\n"
                         % sys.argv[0])
        sys.exit(2)
    harness.AIOJOBSD = os.path.abspath(sys.argv[1])
    harness.AIOJOBCTL = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)


class DaemonCase(unittest.TestCase):
    """A test case with one daemon for the whole class (self.d) and the
    client arguments that reach it (self.kw)."""

    daemon_args = ()

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(*cls.daemon_args)
        cls.d.__enter__()
        cls.kw = {"url": cls.d.url, "events_url": cls.d.events_url}

    @classmethod
    def tearDownClass(cls):
        cls.d.__exit__(None, None, None)
