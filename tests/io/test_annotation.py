"""GTF/BED gene readers: coordinate conversion, TSS, filters, errors; the real mm10 universe."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from claster.errors import InputError
from claster.io import read_annotation

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


def test_gtf_is_converted_to_zero_based(tmp_path):
    df = read_annotation(kit.write_gtf(tmp_path / "g.gtf"))
    # hand-worked: GTF 600001..620000 (+) -> [600000, 620000), TSS 600000;
    # GTF 700001..705123 (-) -> [700000, 705123), TSS 705122. lncRNA and chrM are dropped.
    expected = pd.read_csv(io.StringIO(
        "gene_id gene_name chrom start_bp end_bp strand gene_type tss_bp\n"
        "G1.1 Alpha chr1 600000 620000 + protein_coding 600000\n"
        "G2.1 Beta chr1 700000 705123 - protein_coding 705122\n"
        "G3.1 Gamma chr1 100000 110000 + protein_coding 100000\n"
        "G4.1 Delta chr4 550000 560000 - protein_coding 559999\n"
        "G6.1 Zeta chr17 520000 530000 + protein_coding 520000\n"), sep=" ")
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)


def test_gene_type_filter_and_none(tmp_path):
    path = kit.write_gtf(tmp_path / "g.gtf")
    assert list(read_annotation(path, ["lncRNA"])["gene_id"]) == ["G5.1"]
    assert len(read_annotation(path, None)) == 6  # every type, chrM still excluded


def test_ensembl_gene_biotype(tmp_path):
    p = tmp_path / "e.gtf"
    p.write_text('9\tx\tgene\t11\t20\t.\t-\t.\tgene_id "E1"; gene_name "A"; gene_biotype "protein_coding";\n')
    df = read_annotation(p)
    assert df.loc[0, ["chrom", "start_bp", "end_bp", "tss_bp"]].tolist() == ["9", 10, 20, 19]


def test_bed_with_header(tmp_path):
    p = tmp_path / "g.bed"
    p.write_text("#chr\tstart\tend\tname\tscore\tstrand\tEnsembl_ID\tgene_type\n"
                 "chr2\t100\t200\tFoo\t0\t-\tENS1\tprotein_coding\n"
                 "chrM\t1\t50\tMt\t0\t+\tENS2\tprotein_coding\n")
    df = read_annotation(p)
    assert df.to_dict("records") == [{"gene_id": "ENS1", "gene_name": "Foo", "chrom": "chr2", "start_bp": 100,
                                      "end_bp": 200, "strand": "-", "gene_type": "protein_coding", "tss_bp": 199}]


def test_no_gene_of_requested_type(tmp_path):
    with pytest.raises(InputError, match=r"no gene of type miRNA \(types present: protein_coding.*--gene-type"):
        read_annotation(kit.write_gtf(tmp_path / "g.gtf"), ["miRNA"])


def test_missing_annotation(tmp_path):
    with pytest.raises(InputError, match="does not exist; check the path given to --annotation"):
        read_annotation(tmp_path / "none.gtf")


@pytest.mark.realdata
def test_mm10_gencode_vm25_universe(real_dir):
    from claster.io import read_chrom_sizes
    from claster.store import build_gene_index

    ann = real_dir / "annotation"
    genes = read_annotation(ann / "gencode.vM25.protein_coding.genes.mm10.bed")
    assert (genes["chrom"] == "chr4").sum() == 1306
    assert "chrM" not in set(genes["chrom"])
    sizes = read_chrom_sizes(ann / "mm10.chrom.sizes")
    index = build_gene_index(genes, sizes, test_chroms=["chr4"], val_chroms=["chr17"])
    # independent: the landscape window [100*(tss//100) - 500000, +1000100) inside [0, 100*ceil(L/100))
    start = genes["tss_bp"] // 100 * 100 - 500_000
    end_cap = genes["chrom"].map(sizes).add(99) // 100 * 100
    ok = (start >= 0) & (start + 1_000_100 <= end_cap)
    assert index["usable"].sum() == ok.sum()
    test = index[index["split"] == "test"]
    print(f"mm10 GENCODE vM25 protein-coding: {len(genes)} genes, {int(ok.sum())} usable; "
          f"chr4 (test): {len(test)} genes, {int(test['usable'].sum())} usable")
    assert len(test) == 1306 and test["usable"].sum() == ok[genes["chrom"] == "chr4"].sum()
