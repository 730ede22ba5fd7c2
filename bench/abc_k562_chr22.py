"""claster's ABC on K562 chr22 against the ABC.Score of the published ENCODE-rE2G predictions.

Inputs (../shared/data/real/k562_chr22): the EnhancerList elements with their DHS and H3K27ac read
counts (activity = sqrt(DHS * H3K27ac)), the GeneList TSSs, the 5 kb Hi-C dump ICE-balanced with
cooler (claster.io.open_contacts + read_band, 5 Mbp band). Prints Spearman and top-k overlap over
the (element, gene) pairs both tables hold.

    PYTHONPATH=src python bench/abc_k562_chr22.py [REAL_DIR]
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def load_inputs(real: Path):
    d = real / "k562_chr22"
    bed = pd.read_csv(d / "EnhancerList.K562_chr22.hg38.bed", sep="\t", header=None,
                      names=["chrom", "start_bp", "end_bp", "element_id"])
    dhs = pd.read_csv(d / "Enhancers.DHS.ENCFF860XAE.counts.hg38.bedgraph", sep="\t", header=None,
                      names=["chrom", "start_bp", "end_bp", "dhs"])
    k27 = pd.read_csv(d / "Enhancers.H3K27ac.ENCFF790GFL.counts.hg38.bedgraph", sep="\t", header=None,
                      names=["chrom", "start_bp", "end_bp", "h3k27ac"])
    els = bed.merge(dhs, on=["chrom", "start_bp", "end_bp"]).merge(k27, on=["chrom", "start_bp", "end_bp"])
    assert len(els) == len(bed), "bedgraphs do not cover the EnhancerList"
    els["class"] = els["element_id"].str.split("|").str[0]
    gl = pd.read_csv(d / "GeneList.K562_chr22.hg38.txt", sep="\t")
    genes = pd.DataFrame({"chrom": gl["chr"], "tss_bp": gl["tss"].astype(np.int64), "gene_id": gl["Ensembl_ID"],
                          "gene_name": gl["symbol"], "start_bp": gl["start"], "end_bp": gl["end"]})
    pub = pd.read_csv(d / "encode_e2g_predictions_K562_chr22_threshold0.243.tsv.gz", sep="\t")
    return els, genes, pub


def k562_band(real: Path, width: int = 1_001):
    from claster.io.contacts import open_contacts, read_band

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_contacts(str(real / "k562_chr22" / "chr22.5kb.RAWobserved.gz"), bin_bp=5_000, chrom="chr22",
                           chrom_sizes={"chr22": 50_818_468}) as src:
            return read_band(src, "chr22", width)


def compare(real: Path, ks=(100, 500, 1000), *, activity: str = "dhs", band: np.ndarray | None = None) -> dict:
    """Spearman and top-k overlap of claster's ABC with the published ABC.Score over shared non-self pairs.

    ``activity``: ``"dhs"`` (DHS reads alone: ENCODE-rE2G's DNase-only ABC, which its predictions carry)
    or ``"geometric"`` (sqrt(DHS x H3K27ac), the ABC paper's definition).
    """
    from scipy.stats import spearmanr

    from claster.config.link import AbcConfig
    from claster.link import ContactBand, abc_scores, activity_from_columns

    els, genes, pub = load_inputs(real)
    if activity == "dhs":
        els["activity"] = activity_from_columns(els, "dhs", "dhs")  # sqrt(DHS * DHS) = DHS
    else:
        els["activity"] = activity_from_columns(els, "dhs", "h3k27ac")
    band = k562_band(real) if band is None else band
    out = abc_scores(els, genes, {"chr22": ContactBand(band, 5_000)}, config=AbcConfig())
    m = pub.merge(out, on=["name", "TargetGene"], suffixes=("_pub", ""))
    distal = m[~m["isSelfPromoter_pub"].astype(bool)]
    res = {"n_published": len(pub), "n_shared": len(m), "n_shared_not_self": len(distal),
           "gamma": out.attrs["summary"]["chroms"]["chr22"]["gamma"],
           "scale": out.attrs["summary"]["chroms"]["chr22"]["scale"],
           "spearman_abc": float(spearmanr(distal["ABC.Score_pub"], distal["ABC.Score"]).statistic),
           "spearman_contact": float(spearmanr(distal["contactFrequency"], distal["contact"]).statistic),
           "spearman_distance": float(spearmanr(distal["distanceToTSS"], distal["distance"]).statistic)}
    for k in ks:
        if k <= len(distal):
            a = set(distal.nlargest(k, "ABC.Score_pub").index)
            b = set(distal.nlargest(k, "ABC.Score").index)
            res[f"top{k}_overlap"] = len(a & b) / k
    return res


if __name__ == "__main__":
    real = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data/real")
    band = k562_band(real)
    for act in ("dhs", "geometric"):
        for k, v in compare(real, activity=act, band=band).items():
            print(f"{act}\t{k}\t{v}")
