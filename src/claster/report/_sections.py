"""Find the results in a run directory and turn each kind into a report section.

A run directory is laid out like ``claster demo``'s output::

    DIR/summary.json                      headline metrics of every step
    DIR/genome/simulation.json            simulator parameters (simulated data only)
    DIR/store/manifest.json, genes.tsv    the prepared store
    DIR/runs/<variant>/logs/metrics.csv   training curves; train_summary.json
    DIR/eval/<variant>/metrics.json       SPEC §5 metrics; density.png, profiles.png; eval/comparison.png
    DIR/perturb/<variant>/*.png           perturbation figures; summary.json
    DIR/benchmark/<variant>/metrics.json  enhancer-gene linking scores; pr_curve.png, roc_curve.png
    DIR/attribution/<variant>/locality.tsv and *.png

or is a single training run (``logs/metrics.csv``, ``train_summary.json``). Every section is
optional: a missing one is shown as "not run".
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from claster.errors import InputError
from claster.report._key import _num, key_results, qc_html, qc_verdict, training_text
from claster.report._html import Section, esc, figure_from_bytes, figure_html, flatten, fmt_value, kv_table, note, table

__all__ = ["RunLayout", "discover", "build_sections", "PAPER_GENE_LEVEL", "PAPER_LINKING"]

# SPEC §5: the gene-level numbers the paper reports for CLASTER (landscape model, chr4 test).
PAPER_GENE_LEVEL = {"landscape": (0.8859, 0.9275)}
# SPEC §7: AUPRC on the paper's lifted K562 CRISPRi subset.
PAPER_LINKING = {"RNA model": 0.241, "POLR2A model": 0.258, "distance": 0.485, "random": 0.164}
# SPEC §5, every bin-wise number the paper reports: (model, test set, Pearson, Spearman).
PAPER_BINWISE_ALL = (
    ("landscape-only conv", "chr4", 0.8852, 0.7814),
    ("+ attention", "chr4", 0.8808, 0.7815),
    ("+ rotated Micro-C", "chr4", 0.8690, 0.7717),
    ("+ square Micro-C", "chr4", 0.8025, 0.7066),
    ("+ promoter-capture Hi-C", "chr4", 0.8736, 0.7718),
    ("landscape-only conv", "chr19", 0.8880, 0.7677),
    ("Enformer embeddings + head", "shorter windows", 0.8739, 0.8067),
    ("HyenaDNA-32k fine-tuned", "shorter windows", 0.7403, 0.7514),
)
MAX_SUMMARY_ROWS = 400

EXPECTED = (
    "summary.json, genome/simulation.json, store/manifest.json, runs/<variant>/logs/metrics.csv, "
    "eval/<variant>/metrics.json, perturb/<variant>/, benchmark/<variant>/metrics.json, "
    "attribution/<variant>/ (the layout `claster demo` writes), or a training run with "
    "logs/metrics.csv or train_summary.json"
)


# ---------------------------------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------------------------------


@dataclass
class RunLayout:
    """Paths of the results found under ``root``; dicts map a variant name to its folder."""

    root: Path
    summary: Path | None = None
    simulation: Path | None = None
    store: Path | None = None
    runs: dict[str, Path] = field(default_factory=dict)
    evals: dict[str, Path] = field(default_factory=dict)
    eval_comparison: Path | None = None
    perturb: dict[str, Path] = field(default_factory=dict)
    benchmark: dict[str, Path] = field(default_factory=dict)
    attribution: dict[str, Path] = field(default_factory=dict)
    baselines: dict[str, Path] = field(default_factory=dict)
    qc: Path | None = None  # the folder of `claster qc` (qc.json and figures)
    single_run: bool = False

    def is_empty(self) -> bool:
        """True when nothing recognisable was found."""
        return not any((self.summary, self.simulation, self.store, self.runs, self.evals, self.eval_comparison,
                        self.perturb, self.benchmark, self.attribution, self.baselines, self.qc))


def _file(path: Path) -> Path | None:
    return path if path.is_file() else None


def _variants(folder: Path, *, needs: tuple[str, ...] = (), any_png: bool = False) -> dict[str, Path]:
    """Sub-folders of ``folder`` holding one of the ``needs`` files (or any PNG), sorted by name."""
    if not folder.is_dir():
        return {}
    out = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if any((sub / n).is_file() for n in needs) or (any_png and any(sub.glob("*.png"))):
            out[sub.name] = sub
    return out


def _is_training_run(path: Path) -> bool:
    return (path / "logs" / "metrics.csv").is_file() or (path / "train_summary.json").is_file()


def discover(run_dir: str | Path) -> RunLayout:
    """Find the results under ``run_dir``.

    Raises :class:`InputError` when ``run_dir`` is not a directory or holds nothing recognisable.
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise InputError(f"run directory {root} does not exist; pass the folder written by `claster demo` "
                         "or `claster train`")
    layout = RunLayout(root=root)
    if _is_training_run(root):
        layout.single_run = True
        layout.runs = {_run_name(root): root}
        return layout
    layout.summary = _file(root / "summary.json")
    layout.simulation = _file(root / "genome" / "simulation.json")
    layout.store = root / "store" if (root / "store" / "manifest.json").is_file() else None
    if (root / "runs").is_dir():
        layout.runs = {p.name: p for p in sorted((root / "runs").iterdir()) if p.is_dir() and _is_training_run(p)}
    layout.evals = _variants(root / "eval", needs=("metrics.json",), any_png=True)
    layout.eval_comparison = _file(root / "eval" / "comparison.png")
    layout.perturb = _variants(root / "perturb", needs=("summary.json",), any_png=True)
    layout.benchmark = _variants(root / "benchmark", needs=("metrics.json",), any_png=True)
    layout.attribution = _variants(root / "attribution", needs=("locality.tsv",), any_png=True)
    layout.baselines = _variants(root / "baselines", needs=("metrics.json",))
    layout.qc = root / "qc" if (root / "qc" / "qc.json").is_file() else None
    if layout.is_empty():
        raise InputError(f"{root} holds no claster results; expected any of {EXPECTED}")
    return layout


