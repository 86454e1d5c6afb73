"""``invoke … | head``: the reader goes away early; the CLI ends quietly (no traceback),
as Unix tools do -- while a broken pipe that is not stdout's still raises."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import ROOT


@pytest.mark.parametrize("args", [["--list"], ["deploy", "--help"], ["env.reference"]])
def test_output_cut_short_by_the_reader_ends_without_a_traceback(args):
    read, write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        stdout=write,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    os.close(write)
    os.close(read)  # the reader is gone before the first line: `| head -0`
    stderr = proc.communicate(timeout=120)[1]
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_a_broken_pipe_elsewhere_still_shows_its_traceback():
    code = "import os, tasks; r, w = os.pipe(); os.close(r); os.write(w, b'x')"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "BrokenPipeError" in proc.stderr
