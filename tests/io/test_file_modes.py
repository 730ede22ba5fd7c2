"""Every file claster writes honours the user's umask (0644 under umask 022), like any other tool.

``tempfile.mkstemp`` creates 0600 files; a writer that moves such a file into place leaves a shared
store or run unreadable by the group. Each check reads the mode with ``os.stat`` directly.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    return kit.make_inputs(tmp_path_factory.mktemp("inputs"))


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in sorted(root.rglob("*")) if p.is_file()}


def test_store_files_honour_the_umask(inputs, tmp_path, umask):
    from claster.config.prepare import PrepareConfig
    from claster.store import build_store

    out = build_store(PrepareConfig(**inputs), tmp_path / "store", progress=False)
    modes = _modes(out)
    assert "manifest.json" in modes and "genes.tsv" in modes
    want = 0o666 & ~umask  # 0644 under 022, 0640 under 027
    wrong = {name: oct(m) for name, m in modes.items() if m != want}
    assert not wrong, f"files not {oct(want)}: {wrong}"


def test_writers_config_and_model_honour_the_umask(tmp_path, umask):
    from claster.config import write_config_json
    from claster.config.model import ModelConfig
    from claster.io.writers import write_bedpe, write_tsv
    from claster.model import ClasterNet
    from claster.model.checkpoint import save_model

    want = 0o666 & ~umask
    write_tsv(pd.DataFrame({"a": [1]}), tmp_path / "t.tsv")
    write_bedpe(pd.DataFrame({c: [0] for c in ("chrom1", "start1", "end1", "chrom2", "start2", "end2")}),
                tmp_path / "t.bedpe")
    write_config_json({"a": 1}, tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text()) == {"a": 1}
    cfg = ModelConfig.for_variant("landscape", context_bins=201, output_bins=19, landscape_layers=(1, 1),
                                  fusion_blocks=1)
    save_model(tmp_path / "model", ClasterNet(cfg), cfg, {})
    modes = _modes(tmp_path)
    assert {"t.tsv", "t.bedpe", "c.json", "model/model.pt", "model/config.json"} <= set(modes)
    wrong = {name: oct(m) for name, m in modes.items() if m != want}
    assert not wrong, f"files not {oct(want)}: {wrong}"
