"""bench/scale.py on one mouse chromosome, and prepare's memory bounded by one chromosome (both slow).

Independent references: the usable-gene count recomputed here from the annotation and the window
geometry (SPEC §2: landscape TSS +-500,050 bp in 100 bp bins; 626 contact bins of 1.6 kbp), the
store's size from ``os.walk``, the number of predicted rows from the output table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))


def _usable_by_hand(genes: pd.DataFrame, length: int) -> int:
    tss = np.where(genes["strand"] == "+", genes["start"], genes["end"] - 1).astype(np.int64)
    land = (tss // 100 - 5000 >= 0) & (tss // 100 + 5001 <= -(-length // 100))
    target = ((tss - 200_000) // 20 >= 0) & ((tss + 200_000) // 20 < -(-length // 20))
    n1600 = -(-length // 1600)
    contact = (tss // 1600 - 312 >= 0) & (tss // 1600 - 312 + 626 <= n1600)
    return int((land & target & contact).sum())


@pytest.mark.slow
def test_scale_one_chromosome(real_dir, tmp_path, capsys):
    import scale

    ann = real_dir / "annotation"
    sizes = pd.read_csv(ann / "mm10.chrom.sizes", sep="\t", header=None, index_col=0)[1]
    genes = pd.read_csv(ann / "gencode.vM25.protein_coding.genes.mm10.bed", sep="\t")
    genes = genes[genes.iloc[:, 0] == "chr19"]
    res = scale.main(["--out", str(tmp_path), "--chroms", "chr19", "--max-genes", "150", "--train-steps", "1",
                      "--rounds", "1", "--scan-enhancers", "4"])
    out = capsys.readouterr().out
    assert out.startswith("CPU: ") and "\nCPU flags: " in out
    assert res["genome_bp"] == int(sizes["chr19"]) == 61_431_566
    assert res["genes"] == 150 and len(genes) > 150
    chosen = pd.read_csv(tmp_path / "inputs" / "genes.bed", sep="\t")
    assert res["usable_genes"] == _usable_by_hand(chosen, int(sizes["chr19"]))

    p = res["prepare"]
    assert p["peak_rss_gb"] <= p["bound_gb"], p  # memory bounded by one chromosome
    # the bound's chromosome term, by hand: 4 tracks x 100 bp + target x 20 bp (float32) + band 626 x 1.6 kbp
    L = int(sizes["chr19"])
    by_hand = (4 * -(-L // 100) * 4 + -(-L // 20) * 4 + -(-L // 1600) * 626 * 4) / 1024**3
    assert p["largest_arrays_gb"] == pytest.approx(by_hand, rel=1e-9)
    assert set(p["phases"]) >= {"chr19", "rotated cache + index"}

    walked = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp_path / "store") for f in fs)
    assert res["store_size_gb"] == pytest.approx(walked / 1024**3)
    rotated = np.load(tmp_path / "store" / "contacts" / "rotated.npy", mmap_mode="r")
    assert rotated.shape == (res["usable_genes"], 129, 626)

    profiles = pd.read_csv(tmp_path / "predict" / "profiles.tsv", sep="\t", usecols=["gene_id"])
    assert len(profiles) == res["predict"]["windows"] == 150
    assert res["perturb"]["windows"] > 0
    for r in res["train"]:
        assert r["store_wps"] > 0 and r["memory_wps"] > 0
    assert json.loads((tmp_path / "results.json").read_text())["usable_genes"] == res["usable_genes"]


@pytest.mark.slow
def test_rotated_cache_does_not_stay_resident(tmp_path):
    """Writing a rotated cache far larger than the chromosome's arrays adds little resident memory.

    1,200 genes on a 3 Mbp chromosome: the cache is 1,200 x 129 x 626 x 4 B = 388 MB while the
    chromosome's arrays are ~6 MB. Before the fix the cache was a writable memmap whose written pages
    stayed in the process's RSS (peak >= R0 + 388 MB).
    """
    import scale

    from claster.config.prepare import PrepareConfig

    rng = np.random.default_rng(0)
    sizes = {"chrS": 3_000_000}
    tss = np.sort(rng.choice(np.arange(520_000, 2_480_000, 100), 1_200, replace=False))
    genes = pd.DataFrame({"chrom": "chrS", "start": tss, "end": tss + 5_000, "name": [f"g{i}" for i in range(len(tss))],
                          "score": 0, "strand": "+", "Ensembl_ID": [f"G{i}" for i in range(len(tss))],
                          "gene_type": "protein_coding", "tss": tss})
    inp = tmp_path / "in"
    inp.mkdir()
    paths = scale.write_tracks(inp, sizes, scale.make_layout(sizes, genes, 0))
    ann = inp / "genes.bed"
    genes.drop(columns="tss").rename(columns={"chrom": "#chr"}).to_csv(ann, sep="\t", index=False)
    uri = scale.write_contacts(inp / "c.mcool", sizes, list(sizes), 0)
    cfg = PrepareConfig(tracks={n: paths[n] for n in scale.TRACKS}, target=[paths["target"]], annotation=str(ann),
                        contacts=uri, test_chroms=[], val_chroms=[])
    (tmp_path / "p.yaml").write_text(json.dumps(cfg.model_dump(mode="json")))
    r0 = scale.run_child([sys.executable, "-c", scale.R0_CODE], tmp_path / "r0.log")
    run = scale.run_child([sys.executable, "-m", "claster", "prepare", "--config", str(tmp_path / "p.yaml"),
                           "--out", str(tmp_path / "store"), "-q"], tmp_path / "prepare.log")
    cache = tmp_path / "store" / "contacts" / "rotated.npy"
    cache_gb = cache.stat().st_size / 1024**3
    assert np.load(cache, mmap_mode="r").shape == (1_200, 129, 626)
    assert cache_gb > 0.35
    assert run["peak_rss_gb"] - r0["peak_rss_gb"] < cache_gb / 2, (run["peak_rss_gb"], r0["peak_rss_gb"], cache_gb)
