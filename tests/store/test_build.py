"""build_store / open_store on small synthetic inputs: values, index, resume, identity, options."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from claster.config.prepare import PrepareConfig
from claster.errors import ClasterWarning, InputError, StoreError
from claster.store import build_store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
import claster_store_kit as kit  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    return kit.make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def store_dir(inputs, tmp_path_factory) -> Path:
    return build_store(PrepareConfig(**inputs), tmp_path_factory.mktemp("s") / "store", progress=False)


def _bin_means(path: str, chrom: str, bin_bp: int, length: int) -> np.ndarray:
    with pyBigWig.open(path) as bw:
        v = bw.values(chrom, 0, length, numpy=True)
    n = -(-length // bin_bp)
    v = np.concatenate([v, np.full(n * bin_bp - length, np.nan)]).reshape(n, bin_bp)
    cov = np.isfinite(v).sum(1)
    return np.where(cov > 0, np.nansum(v, 1) / np.maximum(cov, 1), 0.0)


def test_manifest_and_layout(store_dir, inputs):
    s = open_store(store_dir)
    m = s.manifest
    assert m["format"] == "claster-store" and m["format_version"] == 1
    assert s.track_names == ["ATAC", "H3K4me3", "H3K27ac", "H3K27me3"]
    assert s.chroms == ["chr1", "chr4", "chr17"] and s.chrom_sizes == kit.SIZES
    assert m["complete_chroms"] == s.chroms and m["complete"]
    assert m["tracks"][0]["sources"][0]["sha256"] and not m["tracks"][0]["missing"]
    assert m["splits"] == {"test": ["chr4"], "val": ["chr17"]}
    assert m["contacts"] is None and m["target"]["raw_bin_bp"] == 20
    assert s.tracks("chr1").shape == (4, 12_501) and s.tracks("chr1").dtype == np.float32
    assert s.target("chr4").shape == (60_000,)
    assert m["fills"]["tracks_empty_bins"]["ATAC"]["chr1"] >= 0


def test_tracks_equal_independent_bin_means(store_dir, inputs):
    s = open_store(store_dir)
    for t, role in enumerate(s.track_names):
        ref = np.maximum(_bin_means(inputs["tracks"][role], "chr4", 100, kit.SIZES["chr4"]), 0)
        np.testing.assert_allclose(s.tracks("chr4")[t], ref, rtol=1e-5, atol=1e-6)


def test_target_equals_independent_processing(store_dir, inputs):
    """20 bp means -> explicit Gaussian kernel (sigma 50 bins, radius 200) -> explicit 50-bin box."""
    s = open_store(store_dir)
    raw = np.maximum(_bin_means(inputs["target"][0], "chr1", 20, kit.SIZES["chr1"]), 0)
    k = np.arange(-200, 201)
    g = np.exp(-0.5 * (k / 50.0) ** 2)
    g /= g.sum()
    tss = 600_000
    for kbin in (-200, -3, 0, 1, 150, 200):
        j = (tss + 1000 * kbin) // 20
        box = [np.dot(raw[i - 200 : i + 201], g) for i in range(j - 25, j + 25)]  # centred: [j-25, j+25)
        assert s.target("chr1")[j] == pytest.approx(np.mean(box), rel=1e-5, abs=1e-7)


def test_gene_index(store_dir):
    g = open_store(store_dir).genes.set_index("gene_id")
    assert list(g.index) == ["G1.1", "G2.1", "G3.1", "G4.1", "G6.1"]  # lncRNA and chrM dropped
    assert g.loc["G2.1", "tss_bp"] == 705_122 and g.loc["G2.1", "strand"] == "-"
    assert g.loc["G3.1", "usable"] == False  # noqa: E712
    assert g.loc["G3.1", "reason"] == "landscape window off chromosome"
    assert g["split"].to_dict() == {"G1.1": "train", "G2.1": "train", "G3.1": "train", "G4.1": "test", "G6.1": "val"}
    assert g.loc["G6.1", "usable"] and g.loc["G6.1", "reason"] == ""


def test_resume_skips_complete_chromosomes(inputs, tmp_path):
    cfg = PrepareConfig(**inputs)
    out = build_store(cfg, tmp_path / "s", progress=False)
    m = json.loads((out / "manifest.json").read_text())
    m["complete_chroms"] = ["chr1", "chr4"]
    m["complete"] = False
    (out / "manifest.json").write_text(json.dumps(m))
    (out / "tracks" / "chr17.npy").unlink()
    with pytest.raises(StoreError, match="incomplete.*rerun the same claster prepare"):
        open_store(out)
    before = (out / "tracks" / "chr1.npy").stat().st_mtime_ns
    build_store(cfg, out, progress=False)
    assert (out / "tracks" / "chr1.npy").stat().st_mtime_ns == before  # not rewritten
    s = open_store(out)
    assert s.tracks("chr17").shape == (4, 11_000)


def test_different_store_refused_unless_force(inputs, tmp_path):
    out = build_store(PrepareConfig(**inputs), tmp_path / "s", progress=False)
    other = PrepareConfig(**{**inputs, "test_chroms": ["chr1"]})
    with pytest.raises(StoreError, match="already holds a different store.*--force"):
        build_store(other, out, progress=False)
    build_store(other, out, force=True, progress=False)
    assert open_store(out).manifest["splits"]["test"] == ["chr1"]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(StoreError, match="not a claster store"):
        build_store(other, tmp_path / "junk", progress=False)


def test_options_missing_role_float16_clip_sum(inputs, tmp_path):
    cfg = PrepareConfig(
        **{**inputs, "tracks": {**inputs["tracks"], "ATAC": None}, "target": inputs["target"] * 2},
        dtype="float16", target_clip=5.0, missing_as_zero=True,
    )
    s = open_store(build_store(cfg, tmp_path / "s", progress=False))
    assert s.manifest["tracks"][0]["missing"] and s.tracks("chr1").dtype == np.float16
    assert not s.tracks("chr1")[0].any()
    with pyBigWig.open(inputs["tracks"]["H3K4me3"]) as bw:
        v = np.nan_to_num(bw.values("chr1", 0, 100_000, numpy=True))
    np.testing.assert_allclose(s.tracks("chr1")[1, :1000], v.reshape(-1, 100).mean(1), rtol=2e-3, atol=1e-3)
    assert s.target("chr1").max() <= 5.0 + 1e-6  # sum of two copies, clipped at 5 before smoothing


def test_store_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist; build it with claster prepare"):
        open_store(tmp_path / "none")
    (tmp_path / "x").mkdir()
    with pytest.raises(StoreError, match="not a claster store"):
        open_store(tmp_path / "x")


def test_naming_mismatch_auto_and_none(inputs, tmp_path):
    gtf = kit.write_gtf(tmp_path / "bare.gtf", prefix="")
    gtf.write_text(gtf.read_text().replace("\nchr", "\n"))
    s = open_store(build_store(PrepareConfig(**{**inputs, "annotation": str(gtf)}), tmp_path / "a", progress=False))
    assert s.chroms == ["chr1", "chr4", "chr17"]  # annotation '1' matched to track 'chr1'
    with pytest.raises(InputError, match=r"chromosome names differ.*--chrom-aliases auto"):
        build_store(PrepareConfig(**{**inputs, "annotation": str(gtf)}, chrom_aliases="none"), tmp_path / "b",
                    progress=False)


def test_bigwig_lacking_an_annotated_chromosome(inputs, tmp_path):
    small = kit.write_bigwig(tmp_path / "small.bw", {"chr1": 1_250_050, "chr4": 1_200_000}, seed=5)
    cfg = PrepareConfig(**{**inputs, "tracks": {**inputs["tracks"], "H3K27ac": str(small)}})
    with pytest.raises(InputError, match=r"small.bw \(--track H3K27ac\) lacks chromosome\(s\) chr17.*--chroms"):
        build_store(cfg, tmp_path / "s", progress=False)
    restricted = {**inputs, "tracks": {**inputs["tracks"], "H3K27ac": str(small)}, "chroms": ["chr1", "chr4"]}
    s = open_store(build_store(PrepareConfig(**restricted), tmp_path / "t", progress=False))
    assert s.chroms == ["chr1", "chr4"]
    assert s.manifest["counts"]["val"]["genes"] == 0  # the default validation chromosome chr17 is not in it
    # ... but a split the user names must exist: chr17 is outside --chroms
    with pytest.raises(InputError, match=r"--val-chroms chr17: not a chromosome .*\(and --chroms\); available: "
                                         r"chr1, chr4$"):
        build_store(PrepareConfig(**restricted, val_chroms=["chr17"]), tmp_path / "u", progress=False)


@pytest.mark.parametrize("key", ["test_chroms", "val_chroms"])
def test_named_split_chromosome_must_exist(inputs, tmp_path, key):
    """A typo in --test-chroms would put the intended test chromosome in training: refused."""
    flag = "--" + key.replace("_", "-")
    with pytest.raises(InputError, match=rf"^{flag} chrZZ: not a chromosome with genes in both the annotation and "
                                         r"the tracks; available: chr1, chr4, chr17$"):
        build_store(PrepareConfig(**inputs, **{key: ["chrZZ"]}), tmp_path / "s", progress=False)
    # chrM has a gene in the GTF but is excluded (exclude_chroms) and in no track: also refused
    with pytest.raises(InputError, match=rf"^{flag} chrM: .*available: chr1, chr4, chr17$"):
        build_store(PrepareConfig(**inputs, **{key: ["chrM"]}), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()  # refused before anything is written
    # a name in another naming style still maps (chrom_aliases auto): 4 -> chr4
    other = "val_chroms" if key == "test_chroms" else "test_chroms"
    s = open_store(build_store(PrepareConfig(**inputs, **{key: ["1"], other: ["chr4"]}), tmp_path / "ok",
                               progress=False))
    assert s.manifest["splits"]["test" if key == "test_chroms" else "val"] == ["chr1"]


def test_length_mismatch_is_warned_and_recorded(inputs, tmp_path):
    longer = kit.write_bigwig(tmp_path / "long.bw", {**kit.SIZES, "chr1": 1_300_000}, seed=6)
    cfg = PrepareConfig(**{**inputs, "tracks": {**inputs["tracks"], "H3K27me3": str(longer)}})
    with pytest.warns(ClasterWarning, match="declares chr1 as 1,300,000 bp but the store uses 1,250,050 bp"):
        s = open_store(build_store(cfg, tmp_path / "s", progress=False))
    assert s.chrom_sizes["chr1"] == 1_250_050 and len(s.manifest["notes"]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s.tracks("chr1").shape[1] == 12_501
