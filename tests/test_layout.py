"""The package layout's import rules (docs/architecture.md): data flows one way.

``io → store → data → model → train → predict → {evaluate, perturb → link, attribute} → report``, with
``simulate``, ``plots``, ``config`` and ``cli`` beside them. Every import inside ``src/claster`` (module
level or inside a function) is read with ``ast`` and checked against the table below: a lower layer
that imports a higher one, or ``plots`` importing analysis code, fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "claster"

#: what every part may use: the package root (``claster.__version__``), errors, units and atomic writes
_BASE = {"claster", "errors", "units", "atomic"}
_BELOW_PREDICT = _BASE | {"config", "io", "store", "qc", "rotate", "data", "model", "train"}
#: part of the package -> the parts it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "atomic": {"errors"},
    "units": set(),
    "rotate": _BASE,
    "config": _BASE,
    "io": _BASE | {"config"},
    "simulate": _BASE | {"config", "io"},
    "store": _BASE | {"config", "io", "rotate"},
    "qc": _BASE | {"config", "io", "store", "plots"},
    "data": _BASE | {"config", "store", "rotate"},
    "model": _BASE | {"config"},
    "compat": _BASE | {"config", "model"},
    "export": _BASE | {"config", "io", "store", "data"},
    "train": _BASE | {"config", "io", "store", "qc", "data", "model"},
    "predict": _BELOW_PREDICT,
    "evaluate": _BELOW_PREDICT | {"predict", "plots"},
    "perturb": _BELOW_PREDICT | {"predict", "evaluate", "plots"},
    "link": _BASE | {"config", "io", "store", "evaluate", "perturb", "plots"},
    "attribute": _BELOW_PREDICT | {"predict", "plots"},
    "plots": _BASE,
    "report": _BASE | {"config", "io", "qc", "plots", "evaluate", "link"},
    "demo": None,  # orchestrates every stage, like the CLI
    "cli": None,
    "__main__": None,
}
#: stage packages whose public API is their ``__init__``: other parts import ``claster.<stage>``
#: names, never its submodules
STAGES = ("predict", "evaluate", "perturb", "link", "attribute")


def _part(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, m) for line, m in out if m == "claster" or m.startswith("claster.")]


def _target(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "claster"


def test_every_part_of_the_package_has_a_rule():
    parts = {_part(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert parts <= set(ALLOWED), f"add these to ALLOWED in {__file__}: {sorted(parts - set(ALLOWED))}"


def test_imports_follow_the_layers():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        part = _part(path)
        allowed = ALLOWED.get(part)
        if allowed is None:
            continue
        for line, module in _imports(path):
            target = _target(module)
            if target != part and target not in allowed:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {module} ({part} may not use {target})")
    assert not bad, "\n".join(bad)


def test_stages_are_used_through_their_public_api():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        part = _part(path)
        for line, module in _imports(path):
            parts = module.split(".")
            if len(parts) > 2 and parts[1] in STAGES and parts[1] != part:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {module}; use claster.{parts[1]}")
    assert not bad, "\n".join(bad)


def test_the_checker_catches_a_violation(tmp_path):
    """The rule table rejects an upward import (store -> data) and plots -> an analysis stage."""
    assert "data" not in ALLOWED["store"]
    assert not ALLOWED["plots"] & set(STAGES)
    fake = tmp_path / "m.py"
    fake.write_text("def f():\n    from claster.data.windows import cut_target\n")
    assert [_target(m) for _, m in _imports(fake)] == ["data"]


@pytest.mark.parametrize("module", ["claster.io", "claster.store", "claster.plots", "claster.config"])
def test_light_parts_do_not_import_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
