"""``claster prepare``, ``claster store info`` and ``claster export-eir`` through the CLI."""

from __future__ import annotations

import re

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from claster.errors import ClasterWarning
from claster.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
import claster_store_kit as kit  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    return kit.make_inputs(tmp_path_factory.mktemp("cli_in"))


def _flags(inputs: dict) -> list[str]:
    args = []
    for role, path in inputs["tracks"].items():
        args += ["--track", f"{role}={path}"]
    return args + ["--target", inputs["target"][0], "--annotation", inputs["annotation"]]


def _one_line_error(code: int, err: str, pattern: str) -> None:
    import re

    assert code == 1, err
    assert err.startswith("error:") and "Traceback" not in err and err.strip().count("\n") == 0, err
    assert re.search(pattern, err), err


def test_prepare_info_export(cli, inputs, tmp_path):
    code, out, err = cli(["prepare", *_flags(inputs), "--test-chroms", "chr1", "--val-chroms", "chr4", "--quiet",
                          "--out", tmp_path / "s"])
    assert code == 0, err
    assert "4 of 5 genes usable" in out
    s = open_store(tmp_path / "s")
    assert s.manifest["splits"] == {"test": ["chr1"], "val": ["chr4"]}

    code, out, err = cli(["store", "info", tmp_path / "s"])
    assert code == 0, err
    assert "  test          3       2" in out and "unusable: 1 x landscape window off chromosome" in out

    code, out, err = cli(["export-eir", tmp_path / "s", tmp_path / "eir", "--split", "test", "--quiet"])
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "eir").iterdir())
    assert files == ["G1.1_forward.npy", "G1.1_rev.npy", "G2.1_forward.npy", "G2.1_rev.npy", "targets.csv"]
    fwd = np.load(tmp_path / "eir" / "G2.1_forward.npy")
    np.testing.assert_array_equal(fwd, s.tracks("chr1")[:, 7051 - 5000 : 7051 + 5001])
    np.testing.assert_array_equal(np.load(tmp_path / "eir" / "G2.1_rev.npy"), fwd[:, ::-1])
    t = pd.read_csv(tmp_path / "eir" / "targets.csv")
    assert list(t.columns[:3]) == ["ID", "-200_ctrl", "-199_ctrl"] and t.columns[-1] == "200_ctrl"
    assert list(t["ID"]) == ["G1.1_forward", "G1.1_rev", "G2.1_forward", "G2.1_rev"]
    row = t.set_index("ID").loc["G2.1_forward"].to_numpy()
    assert row[200] == pytest.approx(float(s.target("chr1")[705_122 // 20]))
    np.testing.assert_allclose(t.set_index("ID").loc["G2.1_rev"].to_numpy(), row[::-1])

    code, out, err = cli(["export-eir", tmp_path / "s", tmp_path / "eir2", "--genes", "G1.1,NOPE"])
    _one_line_error(code, err, r"1 gene id\(s\) not in store.*NOPE")


def test_config_yaml_with_flag_override(cli, inputs, tmp_path):
    cfg = {"tracks": inputs["tracks"], "target": inputs["target"], "annotation": inputs["annotation"],
           "test_chroms": ["chr17"], "val_chroms": ["chr1"], "dtype": "float16"}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(cfg))
    code, out, err = cli(["prepare", "--config", tmp_path / "p.yaml", "--track", f"ATAC={inputs['tracks']['ATAC']}",
                          "--track", "H3K4me3=none", "--dtype", "float32", "-q", "--out", tmp_path / "s"])
    assert code == 0, err
    s = open_store(tmp_path / "s")
    assert s.track_names == ["ATAC", "H3K4me3"] and s.manifest["tracks"][1]["missing"]  # flags replace YAML
    assert s.manifest["track_dtype"] == "float32" and s.manifest["splits"]["test"] == ["chr17"]


def test_bad_inputs_are_one_line_errors(cli, inputs, tmp_path):
    base = _flags(inputs)
    # missing file
    code, _, err = cli(["prepare", *base[:-2], "--annotation", tmp_path / "none.gtf", "--out", tmp_path / "a"])
    _one_line_error(code, err, r"annotation file .*none.gtf does not exist")
    code, _, err = cli(["prepare", *[a.replace("ATAC.bw", "ATACX.bw") for a in base], "--out", tmp_path / "a"])
    _one_line_error(code, err, r"--track ATAC file .*ATACX.bw does not exist")
    # chr1 vs 1 naming: auto works by default, 'none' names the option
    bare = tmp_path / "bare.gtf"
    bare.write_text(Path(inputs["annotation"]).read_text().replace("\nchr", "\n"))
    flags_bare = [*base[:-2], "--annotation", bare]
    code, _, err = cli(["prepare", *flags_bare, "-q", "--out", tmp_path / "auto"])
    assert code == 0, err
    code, _, err = cli(["prepare", *flags_bare, "--chrom-aliases", "none", "--out", tmp_path / "b"])
    _one_line_error(code, err, r"chromosome names differ.*'1'.*'chr1'.*--chrom-aliases auto")
    # a bigWig lacking a chromosome the annotation has
    small = kit.write_bigwig(tmp_path / "small.bw", {"chr1": 1_250_050, "chr4": 1_200_000}, seed=4)
    code, _, err = cli(["prepare", *[a.replace(inputs["tracks"]["H3K27ac"], str(small)) for a in base],
                        "--out", tmp_path / "c"])
    _one_line_error(code, err, r"lacks chromosome\(s\) chr17 that the annotation has.*--chroms")
    # a split chromosome that is not there (a typo) is refused, naming the available ones
    for flag in ("--test-chroms", "--val-chroms"):
        code, _, err = cli(["prepare", *base, flag, "chrZZ", "--out", tmp_path / "z"])
        _one_line_error(code, err, rf"{flag} chrZZ: not a chromosome .*; available: chr1, chr4, chr17$")
    # no gene of the requested type
    code, _, err = cli(["prepare", *base, "--gene-type", "snRNA", "--out", tmp_path / "d"])
    _one_line_error(code, err, r"no gene of type snRNA.*--gene-type")
    # contacts at an unavailable resolution
    mcool = tmp_path / "c.mcool"
    kit.write_cool(f"{mcool}::/resolutions/10000", kit.SIZES, 10_000, seed=1, weights=True, band_bins=5)
    code, _, err = cli(["prepare", *base, "--contacts", f"{mcool}::/resolutions/1600", "--out", tmp_path / "e"])
    _one_line_error(code, err, r"no resolution 1600 bp.*available resolutions: 10000 bp")
    # a corrupt bigWig
    bad = tmp_path / "bad.bw"
    bad.write_bytes(Path(inputs["tracks"]["ATAC"]).read_bytes()[:300])
    code, _, err = cli(["prepare", *[a.replace(inputs["tracks"]["ATAC"], str(bad)) for a in base],
                        "--out", tmp_path / "f"])
    _one_line_error(code, err, r"--track ATAC file .*bad.bw (could not be|is not|is truncated)")
    # an output directory holding a different store
    code, _, err = cli(["prepare", *base, "--test-chroms", "chr1", "--out", tmp_path / "auto"])
    _one_line_error(code, err, r"already holds a different store.*--force")


def test_contacts_resolution_normalization_and_store_info(cli, inputs, tmp_path):
    """A legacy .mcool (numbered zoom levels) chosen by --contacts-resolution; the manifest and
    `store info` say which level, resolution and normalisation were used; a missing one is one line."""
    mcool = tmp_path / "legacy.mcool"
    kit.write_cool(f"{mcool}::/0", kit.SIZES, 20_000, seed=1, weights=False, band_bins=5)
    kit.write_cool(f"{mcool}::/1", kit.SIZES, 10_000, seed=2, weights=True, band_bins=5, mode="a")
    base = [*_flags(inputs), "--contacts", mcool, "--no-cache-rotated", "-q"]
    code, _, err = cli(["prepare", *base, "--contacts-resolution", "10000", "--contacts-normalization", "KR",
                        "--out", tmp_path / "bad"])
    _one_line_error(code, err, r"no normalization 'KR' at 10000 bp; available there: weight")
    code, _, err = cli(["prepare", *base, "--contacts-resolution", "1600", "--out", tmp_path / "bad"])
    _one_line_error(code, err, r"no resolution 1600 bp; available resolutions: /1 = 10000 bp, /0 = 20000 bp")
    code, out, err = cli(["prepare", *base, "--contacts-resolution", "10000", "--out", tmp_path / "s"])
    assert code == 0, err
    assert re.search(r"^warning: .*legacy zoom level /1", err, flags=re.M), err
    meta = open_store(tmp_path / "s").manifest["contacts"]
    assert meta["zoom_level"] == "/1" and meta["resolution_bp"] == 10_000 and meta["format"] == "mcool"
    assert meta["normalization"] == "weight" and meta["normalization_requested"] == "auto"
    assert meta["file"] == str(mcool.resolve())
    code, out, err = cli(["store", "info", tmp_path / "s"])
    assert code == 0, err
    assert f"contacts   {mcool.resolve()} (mcool) at 10000 bp (zoom level /1), window 101 bins, " \
           "normalization: weight (requested auto)" in out
    assert "legacy zoom level /1 = 10000 bp bins" in out
