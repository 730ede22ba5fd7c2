"""``claster link``: effects.tsv -> links TSV (+ BEDPE), each option shown to change something."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from claster.link import LINKS_COLUMNS, read_links_bedpe, read_links_tsv

HEADER = (
    "element_id element_chrom element_start_bp element_end_bp gene_id gene_name gene_tss_bp "
    "baseline_area perturbed_area window_id"
)
EFFECTS = """
E1 chr1 1000 1200 gA GeneA 1150 10 8 E1
E1 chr1 1000 1200 gB GeneB 5100 20 14 E1
E1 chr1 1000 1200 gC GeneC 900 5 5 E1
E3 chr2 50000 50100 gF GeneF 52000 10 6 gF
E3 chr2 50000 50100 gG GeneG 60000 10 12 gF
E3 chr2 50000 50100 gF GeneF 52000 10 2 gG
E3 chr2 50000 50100 gG GeneG 60000 10 8 gG
"""


@pytest.fixture
def effects_tsv(tmp_path):
    path = tmp_path / "run" / "effects.tsv"
    path.parent.mkdir()
    pd.read_csv(io.StringIO(HEADER + "\n" + EFFECTS.strip()), sep=r"\s+").to_csv(path, sep="\t", index=False)
    return path


def test_link_writes_tsv_and_bedpe(cli, tmp_path, effects_tsv):
    out, bedpe = tmp_path / "links.tsv", tmp_path / "links.bedpe"
    code, stdout, err = cli(["link", "--effects", effects_tsv, "--out", out, "--bedpe", bedpe])
    assert code == 0, err
    assert "wrote 5 links for 2 elements" in stdout
    links = read_links_tsv(out)
    assert tuple(links.columns) == LINKS_COLUMNS
    e1 = links[links["name"] == "E1"].set_index("TargetGeneEnsemblID")
    assert e1.loc["gB", "score"] == 1.0 and bool(e1.loc["gB", "is_primary"])
    assert e1.loc["gA", "score"] == pytest.approx(1 / 3, rel=1e-5) and bool(e1.loc["gA", "is_closest"])
    bed = read_links_bedpe(bedpe)
    assert len(bed) == 5 and bed.set_index("name").loc["E1|GeneA", "score"] == 333


def test_link_min_delta(cli, tmp_path, effects_tsv):
    out = tmp_path / "links.tsv"
    code, _, err = cli(["link", "--effects", effects_tsv, "--out", out, "--min-delta", "2.5"])
    assert code == 0, err
    links = read_links_tsv(out)
    assert sorted(zip(links["name"], links["TargetGeneEnsemblID"], strict=True)) == [
        ("E1", "gB"),
        ("E3", "gF"),
    ]


def test_link_duplicates_option(cli, tmp_path, effects_tsv):
    a, b = tmp_path / "max.tsv", tmp_path / "ref.tsv"
    assert cli(["link", "--effects", effects_tsv, "--out", a])[0] == 0
    assert cli(["link", "--effects", effects_tsv, "--out", b, "--duplicates", "reference"])[0] == 0
    gmax = read_links_tsv(a).set_index("TargetGeneEnsemblID").loc["gG"]
    gref = read_links_tsv(b).set_index("TargetGeneEnsemblID").loc["gG"]
    assert (gmax["window_id"], gmax["score"]) == ("gF", 0.5)
    assert (gref["window_id"], gref["score"]) == ("gG", 0.25)


def test_link_refuses_to_overwrite_without_force(cli, tmp_path, effects_tsv):
    out = tmp_path / "links.tsv"
    out.write_text("keep me\n")
    code, _, err = cli(["link", "--effects", effects_tsv, "--out", out])
    assert code == 1
    assert err.strip() == f"error: {out} exists; pass --force to overwrite it or choose another path"
    assert out.read_text() == "keep me\n"
    code, _, err = cli(["link", "--effects", effects_tsv, "--out", out, "--force"])
    assert code == 0, err
    assert read_links_tsv(out).shape[0] == 5


def test_link_errors(cli, tmp_path, effects_tsv):
    code, _, err = cli(["link", "--effects", tmp_path / "missing.tsv", "--out", tmp_path / "l.tsv"])
    assert code == 1 and "does not exist; run `claster perturb" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        ["link", "--effects", effects_tsv, "--out", tmp_path / "l.tsv", "--duplicates", "mean"]
    )
    assert code == 1 and "--duplicates must be 'max' or 'reference', got 'mean'" in err
    code, _, err = cli(["link", "--effects", effects_tsv, "--out", tmp_path / "nodir" / "l.tsv"])
    assert code == 1 and "does not exist; create it first" in err


def test_link_help_shows_defaults(cli):
    code, out, _ = cli(["link", "--help"])
    assert code == 0
    assert "--min-delta" in out and "--bedpe" in out and "default" in out
