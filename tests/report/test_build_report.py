"""The HTML report: every section and figure present, embedded, and drawn from the right numbers."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakerun import BENCH_METRICS, EVAL_METRICS, GENE_COUNTS, LOCALITY, VARIANTS, tiny_png, write_metrics_csv

from claster.errors import InputError
from claster.report import build_report
from claster.report._curves import plot_training_curves, read_metrics_csv
from claster.report._html import fmt_value, png_info

SECTIONS = ("overview", "data", "training", "evaluation", "perturbation", "linking", "attribution")


class _Page(HTMLParser):
    """Collects section ids, img srcs, tables (rows of cell text) and the ids of "not run" sections."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.imgs: list[dict[str, str]] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.not_run: list[str] = []
        self._section: str | None = None
        self._in_status = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id")
            self.sections.append(self._section)
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and a.get("class") == "status":
            self._in_status = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "span":
            self._in_status = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_status and "not run" in data:
            self.not_run.append(self._section)

    def table_with(self, header_cell: str) -> list[list[str]]:
        for t in self.tables:
            if t and header_cell in t[0]:
                return t
        raise AssertionError(f"no table with header {header_cell!r}")


def parse(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    p = _Page()
    p.feed(text)
    return text, p


def test_full_run_has_every_section_and_embeds_every_figure(fake_run, tmp_path):
    root, facts = fake_run
    out = build_report(root, tmp_path / "out" / "report.html")
    assert out == tmp_path / "out" / "report.html"
    text, page = parse(out)
    assert page.sections == list(SECTIONS)
    assert page.not_run == []
    # every input PNG plus the training-curve figure, each embedded as a valid PNG data URI
    assert len(page.imgs) == len(facts["pngs"]) + 1
    embedded = []
    for img in page.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png_info(data) is not None
        embedded.append(data)
    for png in facts["pngs"]:
        assert png.read_bytes() in embedded, png
    # self-contained: no network, no script, no external stylesheet
    assert not re.search(r"https?://", text)
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert "claster" in text and "0.1.0" in text
    # no temporary file left beside the output
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_data_section_counts_genes_and_reasons(fake_run, tmp_path):
    root, _ = fake_run
    _, page = parse(build_report(root, tmp_path / "r.html"))
    genes = pd.read_csv(root / "store" / "genes.tsv", sep="\t", keep_default_na=False)
    splits = {row[0]: row for row in page.table_with("usable %")[1:]}
    for split in ("train", "val", "test"):
        g = genes[genes["split"] == split]
        n_ok = int(g["usable"].sum())
        assert splits[split][3:6] == [f"{len(g):,}", f"{n_ok:,}", f"{len(g) - n_ok:,}"]
        assert splits[split][6] == f"{100 * n_ok / len(g):.1f}"
    assert splits["all"][3] == str(sum(GENE_COUNTS.values()))
    assert splits["test"][1] == "chr4" and splits["val"][1] == "chr17" and splits["train"][1] == "chr1"
    reasons = {row[0]: row[1:] for row in page.table_with("reason a gene is unusable")[1:]}
    assert reasons["landscape window off chromosome"] == ["3", "0", "1", "4"]
    assert reasons["contact window off chromosome"] == ["0", "2", "0", "2"]
    inputs = {row[1]: row for row in page.table_with("size (MB)")[1:]}
    assert inputs["ATAC"][4] == "missing (zeros)"
    assert inputs["H3K4me3"][2:4] == ["k4me3.bw", "2.5"]
    assert inputs["contacts"][2] == "microc.mcool::/resolutions/1600"


def _qc_section(text: str) -> str:
    qc = text[text.index('id="qc"'):]
    return qc[: qc.index("</section>")]


def test_qc_warnings_name_each_problem(fake_run, tmp_path):
    root, _ = fake_run
    text, page = parse(build_report(root, tmp_path / "r.html"))
    qc = _qc_section(text)
    actions = qc[qc.index('<ul class="qc">'): qc.index("</ul>")]
    assert "Track ATAC was declared missing" in actions
    assert "(chr17)" in actions  # not marked complete
    assert "ICE weights" not in actions and "computed ICE weights itself" in qc  # a note, not an action
    assert actions.count("<li>") == 2  # missing ATAC (not again as 0 % coverage), incomplete build
    assert "QC verdict:</b> 2 issue(s) need action" in qc
    # fills: one table, a row per track with fills, a column per chromosome, the total last
    fills = page.table_with("track")
    assert fills[0] == ["track", "chr1", "chr4", "chr17", "total"]
    rows = {r[0]: r[1:] for r in fills[1:]}
    assert rows["H3K27ac"] == ["123", "124", "125", "372"]
    assert "H3K4me3" not in rows  # no fill, no row
    assert rows["ATAC"][0] == "30,000"  # 3 Mbp of 100 bp bins, all empty


def test_qc_section_does_not_grow_with_the_number_of_chromosomes(tmp_path):
    from fakerun import build_fake_run

    counts = []
    for n in (3, 24):
        root = tmp_path / f"run{n}"
        build_fake_run(root, n_chroms=n)
        text, page = parse(build_report(root, tmp_path / f"r{n}.html"))
        qc = _qc_section(text)
        counts.append(sum(qc.count(tag) for tag in ("<tr", "<li", "<p", "<h4", "<table")))
        assert len(page.table_with("track")[0]) <= 8 + 3  # chromosome columns are capped
    assert counts[0] == counts[1]


def test_the_first_section_answers_the_questions_first(fake_run, tmp_path):
    from fakerun import BASELINE_METRICS

    root, _ = fake_run
    text, page = parse(build_report(root, tmp_path / "r.html"))
    overview = text[text.index('<section id="overview"'): text.index("</section>")]
    # the metric table comes first, before the steps table and the collapsed summary dump
    assert overview.index('id="key-predict"') < overview.index('id="key-links"') < overview.index('id="key-inputs"')
    assert overview.index('id="key-inputs"') < overview.index('<details id="summary-dump">')
    first_table = page.tables[0]
    assert first_table[0][:5] == ["model", "bin-wise Pearson", "bin-wise Spearman", "gene Pearson", "gene Spearman"]
    rows = {r[0]: r[1:] for r in first_table[1:]}
    for v in VARIANTS:
        m = EVAL_METRICS[v]
        assert rows[f"claster {v}"][:4] == [f"{m[k]:.4f}" for k in ("binwise_pearson", "binwise_spearman",
                                                                    "gene_pearson", "gene_spearman")]
    for name, m in BASELINE_METRICS.items():
        assert rows[f"baseline: {name}"][0] == f"{m['binwise_pearson']:.4f}"
    assert rows["paper: landscape (mESC, chr4)"][:4] == ["0.8852", "0.7814", "0.8859", "0.9275"]
    links = {r[0]: r[1:] for r in page.tables[1][1:]}
    assert links["claster landscape"] == ["0.6123", "0.8345", "0.6667"]
    assert links["baseline: distance"][0] == "0.7001" and links["baseline: random"][0] == "0.1250"
    inputs = {r[1]: r for r in page.tables[2][1:]}
    assert inputs["ATAC"][4] == "missing: stored as zeros" and inputs["H3K4me3"][4] == "ok"
    # the summary.json dump is kept, collapsed
    dump = overview[overview.index('<details id="summary-dump">'):]
    assert "812.4" in dump and "<details open" not in overview


def test_training_text_comes_from_the_runs_config(fake_run, tmp_path):
    root, _ = fake_run
    text, _ = parse(build_report(root, tmp_path / "r.html"))
    training = text[text.index('<section id="training"'):]
    lead = training[: training.index("</p>")]
    assert "a 100-step linear warm-up" in lead and "batch 32" in lead and "learning rate 0.0005" in lead
    assert "2,000" not in lead and "6 minutes" in lead


def test_training_section_matches_the_curves(fake_run, tmp_path):
    root, facts = fake_run
    _, page = parse(build_report(root, tmp_path / "r.html"))
    rows = {r[0]: r for r in page.table_with("best val. Pearson r")[1:]}
    for v in VARIANTS:
        df = pd.read_csv(root / "runs" / v / "logs" / "metrics.csv")
        r = df["val/pearson_binwise"].dropna()
        assert rows[v][1] == str(int(df["step"].max()))
        assert rows[v][2] == f"{r.max():.4f}" == f"{facts['runs'][v]['best_r']:.4f}"
        assert rows[v][3] == str(int(df.loc[r.idxmax(), "step"])) == str(facts["runs"][v]["best_step"])
    summary = {r[0]: r[1:] for r in page.table_with("train_summary.json")[1:]}
    assert summary["global_step"] == ["60", "60"]
    assert "versions.torch" not in summary


def test_evaluation_benchmark_and_attribution_tables(fake_run, tmp_path):
    root, _ = fake_run
    _, page = parse(build_report(root, tmp_path / "r.html"))
    ev = {r[0]: r for r in next(t for t in page.tables if t and t[0][:2] == ["variant", "split"])[1:]}
    for v in VARIANTS:
        m = EVAL_METRICS[v]
        assert ev[v][3:7] == [f"{m['binwise_pearson']:.4f}", f"{m['paper_binwise_pearson']:.4f}",
                              f"{m['binwise_spearman']:.4f}", f"{m['paper_binwise_spearman']:.4f}"]
    assert ev["landscape"][8] == "0.8859" and ev["landscape"][10] == "0.9275"  # SPEC §5 gene-level
    assert ev["microc_rotated"][8] == "—"
    bench = {r[0]: r[1:] for r in page.table_with("precision at 70 % recall")[1:]}
    assert bench["claster (landscape)"] == [f"{BENCH_METRICS[k]:.4f}" for k in ("auprc", "auroc",
                                                                                "precision_at_70_recall")]
    assert bench["distance baseline"][0] == "0.7001"
    assert bench["random baseline"][0] == "0.1250"
    loc = {r[0]: r[1:] for r in page.table_with("50 % of mass within (kbp)")[1:] if r[0] in {t[0] for t in LOCALITY}}
    for track, *bp in LOCALITY:
        assert loc[track] == [f"{x / 1000:.1f}" for x in bp]


def test_missing_sections_are_listed_as_not_run(tmp_path):
    root = tmp_path / "partial"
    (root / "eval" / "landscape").mkdir(parents=True)
    (root / "eval" / "landscape" / "metrics.json").write_text(json.dumps(EVAL_METRICS["landscape"]))
    tiny_png(root / "eval" / "landscape" / "density.png")
    _, page = parse(build_report(root, tmp_path / "r.html"))
    assert page.sections == list(SECTIONS)
    assert page.not_run == ["data", "training", "perturbation", "linking", "attribution"]
    assert len(page.imgs) == 1


def test_single_training_run(tmp_path):
    run = tmp_path / "run"
    best = write_metrics_csv(run / "logs" / "metrics.csv", seed=3)
    (run / "train_summary.json").write_text(json.dumps({"variant": "landscape", "global_step": 60}))
    text, page = parse(build_report(run, tmp_path / "r.html"))
    assert page.sections == ["overview", "training"]
    assert len(page.imgs) == 1
    rows = page.table_with("best val. Pearson r")
    assert rows[1][0] == "landscape" and rows[1][2] == f"{best['best_r']:.4f}"
    assert "training run" in text


def test_broken_files_become_warnings_not_failures(fake_run, tmp_path):
    root, facts = fake_run
    (root / "eval" / "landscape" / "profiles.png").write_bytes(b"not a png")
    (root / "perturb" / "landscape" / "summary.json").write_text("{broken")
    text, page = parse(build_report(root, tmp_path / "r.html"))
    assert len(page.imgs) == len(facts["pngs"])  # one PNG left out, the curves added
    assert "profiles.png is not a valid PNG file" in text
    assert "summary.json could not be read" in text


def test_errors_name_what_was_expected(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_report(tmp_path / "nope", tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"holds no claster results; expected any of summary\.json.*runs/<variant>"):
        build_report(tmp_path / "empty", tmp_path / "r.html")
    (tmp_path / "adir").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        build_report(tmp_path / "empty", tmp_path / "adir")
    bad = tmp_path / "badrun"
    (bad / "logs").mkdir(parents=True)
    (bad / "logs" / "metrics.csv").write_text("epoch,loss\n0,1.0\n")
    _text, _ = parse(build_report(bad, tmp_path / "r.html"))
    assert "has no &#x27;step&#x27; column" in _text


def test_title_option(fake_run, tmp_path):
    root, _ = fake_run
    text, _ = parse(build_report(root, tmp_path / "r.html", title="My <run>"))
    assert "<title>My &lt;run&gt;</title>" in text


def test_cli_report(cli, fake_run, tmp_path):
    root, _ = fake_run
    out = tmp_path / "cli.html"
    code, stdout, err = cli(["report", root, "--out", out])
    assert code == 0, err
    assert out.is_file() and f"wrote {out}" in stdout
    code, _, err = cli(["report", root, "--out", out])
    assert code == 1 and "already exists; pass --force" in err and err.count("\n") == 1
    code, _, err = cli(["report", root, "--out", out, "--force", "--title", "Demo X"])
    assert code == 0 and "<title>Demo X</title>" in out.read_text()
    code, _, _ = cli(["report", root])  # default output inside the run directory
    assert code == 0 and (root / "report.html").is_file()
    code, _, err = cli(["report", tmp_path / "missing"])
    assert code == 1 and err.startswith("error: run directory") and "does not exist" in err


def test_training_curve_figure(tmp_path):
    curves = {}
    for i, v in enumerate(VARIANTS):
        write_metrics_csv(tmp_path / v / "metrics.csv", seed=i)
        curves[v] = read_metrics_csv(tmp_path / v / "metrics.csv")
    fig = plot_training_curves(curves)
    ax_loss, ax_r = fig.axes
    labels = [line.get_label() for line in ax_r.lines if not line.get_label().startswith("_")]
    assert labels == list(VARIANTS)
    # the validation-Pearson line holds exactly the logged values, in step order
    df = pd.read_csv(tmp_path / "landscape" / "metrics.csv").dropna(subset=["val/pearson_binwise"])
    np.testing.assert_allclose(ax_r.lines[0].get_ydata(), df["val/pearson_binwise"].to_numpy())
    np.testing.assert_allclose(ax_r.lines[0].get_xdata(), df["step"].to_numpy())
    loss_labels = [line.get_label() for line in ax_loss.lines if not line.get_label().startswith("_")]
    assert loss_labels == ["landscape train", "landscape validation", "microc_rotated train",
                           "microc_rotated validation"]


def test_read_metrics_csv_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("")
    with pytest.raises(InputError, match="is not a readable CSV"):
        read_metrics_csv(p)
    p.write_text("epoch,val/loss\n0,1\n")
    with pytest.raises(InputError, match="has no 'step' column"):
        read_metrics_csv(p)


@pytest.mark.parametrize(("value", "text"), [
    (1234567, "1,234,567"), (0.88519, "0.8852"), (1234.5, "1,234.5"), (None, "—"), (float("nan"), "—"),
    (True, "yes"), ([1, 2.5], "1, 2.5"), (0.00001234, "1.23e-05"), (np.float32(0.5), "0.5000"),
])
def test_fmt_value(value, text):
    assert fmt_value(value) == text


def test_png_info_reads_size_and_dpi(tmp_path):
    p = tiny_png(tmp_path / "a.png", dpi=72)
    w, h, dpi = png_info(p.read_bytes())
    assert (w, h) == (216, 158)  # 3 x 2.2 in at 72 dpi
    assert dpi == pytest.approx(72, abs=0.1)
    assert png_info(b"GIF89a....") is None


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("the `chromium` binary is absent (Debian: apt-get install chromium); cannot render the report")
    return path


CHECK_IMAGES = """<script>
window.addEventListener('load', function () {
  var imgs = document.images;
  for (var i = 0; i < imgs.length; i++) {
    imgs[i].setAttribute('data-loaded', imgs[i].complete && imgs[i].naturalWidth > 0 ? 'yes' : 'no');
  }
  document.body.setAttribute('data-images-checked', String(imgs.length));
});
</script>"""


def _run_chromium(args: list[str], tmp_path: Path) -> str:
    import subprocess

    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    proc = subprocess.run(base + args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_renders_in_headless_chromium(fake_run, tmp_path):
    from PIL import Image

    root, facts = fake_run
    out = build_report(root, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    _run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars",
                   out.resolve().as_uri()], tmp_path)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (2000, 1280, 3)
    assert pixels.std() > 5  # a blank page has std 0 (this report: about 22)
    packed = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    assert len(np.unique(packed)) > 200  # text, tables and figures in many colours

    # every image decoded: a copy with a small script marks each <img>, then the DOM is dumped
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text(encoding="utf-8").replace("</body>", CHECK_IMAGES + "</body>"),
                     encoding="utf-8")
    dom = _run_chromium(["--dump-dom", "--virtual-time-budget=10000", probe.resolve().as_uri()], tmp_path)
    n = len(facts["pngs"]) + 1
    assert f'data-images-checked="{n}"' in dom
    assert dom.count('data-loaded="yes"') == n
    assert 'data-loaded="no"' not in dom
