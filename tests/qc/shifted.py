"""Build a depth-shifted copy of a simulated genome: chosen bigWigs multiplied by a factor.

Used by the QC tests and by ``bench/qc_shift.py`` (the measurement reported in docs/results.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np


def scale_bigwig(src: Path, dst: Path, factor: float, bin_bp: int = 20) -> None:
    """Rewrite the fixed-step bigWig ``src`` (``bin_bp`` bins) as ``dst`` with every value x ``factor``.

    Bins without data stay without data (NaN -> not written).
    """
    import pyBigWig

    from claster.io.writers import write_bigwig

    with pyBigWig.open(str(src)) as bw:
        sizes = dict(bw.chroms())
        values = {}
        for c, n in sizes.items():
            v = np.asarray(bw.values(c, 0, n, numpy=True), dtype=np.float64)
            nb = -(-n // bin_bp)
            pad = np.full(nb * bin_bp, np.nan)
            pad[:n] = v
            per_bin = pad.reshape(nb, bin_bp)[:, 0]  # fixed-step: every base of a bin has the bin's value
            values[c] = (per_bin * factor, bin_bp)
    write_bigwig(dst, sizes, values)


def shifted_genome(sim_dir: Path, out: Path, factors: dict[str, float]) -> Path:
    """Copy the simulated genome ``sim_dir`` to ``out`` with ``tracks/<name>.bw`` scaled by ``factors[name]``.

    Returns the path of the copy's prepare.yaml (its paths point into ``out``).
    """
    sim_dir, out = Path(sim_dir), Path(out)
    shutil.copytree(sim_dir, out)
    for name, f in factors.items():
        scale_bigwig(sim_dir / "tracks" / f"{name}.bw", out / "tracks" / f"{name}.bw", f)
    text = (sim_dir / "prepare.yaml").read_text().replace(str(sim_dir), str(out))
    (out / "prepare.yaml").write_text(text)
    return out / "prepare.yaml"
