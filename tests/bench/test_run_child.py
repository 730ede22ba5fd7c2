"""bench/scale.py's peak-memory measurement reports the command's own peak, not its parent's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def test_peak_rss_of_the_command_not_of_this_process(tmp_path):
    import scale

    held = np.ones(80_000_000)  # 640 MB resident in this (the parent) process
    small = scale.run_child([sys.executable, "-c", "pass"], tmp_path / "a.log")
    big = scale.run_child([sys.executable, "-c", "import numpy as np; a = np.ones(40_000_000); print(a.sum())"],
                          tmp_path / "b.log")
    assert held.sum() == 80_000_000
    assert small["peak_rss_gb"] < 0.2  # a bare interpreter, not the 640 MB of this process
    # 320 MB of ones plus an interpreter with numpy
    assert 0.29 < big["peak_rss_gb"] < 0.29 + 0.2
