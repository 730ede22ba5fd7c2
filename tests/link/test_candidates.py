"""Candidate pairs: the links keep every element–gene pair of the scan, skipped elements included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claster.link import CANDIDATE_COLUMNS, LINKS_COLUMNS, abc_scores, candidate_links, links_table

GENES = pd.DataFrame({
    "chrom": "chr1", "tss_bp": [100_000, 150_000, 600_000], "gene_id": ["gA", "gB", "gFar"],
    "gene_name": ["GeneA", "GeneB", "GeneFar"],
})
# E1 was scanned (active); E9 was skipped by the active filter; both lie within 200 kbp of gA and gB,
# and more than 200 kbp from gFar.
ELEMENTS = pd.DataFrame({
    "chrom": "chr1", "start_bp": [110_000, 130_000], "end_bp": [111_000, 130_500],
    "element_id": ["E1", "E9"], "activity": [5.0, 2.0],
})
EFFECTS = pd.DataFrame({
    "element_id": ["E1", "E1"], "element_chrom": "chr1", "element_start_bp": 110_000,
    "element_end_bp": 111_000, "gene_id": ["gA", "gB"], "gene_name": ["GeneA", "GeneB"],
    "gene_tss_bp": [100_000, 150_000], "baseline_area": [10.0, 10.0], "perturbed_area": [6.0, 9.0],
    "window_id": ["gA", "gA"],
})


def _tables():
    links = links_table(EFFECTS)
    abc = abc_scores(ELEMENTS, GENES)  # no map: power-law contact
    return links, abc, candidate_links(links, abc)


def test_skipped_elements_get_a_row_with_abc_features_and_no_model_effect():
    _, abc, out = _tables()
    assert list(out.columns) == [*LINKS_COLUMNS, *CANDIDATE_COLUMNS]
    skipped = out[out["name"] == "E9"].set_index("TargetGeneEnsemblID")
    assert sorted(skipped.index) == ["gA", "gB"]
    assert (skipped["score"] == 0).all() and (skipped["delta"] == 0).all()
    assert not skipped["model_scored"].any() and not skipped["element_scanned"].any()
    for gene in ("gA", "gB"):
        ref = abc[(abc["name"] == "E9") & (abc["TargetGeneEnsemblID"] == gene)].iloc[0]
        assert skipped.at[gene, "ABC.Score"] == pytest.approx(ref["ABC.Score"])
        assert skipped.at[gene, "contact"] == pytest.approx(ref["contact"])
        assert skipped.at[gene, "activity"] == 2.0
        assert skipped.at[gene, "activity_x_contact"] == pytest.approx(2.0 * ref["contact"])
    assert skipped.at["gA", "distance"] == abs(100_000 - (130_000 + 130_500) // 2)


def test_model_rows_keep_their_scores():
    links, _, out = _tables()
    scored = out[out["model_scored"]].set_index("TargetGeneEnsemblID")
    lk = links.set_index("TargetGeneEnsemblID")
    np.testing.assert_allclose(scored.loc[["gA", "gB"], "score"], lk.loc[["gA", "gB"], "score"])
    assert scored["element_scanned"].all()


def test_no_candidate_pair_is_missing():
    """Brute force: every (element, gene) with |TSS - midpoint| <= 200 kbp is in the table, nothing else."""
    _, _, out = _tables()
    want = set()
    for e in ELEMENTS.itertuples():
        for g in GENES.itertuples():
            if abs(g.tss_bp - (e.start_bp + e.end_bp) // 2) <= 200_000:
                want.add((e.element_id, g.gene_id))
    assert set(zip(out["name"], out["TargetGeneEnsemblID"], strict=True)) == want
    assert out.attrs["summary"]["n_added_from_skipped_elements"] == 2


def test_closest_gene_is_recomputed_over_candidates():
    _, _, out = _tables()
    e9 = out[out["name"] == "E9"].set_index("TargetGeneEnsemblID")
    # E9 midpoint 130,250: gB (19,750 bp) is closer than gA (30,250 bp)
    assert bool(e9.at["gB", "is_closest"]) and not bool(e9.at["gA", "is_closest"])
    assert e9.at["gA", "proximity_rank"] == 2


def test_link_cli_with_a_real_store_adds_every_candidate_pair(sim_dir, sim_store, cli, tmp_path):
    """`claster link --store` on a prepared store: the model-scored pair keeps its effect and every
    other (enhancer, store gene) pair of the chromosome within 200 kbp is added (brute-force loop)."""
    from claster.store import open_store

    genes = open_store(sim_store).genes
    bed = pd.read_csv(sim_dir / "enhancers.bed", sep="\t", header=None).iloc[:, :4]
    bed.columns = ["chrom", "start", "end", "name"]
    chrom = "chr4"
    g0 = genes[genes["chrom"] == chrom].iloc[0]
    e0 = bed[bed["chrom"] == chrom].iloc[0]
    effects = pd.DataFrame({
        "element_id": [str(e0["name"])], "element_chrom": chrom, "element_start_bp": int(e0["start"]),
        "element_end_bp": int(e0["end"]), "gene_id": [str(g0["gene_id"])], "gene_name": [str(g0["gene_name"])],
        "gene_tss_bp": [int(g0["tss_bp"])], "baseline_area": [10.0], "perturbed_area": [7.0],
        "window_id": [str(g0["gene_id"])],
    })
    eff = tmp_path / "effects.tsv"
    effects.to_csv(eff, sep="\t", index=False)
    out = tmp_path / "links.tsv"
    code, stdout, err = cli(["link", "--effects", eff, "--store", sim_store, "--elements",
                             sim_dir / "enhancers.bed", "--out", out])
    assert code == 0, err
    assert "candidate pairs without a model effect" in stdout
    got = pd.read_csv(out, sep="\t")
    expect = set()
    for _, e in bed[bed["chrom"] == chrom].iterrows():
        mid = (int(e["start"]) + int(e["end"])) // 2
        for _, g in genes[genes["chrom"] == chrom].iterrows():
            if abs(int(g["tss_bp"]) - mid) <= 200_000:
                expect.add((str(e["name"]), str(g["gene_id"])))
    pairs = set(zip(got["name"].astype(str), got["TargetGeneEnsemblID"].astype(str)))
    assert pairs == expect
    scored = got[got["model_scored"].astype(bool)]
    assert len(scored) == 1 and scored["delta"].iloc[0] == pytest.approx(3.0)  # baseline - perturbed
    assert got["ABC.Score"].notna().all() and (got.loc[~got["model_scored"].astype(bool), "score"] == 0).all()
