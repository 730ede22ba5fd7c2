"""What the CLI prints when something is wrong: one line per error and per warning, never parser dumps
or Python source lines."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd

TRUTH = pd.DataFrame(
    {
        "chrom": "chr1", "chromStart": [100, 300, 500], "chromEnd": [200, 400, 600],
        "measuredGeneSymbol": ["A", "A", "B"], "Regulated": ["TRUE", "NA", "FALSE"],
        "distanceToTSS": [1000, 500, 2000],
    }
)


def test_yaml_syntax_error_is_one_line_with_file_line_column(cli, tmp_path: Path):
    bad = tmp_path / "train.yaml"
    bad.write_text("store: s\nout: [a, b\nepochs: 3\n")  # the list is never closed
    code, out, err = cli(["train", "--config", bad])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {bad}:3:7: not valid YAML (expected ',' or ']'"), lines[0]
    bad.write_text("a: 1\n  b: 2\n")  # indentation error
    code, out, err = cli(["train", "--config", bad])
    assert code == 1 and err.strip() == f"error: {bad}:2:4: not valid YAML (mapping values are not allowed here); fix the syntax"


def test_claster_warning_is_one_line(cli, tmp_path: Path):
    """A dropped unlabelled truth row warns as ``warning: <message>``: no file, line number or source."""
    truth = tmp_path / "truth.tsv"
    TRUTH.to_csv(truth, sep="\t", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest, where warnings are not errors
        code, out, err = cli(["benchmark", "crispr", "--truth", truth, "--out", tmp_path / "o"])
    assert code == 0, err
    assert err == (f"warning: truth file {truth}: dropped 1 pairs whose Regulated label is missing or not "
                   "TRUE/FALSE\n")


def test_other_warnings_are_one_line_with_their_origin():
    from claster.cli import show_warning
    from claster.errors import ClasterWarning

    buf = io.StringIO()
    show_warning(UserWarning("two\n  lines"), UserWarning, "/x/lib.py", 12, file=buf, line="warn()")
    show_warning(ClasterWarning("filled 3 bins"), ClasterWarning, "/x/claster/a.py", 5, file=buf)
    assert buf.getvalue() == "warning: UserWarning: two lines (/x/lib.py:12)\nwarning: filled 3 bins\n"


def test_cli_leaves_the_warning_machinery_as_it_found_it(cli, tmp_path: Path):
    before = (warnings.showwarning, list(warnings.filters))
    cli(["train", "--config", tmp_path / "absent.yaml"])
    assert (warnings.showwarning, list(warnings.filters)) == before
