"""bench/gpu.py: one clear line and exit code 3 without a GPU; the GPU code path runs on CPU with --tiny."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_no_gpu_one_line_and_exit_code_3():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the no-GPU path does not apply")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = str(BENCH.parent / "src") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, str(BENCH / "gpu.py")], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 3
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("no GPU: ") and "--device cpu --tiny" in lines[0]


def test_cpu_without_tiny_is_refused(capsys):
    sys.path.insert(0, str(BENCH))
    import gpu

    assert gpu.main(["--device", "cpu"]) == 2
    assert "--tiny" in capsys.readouterr().err


def test_tiny_run_on_cpu(tmp_path, capsys):
    sys.path.insert(0, str(BENCH))
    import gpu

    assert gpu.main(["--device", "cpu", "--tiny", "--steps", "1", "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CPU: ") and "\nCPU flags: " in out
    # the toy genome: 12 genes placed in [1.3, 2.7) Mbp of a 4 Mbp chromosome, all windows (+-500 kbp) inside
    assert "12 usable genes" in out
    rows = {}
    for line in out.splitlines():
        m = re.fullmatch(r"(\w+)((?:\s+[0-9.]+){6})", line.strip())
        if m and m.group(1) in gpu.VARIANTS:
            rows[m.group(1)] = [float(v) for v in m.group(2).split()]
    assert set(rows) == set(gpu.VARIANTS)
    for variant, vals in rows.items():
        assert len(vals) == 6 and all(v > 0 for v in vals[:5]), (variant, vals)
        assert 0 < vals[5] < 0.5  # bf16 max |diff|, standardised units: small but not zero
    m = re.search(r"P2 gene-centric scan of chrT .*: (\d+) active elements, (\d+) windows", out)
    assert m and int(m.group(1)) > 0 and int(m.group(2)) > 12  # 12 reference windows + perturbed ones