def _run_name(run: Path) -> str:
    """The variant of a single training run (from train_summary.json), else the folder name."""
    data, _ = _read_json(run / "train_summary.json")
    if isinstance(data, Mapping) and isinstance(data.get("variant"), str):
        return data["variant"]
    return run.resolve().name


# ---------------------------------------------------------------------------------------------------
# readers that never fail the report: a broken file becomes a warning note
# ---------------------------------------------------------------------------------------------------


def _read_json(path: Path) -> tuple[Any, str]:
    """``(data, "")`` or ``(None, warning html)`` when the file is absent or unreadable."""
    if not path.is_file():
        return None, ""
    try:
        return json.loads(path.read_text()), ""
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        return None, note(f"{path.name} could not be read ({e}); it was left out.", kind="warn")


def _read_tsv(path: Path) -> tuple[pd.DataFrame | None, str]:
    if not path.is_file():
        return None, ""
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NaN", "nan", "NA"]), ""
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        return None, note(f"{path.name} could not be read ({e}); it was left out.", kind="warn")


def _rel(layout: RunLayout, path: Path) -> str:
    try:
        return str(path.relative_to(layout.root))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------------


def _overview(layout: RunLayout, verdict: dict | None = None) -> Section:
    steps = [
        ("summary", layout.summary, "summary.json"),
        ("simulated genome", layout.simulation, "genome/simulation.json"),
        ("store (data)", layout.store, "store/"),
        ("training", layout.runs, "runs/<variant>/"),
        ("evaluation", layout.evals, "eval/<variant>/"),
        ("perturbation", layout.perturb, "perturb/<variant>/"),
        ("enhancer–gene linking", layout.benchmark, "benchmark/<variant>/"),
        ("attribution", layout.attribution, "attribution/<variant>/"),
    ]
    if layout.single_run:
        steps = [("training", layout.runs, "logs/metrics.csv, train_summary.json")]
    rows = []
    for name, found, where in steps:
        if isinstance(found, dict):
            status = (f"{len(found)} variant(s): {', '.join(found)}", "good") if found else ("not run", "bad")
        else:
            status = ("found", "good") if found else ("not run", "bad")
        rows.append((name, status, where))
    parts = [
        '<p class="lead">Which steps of the pipeline left results in this directory. Each step has a '
        "section below; a step without results is marked <i>not run</i>.</p>",
        table(("step", "status", "looked for"), rows, cls="steps"),
    ]
    key = key_results(layout, verdict) if verdict is not None else ""
    children = []
    if key:
        parts.insert(0, key)
        children += [(a, t) for a, t in (("key-predict", "How well does each model predict?"),
                                         ("key-links", "How well do its links recover the truth?"),
                                         ("key-inputs", "Inputs and QC verdict")) if f'id="{a}"' in key]
    if layout.summary is not None:
        data, warn = _read_json(layout.summary)
        parts.append('<details id="summary-dump"><summary>Every number in <code>summary.json</code> '
                     "(nested keys joined with dots)</summary>")
        parts.append(warn or _summary_table(data))
        parts.append("</details>")
    return Section("overview", "Overview", "".join(parts), children=children)


