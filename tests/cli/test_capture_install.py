#!/usr/bin/env python3
"""tools/capture installs offline with Debian's pip + setuptools + wheel
(pip install --no-index --no-deps --no-build-isolation --target DIR tools/capture),
and the installed copy imports and runs `python3 -m colscope_capture --help`
from anywhere. When `unshare -n` works (root), pip runs with no network at all.

usage: test_capture_install.py PATH/TO/colscope   (CTest passes it)"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import capture_support as cs


def offline(cmd):
    """CMD in a namespace without network when the system allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"] + cmd
    return cmd


class Install(unittest.TestCase):
    def test_pip_install_offline_into_a_target(self):
        tmp = tempfile.mkdtemp(prefix="cs_pip_")
        src = os.path.join(tmp, "capture")  # a copy: pip builds in the source tree (build/, *.egg-info)
        shutil.copytree(os.path.join(cs.SOURCE_DIR, "tools", "capture"), src,
                        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        target = os.path.join(tmp, "target")
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        env.pop("PYTHONPATH", None)
        r = subprocess.run(offline([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                                    "--no-build-isolation", "--no-cache-dir", "--target", target, src]),
                           env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.isfile(os.path.join(target, "colscope_capture", "capture.py")))
        self.assertTrue(os.path.isfile(os.path.join(target, "bin", "colscope-capture")))
        env["PYTHONPATH"] = target
        r = subprocess.run([sys.executable, "-c", "import colscope_capture as c; print(c.__file__, c.__version__)"],
                           env=env, cwd=tmp, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(os.path.join(target, "colscope_capture")), r.stdout)
        r = subprocess.run([sys.executable, "-m", "colscope_capture", "--help"], env=env, cwd=tmp,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("colscope_capture.capture(", r.stdout)
        self.assertIn("colscope_capture.mask(", r.stdout)


if __name__ == "__main__":
    cs.main()
