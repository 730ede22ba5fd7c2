"""The generated reference pages (docs/cli.md, docs/config.md) match the code, and the docs hold together."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("index.md", "qc.md", "user-guide.md", "perturbation.md", "attribution.md", "api.md", "architecture.md",
         "comparison.md", "store-format.md", "cli.md", "config.md")


def _generator():
    spec = importlib.util.spec_from_file_location("claster_docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["cli.md", "config.md"])
def test_generated_pages_are_up_to_date(page, tmp_path):
    gen = _generator()
    gen.generate(tmp_path)
    fresh = (tmp_path / page).read_text(encoding="utf-8")
    committed = (DOCS / page).read_text(encoding="utf-8") if (DOCS / page).is_file() else ""
    assert committed == fresh, f"docs/{page} is out of date; run `python docs/generate.py`"


def test_cli_page_lists_every_command_and_option():
    import typer

    from claster.cli import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="claster")
    for name in group.list_commands(ctx):
        assert f"## `claster {name}`" in text
        cmd = group.get_command(ctx, name)
        for param in cmd.params:
            for opt in param.opts:
                if opt.startswith("-"):
                    assert opt in text, f"{opt} of `claster {name}` is missing from docs/cli.md"


def test_config_page_lists_every_field():
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    from claster.config.prepare import PrepareConfig

    for field in PrepareConfig.model_fields:
        assert f"| `{field}` |" in text


def test_every_page_exists_and_local_links_resolve():
    for page in PAGES:
        assert (DOCS / page).is_file(), f"docs/{page} is missing"
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", text):
            assert (DOCS / target).is_file(), f"docs/{page} links to missing {target}"


def test_docs_name_no_package_registry_host():
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8").lower()
        for host in ("download.pytorch.org", "pypi.org", "files.pythonhosted", "anaconda.org", "conda-forge.org"):
            assert host not in text, f"docs/{page} names {host}"