def _summary_table(data: Any) -> str:
    if not isinstance(data, Mapping):
        return kv_table([("value", data)])
    rows: list[tuple[str, Any]] = []
    groups: list[int] = []
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, Mapping)]
    rows.extend(scalars)
    for key, value in data.items():
        if isinstance(value, Mapping):
            groups.append(len(rows))
            rows.append((str(key), None))
            rows.extend(flatten(value) or [("(empty)", None)])
    truncated = len(rows) > MAX_SUMMARY_ROWS
    rows = rows[:MAX_SUMMARY_ROWS]
    html = table(("metric", "value"), rows, cls="kv", trim=True, group_rows=[g for g in groups if g < len(rows)])
    if truncated:
        html += note(f"Only the first {MAX_SUMMARY_ROWS} entries are shown; see summary.json for the rest.")
    return html


def _data(layout: RunLayout, verdict: dict | None = None) -> Section:
    parts: list[str] = []
    children: list[tuple[str, str]] = []
    if layout.simulation is not None:
        data, warn = _read_json(layout.simulation)
        children.append(("simulation", "Simulated genome"))
        parts.append('<h3 id="simulation">Simulated genome</h3>')
        parts.append('<p class="lead">The data come from claster\'s simulator, which plants enhancers, genes and '
                     "contacts with a known truth; these are its parameters "
                     "(<code>genome/simulation.json</code>).</p>")
        parts.append(warn or _details_kv(data, open_=True))
    if layout.store is not None:
        qc_data = _read_json(layout.qc / "qc.json")[0] if layout.qc is not None else None
        parts.append(_store_html(layout.store, children, verdict, qc_data, layout.qc))
    if not parts:
        return Section("data", "Data", ran=False,
                       missing_hint="No store/manifest.json or genome/simulation.json was found: the data "
                       "preparation step (`claster prepare`) did not run in this directory.")
    return Section("data", "Data", "".join(parts), children=children)


def _details_kv(data: Any, *, open_: bool = False, summary: str = "all parameters") -> str:
    pairs = flatten(data) if isinstance(data, Mapping) else [("value", data)]
    if len(pairs) <= 25 and open_:
        return kv_table(pairs, header=("parameter", "value"))
    return f"<details><summary>{esc(summary)} ({len(pairs)})</summary>{kv_table(pairs, header=('parameter', 'value'))}</details>"


def _source_names(sources: Any) -> tuple[str, float | None]:
    """File names and total size in MB of a manifest ``sources`` list."""
    if sources is None:
        return "—", None
    if isinstance(sources, (str, Mapping)):
        sources = [sources]
    names, size = [], 0.0
    have_size = False
    for s in sources:
        if isinstance(s, Mapping):
            names.append(_file_name(s.get("path", "?")))
            b = _num(s.get("size_bytes"))
            if b is not None:
                size += b / 1e6
                have_size = True
        else:
            names.append(_file_name(s))
    return ", ".join(names) or "—", (size if have_size else None)


def _file_name(path: Any) -> str:
    """The file name of a path or a cooler URI (``dir/f.mcool::/resolutions/1600`` -> ``f.mcool::/resolutions/1600``)."""
    text = str(path)
    file, sep, group = text.partition("::")
    return Path(file).name + sep + group


