"""Fixtures of the simulate tests: the small preset (the session's ``sim_dir``) and a tiny genome."""

from __future__ import annotations

from pathlib import Path

import pytest

from claster.simulate import SimParams

TINY_SIZES = {"chr4": 2_400_000, "chr17": 1_500_000}


def tiny_params() -> SimParams:
    """A 3.9 Mbp genome that simulates in a few seconds."""
    return SimParams(chrom_sizes=dict(TINY_SIZES))


@pytest.fixture(scope="session")
def small_sim(sim_dir: Path) -> Path:
    """The small preset, seed 0, built once per session (the same build as the shared ``sim_dir``)."""
    return sim_dir


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two tiny genomes with seed 5 and one with seed 6."""
    from claster.simulate import simulate_genome

    root = tmp_path_factory.mktemp("tiny")
    a = simulate_genome(root / "a", seed=5, params=tiny_params(), progress=False)
    b = simulate_genome(root / "b", seed=5, params=tiny_params(), progress=False)
    c = simulate_genome(root / "c", seed=6, params=tiny_params(), progress=False)
    return a, b, c
