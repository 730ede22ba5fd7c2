"""Fixtures of the report tests: a fake run directory (see fakerun.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakerun import build_fake_run


@pytest.fixture(scope="session")
def _fake_run_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("fake_run") / "demo_out"
    return root, build_fake_run(root)


@pytest.fixture
def fake_run(_fake_run_template: tuple[Path, dict], tmp_path: Path) -> tuple[Path, dict]:
    """A run directory with small synthetic files of every kind (a fresh copy per test), and facts about it."""
    template, facts = _fake_run_template
    root = tmp_path / "demo_out"
    shutil.copytree(template, root)
    facts = dict(facts, pngs=[root / p.relative_to(template) for p in facts["pngs"]])
    return root, facts