def _usable_mask(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def _store_html(store: Path, children: list[tuple[str, str]], verdict: dict | None = None,
                qc_data: Any = None, qc_dir: Path | None = None) -> str:
    manifest, warn = _read_json(store / "manifest.json")
    parts = ['<h3 id="inputs">Inputs</h3>']
    children.append(("inputs", "Inputs"))
    if warn or not isinstance(manifest, Mapping):
        return "".join(parts) + (warn or note("store/manifest.json is not a JSON object; left out.", kind="warn"))
    parts.append('<p class="lead">The files the store was built from (<code>claster prepare</code>), in model '
                 "row order. Input tracks are averaged into 100 bp bins genome-wide; the target is the 20 bp "
                 "nascent-transcription signal, smoothed and averaged to 1 kbp (SPEC §2).</p>")
    qc: list[str] = []
    rows = []
    for t in manifest.get("tracks") or []:
        if not isinstance(t, Mapping):
            continue
        names, size = _source_names(t.get("sources"))
        missing = bool(t.get("missing"))
        if missing:
            qc.append(f"Track {t.get('name')} was declared missing: it is stored as zeros, so the model sees a "
                      "constant row for it.")
        rows.append(("input track", t.get("name", "?"), names, size,
                     ("missing (zeros)", "bad") if missing else ("ok", "good")))
    target = manifest.get("target")
    if isinstance(target, Mapping):
        names, size = _source_names(target.get("sources"))
        clip = target.get("clip")
        rows.append(("target", target.get("name", "target"), names, size,
                     f"clipped at {fmt_value(clip)}" if clip is not None else "ok"))
    for key, label in (("contacts", "contacts"), ("pchic", "promoter-capture Hi-C")):
        c = manifest.get(key)
        if isinstance(c, Mapping):
            names, size = _source_names(c.get("source") if "source" in c else c.get("sources"))
            res = c.get("resolution_bp")
            status = f"{fmt_value(res)} bp bins" if res is not None else "ok"
            rows.append((label, key, names, size, status))
            if str(c.get("balancing", "")).lower().startswith("ice computed"):
                qc.append(f"The {label} file had no balancing weights; claster computed ICE weights itself "
                          "(check that the input was meant to be raw counts).")
    parts.append(table(("kind", "name", "files", "size (MB)", "status"), rows, digits=1))

    details = [("format", manifest.get("format")), ("format version", manifest.get("format_version")),
               ("claster version", manifest.get("claster_version")), ("created", manifest.get("created")),
               ("track bin (bp)", manifest.get("track_bin_bp")), ("track dtype", manifest.get("track_dtype"))]
    if isinstance(target, Mapping):
        details += [("target " + k, v) for k, v in target.items() if k not in ("sources", "name")]
    for key in ("contacts", "pchic"):
        c = manifest.get(key)
        if isinstance(c, Mapping):
            details += [(f"{key} {k}", v) for k, v in c.items() if k not in ("source", "sources")]
    parts.append("<details><summary>store details</summary>" + kv_table(
        [(k, v) for k, v in details if v is not None], header=("field", "value")) + "</details>")

    # chromosomes and splits
    chroms = [str(c) for c in manifest.get("chroms") or []]
    sizes = manifest.get("chrom_sizes") if isinstance(manifest.get("chrom_sizes"), Mapping) else {}
    splits = manifest.get("splits") if isinstance(manifest.get("splits"), Mapping) else {}
    test = [str(c) for c in splits.get("test") or []]
    val = [str(c) for c in splits.get("val") or []]
    complete = manifest.get("complete_chroms")
    if isinstance(complete, list) and chroms:
        incomplete = [c for c in chroms if c not in set(map(str, complete))]
        if incomplete:
            qc.append(f"{len(incomplete)} chromosome(s) are not marked complete in the store "
                      f"({', '.join(incomplete[:8])}{'…' if len(incomplete) > 8 else ''}); the build was "
                      "interrupted: re-run `claster prepare` to resume it.")

    genes, gwarn = _read_tsv(store / "genes.tsv")
    parts.append('<h3 id="genes">Chromosomes, splits and genes</h3>')
    children.append(("genes", "Chromosomes, splits and genes"))
    parts.append('<p class="lead">Genes are split by chromosome (paper: test chr4, validation chr17, train the '
                 "rest). A gene is <i>usable</i> when its whole input window lies on the chromosome (and, with "
                 "contacts, its contact window is complete); the others are left out of training and "
                 "evaluation for the reason given.</p>")
    split_rows = []
    reason_html = ""
    if genes is not None and {"split", "usable"} <= set(genes.columns):
        genes = genes.copy()
        genes["usable"] = _usable_mask(genes["usable"])
        for split in ("train", "val", "test"):
            g = genes[genes["split"].astype(str) == split]
            split_chroms = (test if split == "test" else val if split == "val"
                            else [c for c in chroms if c not in set(test) | set(val)])
            if not split_chroms and "chrom" in g.columns:
                split_chroms = sorted(set(g["chrom"].astype(str)))
            length = sum(_num(sizes.get(c)) or 0 for c in split_chroms)
            n, n_ok = len(g), int(g["usable"].sum())
            split_rows.append((split, _chrom_list(split_chroms), length / 1e6 if length else None, n, n_ok,
                               n - n_ok, (n_ok / n * 100) if n else None))
            if n_ok == 0:
                qc.append(f"The {split} split has no usable genes; choose other --test-chroms/--val-chroms "
                          "when preparing.")
        n_all, n_ok_all = len(genes), int(genes["usable"].sum())
        split_rows.append(("all", f"{len(chroms)} chromosomes" if chroms else "—",
                           sum(_num(v) or 0 for v in sizes.values()) / 1e6 if sizes else None,
                           n_all, n_ok_all, n_all - n_ok_all, (n_ok_all / n_all * 100) if n_all else None))
        if n_all and (n_all - n_ok_all) / n_all > 0.10:
            qc.append(f"{n_all - n_ok_all:,} of {n_all:,} genes ({(n_all - n_ok_all) / n_all:.0%}) are unusable; "
                      "see the reasons below.")
        bad = genes[~genes["usable"]]
        if len(bad) and "reason" in bad.columns:
            counts = (bad.assign(reason=bad["reason"].astype(str).replace("", "(no reason given)"))
                      .groupby(["reason", "split"]).size().unstack(fill_value=0))
            reason_rows = []
            for reason, row in counts.iterrows():
                reason_rows.append((reason, *[int(row.get(s, 0)) for s in ("train", "val", "test")],
                                    int(row.sum())))
            reason_rows.sort(key=lambda r: -r[-1])
            reason_html = table(("reason a gene is unusable", "train", "val", "test", "total"), reason_rows)
    elif chroms:
        for split, cs in (("test", test), ("val", val),
                          ("train", [c for c in chroms if c not in set(test) | set(val)])):
            split_rows.append((split, _chrom_list(cs), None, None, None, None, None))
    if split_rows:
        parts.append(table(("split", "chromosomes", "length (Mb)", "genes", "usable", "unusable", "usable %"),
                           split_rows, digits=1))
    parts.append(gwarn)
    if genes is None and not gwarn:
        parts.append(note("store/genes.tsv is absent, so gene counts are not shown.", kind="warn"))
    parts.append(reason_html)

    parts.append('<h3 id="qc">Quality control</h3>')
    children.append(("qc", "Quality control"))
    parts.append('<p class="lead">One verdict, the problems that need action, then the notes aggregated per '
                 "kind: one table per kind with a row per track and a column per chromosome.</p>")
    parts.append(qc_html(manifest, verdict or {"line": "", "actions": qc, "info": []}, qc_data, qc_dir))
    cfg = manifest.get("config")
    if isinstance(cfg, Mapping):
        parts.append(_details_kv(cfg, summary="prepare configuration"))
    return "".join(parts)


def _chrom_list(chroms: list[str]) -> str:
    if len(chroms) > 12:
        return f"{len(chroms)} chromosomes: {', '.join(chroms[:6])}, …, {chroms[-1]}"
    return ", ".join(chroms) or "—"


def _png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _training(layout: RunLayout) -> Section:
    from claster.report._curves import VAL_PEARSON_COLUMNS, _series, plot_training_curves, read_metrics_csv

    if not layout.runs:
        return Section("training", "Training", ran=False,
                       missing_hint="No runs/<variant>/logs/metrics.csv or train_summary.json was found: "
                       "`claster train` did not run in this directory.")
    parts = [f'<p class="lead">{esc(training_text(layout.runs))}</p>']
    curves: dict[str, pd.DataFrame] = {}
    curve_rows = []
    for name, run in layout.runs.items():
        path = run / "logs" / "metrics.csv"
        if not path.is_file():
            continue
        try:
            df = read_metrics_csv(path)
        except InputError as e:
            parts.append(note(str(e), kind="warn"))
            continue
        curves[name] = df
        r = _series(df, VAL_PEARSON_COLUMNS)
        best = (float(r[1].max()), int(r[0][r[1].argmax()]), float(r[1][-1])) if r is not None else (None,) * 3
        curve_rows.append((name, int(df["step"].max()) if len(df) else None, *best))
    if curves:
        fig = plot_training_curves(curves)
        parts.append(figure_from_bytes(
            _png_bytes(fig), alt="training curves", name="training curves",
            caption="<b>Training curves.</b> Left: the SmoothL1 loss on the standardised target against the "
            "optimiser step; faint lines are the per-step training loss, solid lines its running mean, dashed "
            "lines with markers the validation loss. Right: the validation bin-wise Pearson r (all 401 bins "
            "of every validation gene, log2(x+1)); a star marks the best step, whose weights are kept. A "
            "validation loss that rises while the training loss falls signals over-fitting."))
        parts.append(table(("variant", "last step", "best val. Pearson r", "at step", "final val. Pearson r"),
                           curve_rows, caption="From the training curves"))
    else:
        parts.append(note("No logs/metrics.csv was found, so no curves are drawn.", kind="missing"))

    summaries: dict[str, dict] = {}
    versions: dict[str, Any] | None = None
    for name, run in layout.runs.items():
        data, warn = _read_json(run / "train_summary.json")
        parts.append(warn)
        if isinstance(data, Mapping):
            flat = dict(flatten(data))
            if versions is None:
                versions = {k: v for k, v in flat.items() if k.startswith("versions.")}
            summaries[name] = {k: v for k, v in flat.items() if not k.startswith("versions.")}
    if summaries:
        cols: list[str] = []
        for s in summaries.values():
            cols.extend(k for k in s if k not in cols and k != "variant")
        rows = [(k, *[summaries[n].get(k) for n in summaries]) for k in cols]
        parts.append(table(("train_summary.json", *summaries), rows, cls="kv", trim=True, caption="Run summaries"))
        if versions:
            parts.append(_details_kv({k.removeprefix("versions."): v for k, v in versions.items()},
                                     summary="package versions"))
    return Section("training", "Training", "".join(parts))


def _paper_cell(value: Any) -> tuple[Any, str]:
    return (value, "paper")


def _evaluation(layout: RunLayout) -> Section:
    if not layout.evals and layout.eval_comparison is None:
        return Section("evaluation", "Evaluation", ran=False,
                       missing_hint="No eval/<variant>/metrics.json was found: `claster evaluate` did not run "
                       "in this directory.")
    from claster.evaluate import PAPER_BINWISE

    parts = ['<p class="lead">Predictions on the held-out test chromosomes compared with the observed nascent '
             "transcription (SPEC §5). <b>Bin-wise</b>: all 401 bins of every test gene pooled, both sides "
             "transformed with log2(x+1), then Pearson and Spearman correlation. <b>Gene-level</b>: the "
             "profile integrated over each gene's body (Simpson's rule) divided by its width, Pearson and "
             "Spearman across genes. The paper's numbers (mouse ESC, chr4 test) are shown in grey italics "
             "beside ours; on other data, including simulated data, they are a reference for scale, not a "
             "target.</p>"]
    children = [("eval-metrics", "Metrics")]
    rows = []
    for name, folder in layout.evals.items():
        m, warn = _read_json(folder / "metrics.json")
        parts.append(warn)
        if not isinstance(m, Mapping):
            continue
        variant = str(m.get("variant") or name)
        paper = PAPER_BINWISE.get(variant) or PAPER_BINWISE.get(name)
        pp = m.get("paper_binwise_pearson", paper[0] if paper else None)
        ps = m.get("paper_binwise_spearman", paper[1] if paper else None)
        gp, gs = PAPER_GENE_LEVEL.get(variant) or PAPER_GENE_LEVEL.get(name) or (None, None)
        rows.append((name, m.get("split", "test"), m.get("n_samples"), m.get("binwise_pearson"), _paper_cell(pp),
                     m.get("binwise_spearman"), _paper_cell(ps), m.get("gene_pearson"), _paper_cell(gp),
                     m.get("gene_spearman"), _paper_cell(gs)))
    parts.append('<h3 id="eval-metrics">Metrics</h3>')
    if rows:
        parts.append(table(("variant", "split", "genes", "bin-wise Pearson", "paper", "bin-wise Spearman", "paper",
                            "gene Pearson", "paper", "gene Spearman", "paper"), rows))
    else:
        parts.append(note("No metrics.json was found.", kind="missing"))
    parts.append("<details><summary>every number the paper reports (SPEC §5)</summary>"
                 + table(("model", "test set", "bin-wise Pearson", "bin-wise Spearman"), PAPER_BINWISE_ALL)
                 + "<p>Gene-level, CLASTER (landscape, chr4): Pearson 0.8859, Spearman 0.9275. Enformer "
                 "embeddings + head: 0.7874 / 0.9093.</p></details>")
    if layout.eval_comparison is not None:
        parts.append(figure_html(layout.eval_comparison, max_px=760,
                                 caption="<b>Variants compared.</b> The metrics above side by side, one group of "
                                 "bars per run."))
    for name, folder in layout.evals.items():
        anchor = f"eval-{_slug(name)}"
        children.append((anchor, f"Figures: {name}"))
        parts.append(f'<h3 id="{esc(anchor)}">{esc(name)}</h3>')
        figs = []
        if (folder / "density.png").is_file():
            figs.append(figure_html(folder / "density.png", max_px=560, caption=(
                "<b>Observed vs predicted, every test bin.</b> A 2-D histogram of log2(x+1) values (200×200 bins "
                "on 0–10, log colour scale) with the linear fit. Points on the diagonal are predicted exactly; "
                "the dense lower-left corner is the many silent bins.")))
        if (folder / "profiles.png").is_file():
            figs.append(figure_html(folder / "profiles.png", caption=(
                "<b>Example genes.</b> Observed (EU-seq) and predicted nascent transcription over TSS ±200 kbp "
                "at 1 kbp resolution, with the gene models of the window underneath (boxes are gene bodies, "
                "arrows the strand). Good predictions put peaks at the right genes and get their relative "
                "heights right.")))
        known = {"density.png", "profiles.png", "comparison.png"}
        for png in sorted(folder.glob("*.png")):
            if png.name not in known:
                figs.append(figure_html(png, caption=f"<b>{esc(png.stem.replace('_', ' '))}.</b>"))
        parts.extend(figs or [note("No figures were written for this variant.", kind="missing")])
    return Section("evaluation", "Evaluation", "".join(parts), children=children)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "x"


PERTURB_CAPTIONS = {
    "distance_effect.png": "<b>Effect against distance.</b> Each point is one (active enhancer, gene) pair: the "
    "change of the gene's predicted body area when the enhancer is switched off, against the enhancer–TSS "
    "distance. In the paper effects decay with distance and are mostly confined to a few kbp.",
    "profile_overlay.png": "<b>Baseline vs perturbed profile.</b> The predicted nascent-transcription profile "
    "before and after the perturbation (P1: H3K27ac set to 0 over the enhancer; P2: ATAC, H3K4me3 and H3K27ac "
    "set to 0, the heterochromatin-like state). The shaded band marks the enhancer; the gap between the "
    "curves is the predicted effect.",
    "rank_histogram.png": "<b>Is the most affected gene the closest one?</b> For each active enhancer, the "
    "distance rank of the gene it affects most (rank 1 = the closest gene). The paper finds the closest gene "
    "is the most affected one for about 67 % of active enhancers (chr19).",
}


def _perturbation(layout: RunLayout) -> Section:
    if not layout.perturb:
        return Section("perturbation", "In-silico perturbation", ran=False,
                       missing_hint="No perturb/<variant>/ results were found: `claster perturb` did not run "
                       "in this directory.")
    parts = ['<p class="lead">Active enhancers (mean H3K27ac above the threshold) are switched off in the input '
             "and the model's prediction is compared with the unperturbed one; the change of each gene's "
             "predicted body area is the enhancer's effect on that gene (SPEC §6).</p>"]
    children = []
    for name, folder in layout.perturb.items():
        anchor = f"perturb-{_slug(name)}"
        children.append((anchor, name))
        parts.append(f'<h3 id="{esc(anchor)}">{esc(name)}</h3>')
        data, warn = _read_json(folder / "summary.json")
        parts.append(warn)
        if isinstance(data, Mapping):
            parts.append(_details_kv(data, open_=True, summary="summary"))
        parts.extend(_figures(folder, PERTURB_CAPTIONS))
    return Section("perturbation", "In-silico perturbation", "".join(parts), children=children)


def _figures(folder: Path, captions: Mapping[str, str], *, first: tuple[str, ...] = (),
             max_px: int = 1000) -> list[str]:
    """Every PNG in ``folder``: the captioned ones first, in caption order, then the rest by name."""
    pngs = {p.name: p for p in folder.glob("*.png")}
    order = [n for n in (*first, *captions) if n in pngs] + sorted(n for n in pngs if n not in captions)
    seen: list[str] = []
    out = []
    for n in order:
        if n in seen:
            continue
        seen.append(n)
        cap = captions.get(n) or f"<b>{esc(Path(n).stem.replace('_', ' '))}.</b>"
        out.append(figure_html(pngs[n], caption=cap, max_px=max_px))
    return out


def _linking(layout: RunLayout) -> Section:
    if not layout.benchmark:
        return Section("linking", "Enhancer–gene linking", ran=False,
                       missing_hint="No benchmark/<variant>/metrics.json was found: `claster link` / "
                       "`claster benchmark` did not run in this directory.")
    parts = ['<p class="lead">Every (enhancer, gene) pair in a window is scored by the predicted effect of '
             "switching the enhancer off, divided by the largest effect in its window (ratio-to-max, SPEC §7), "
             "and the scores are compared with known regulatory pairs. <b>AUPRC</b> is the area under the "
             "precision–recall curve (the random baseline equals the fraction of true pairs); the "
             "<b>distance</b> baseline scores each pair by minus the enhancer–TSS distance. In the paper "
             "(K562 CRISPRi, Gschwind et al. 2023) the AUPRC was 0.241 for the RNA model, 0.258 for the POLR2A "
             "model, 0.485 for distance and 0.164 for random: distance remains the strongest single "
             "predictor.</p>"]
    children = []
    for name, folder in layout.benchmark.items():
        anchor = f"linking-{_slug(name)}"
        children.append((anchor, name))
        parts.append(f'<h3 id="{esc(anchor)}">{esc(name)}</h3>')
        m, warn = _read_json(folder / "metrics.json")
        parts.append(warn)
        if isinstance(m, Mapping):
            keys = ("auprc", "auroc", "precision_at_70_recall")
            rows = [(f"claster ({name})", *[m.get(k) for k in keys])]
            baselines = m.get("baselines") if isinstance(m.get("baselines"), Mapping) else {}
            for bname, b in baselines.items():
                if isinstance(b, Mapping):
                    rows.append((f"{bname} baseline", *[b.get(k) for k in keys]))
            best = max((r[1] for r in rows if _num(r[1]) is not None), default=None)
            rows = [(r[0], (r[1], "good") if best is not None and r[1] == best else r[1], *r[2:]) for r in rows]
            parts.append(table(("scorer", "AUPRC", "AUROC", "precision at 70 % recall"), rows))
            rest = [(k, v) for k, v in flatten({k: v for k, v in m.items() if k not in (*keys, "baselines")})]
            if rest:
                parts.append(_details_kv(dict(rest), open_=len(rest) <= 12, summary="other numbers"))
        captions = {
            "pr_curve.png": "<b>Precision–recall.</b> Precision against recall as the score threshold is lowered, "
            "for claster and the baselines; the higher the curve, the better the ranking of true pairs.",
            "roc_curve.png": "<b>ROC.</b> True-positive rate against false-positive rate; the diagonal is a "
            "random ranking.",
        }
        figs = _figures(folder, captions, max_px=490)
        if figs:
            parts.append('<div class="figrow">' + "".join(figs) + "</div>")
    return Section("linking", "Enhancer–gene linking", "".join(parts), children=children)


LOCALITY_COLUMNS = (
    ("mass50_bp", "50 % of mass within (kbp)"),
    ("mass80_bp", "80 % within (kbp)"),
    ("mass95_bp", "95 % within (kbp)"),
    ("below20_bp", "below 20 % of peak beyond (kbp)"),
)


def _attribution_caption(name: str) -> str:
    low = name.lower()
    if "landscape" in low:
        return ("<b>Landscape attribution.</b> Integrated gradients for every output bin, re-centred on the "
                "predicted locus and averaged (absolute values, scaled to the maximum), one row per input track. "
                "Bright columns near the centre mean the prediction at a locus relies on the marks at that "
                "locus.")
    if "structure" in low or "contact" in low or "microc" in low:
        return ("<b>Structure attribution.</b> Integrated gradients on the rotated contact map, re-centred on "
                "the predicted locus; the diagonal is on top and rows further down are contacts over longer "
                "distances.")
    return f"<b>{esc(Path(name).stem.replace('_', ' '))}.</b>"


def _attribution(layout: RunLayout) -> Section:
    if not layout.attribution:
        return Section("attribution", "Attribution", ran=False,
                       missing_hint="No attribution/<variant>/ results were found: `claster attribute` did not "
                       "run in this directory.")
    parts = ['<p class="lead">Which inputs the model uses, by integrated gradients (SPEC §8). The locality '
             "table gives, for each track, how far from the predicted locus the attribution mass extends: "
             "the distances holding 50, 80 and 95 % of the total absolute attribution, and the distance beyond "
             "which it stays below 20 % of its peak. The paper finds H3K4me3 dominates, attributions fall below "
             "20 % of the peak 5–10 kbp from the locus and are negligible beyond 50 kbp.</p>"]
    children = []
    for name, folder in layout.attribution.items():
        anchor = f"attribution-{_slug(name)}"
        children.append((anchor, name))
        parts.append(f'<h3 id="{esc(anchor)}">{esc(name)}</h3>')
        df, warn = _read_tsv(folder / "locality.tsv")
        parts.append(warn)
        if df is not None:
            cols = [(c, label) for c, label in LOCALITY_COLUMNS if c in df.columns]
            other = [c for c in df.columns if c != "track" and c not in dict(cols)]
            rows = []
            for _, r in df.iterrows():
                vals = [(_num(r[c]) / 1000 if _num(r[c]) is not None else None) for c, _ in cols]
                rows.append((r.get("track", "?"), *vals, *[r[c] for c in other]))
            parts.append(table(("track", *[label for _, label in cols], *other), rows, digits=1))
        captions = {p.name: _attribution_caption(p.name) for p in sorted(folder.glob("*.png"))}
        parts.extend(_figures(folder, captions))
    return Section("attribution", "Attribution", "".join(parts), children=children)


def build_sections(layout: RunLayout) -> list[Any]:
    """The report's sections, in pipeline order."""
    if layout.single_run:
        return [_overview(layout), _training(layout)]
    verdict = _verdict(layout)
    return [_overview(layout, verdict), _data(layout, verdict), _training(layout), _evaluation(layout),
            _perturbation(layout), _linking(layout), _attribution(layout)]


def _verdict(layout: RunLayout) -> dict:
    """The QC verdict of the run's inputs (manifest, gene counts, `claster qc` when it ran)."""
    manifest = _read_json(layout.store / "manifest.json")[0] if layout.store is not None else None
    genes_summary = None
    if layout.store is not None:
        genes, _ = _read_tsv(layout.store / "genes.tsv")
        if genes is not None and {"split", "usable"} <= set(genes.columns):
            ok = _usable_mask(genes["usable"])
            genes_summary = {"usable_by_split": {s: int(ok[genes["split"].astype(str) == s].sum())
                                                 for s in ("train", "val", "test")},
                             "unusable_fraction": float((~ok).mean()) if len(genes) else None}
    qc_data = _read_json(layout.qc / "qc.json")[0] if layout.qc is not None else None
    return qc_verdict(manifest if isinstance(manifest, Mapping) else None, genes_summary,
                      qc_data if isinstance(qc_data, Mapping) else None)
