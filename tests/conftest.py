"""Shared fixtures: real-data paths (skipped when absent), the simulated genome and its store.

The simulated genome (``claster.simulate``) with a fixed seed is built once per test session and
prepared into a store once; tests that need a store use ``sim_store``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
FIXTURES = SHARED / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow") or "slow" in (config.getoption("-m") or "")
    skip_slow = pytest.mark.skip(reason="slow test: run with --run-slow")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords:
            import torch

            if not torch.cuda.is_available():
                item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


def require(path: Path) -> Path:
    """Skip the calling test, with the reason, when a shared data path is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared real-data folder is not beside this checkout)")
    return path


@pytest.fixture(scope="session")
def real_dir() -> Path:
    return require(REAL)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return require(FIXTURES)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated genome, seed 0, written in real formats."""
    from claster.simulate import simulate_genome

    out = tmp_path_factory.mktemp("sim") / "genome"
    simulate_genome(out, seed=0, preset="small")
    return out


@pytest.fixture(scope="session")
def sim_store(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated genome prepared into a store (with contacts)."""
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.store import build_store

    out = tmp_path_factory.mktemp("store") / "store"
    cfg = load_config(PrepareConfig, sim_dir / "prepare.yaml")
    build_store(cfg, out, progress=False)
    return out


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run the ``claster`` CLI in-process: ``code, out, err = cli(["simulate", ...])``."""
    from claster.cli import main

    def run(args: list[str]) -> tuple[int, str, str]:
        argv = sys.argv
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.argv = argv
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
