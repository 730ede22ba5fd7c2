"""The report's first answers and its aggregated QC.

- :func:`key_results`: one short table per question a scientist asks first — how well does each
  model predict, how well do its links recover the truth, what were the inputs and their QC verdict.
- :func:`qc_html`: the store's QC notes aggregated into one table (track x chromosome) per kind of
  note, one verdict line, and warnings only for what needs action; plus ``claster qc`` results.
- :func:`training_text`: the training recipe sentence, every number from the runs' own config.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from claster.report._html import esc, figure_html, fmt_value, note, table

__all__ = ["MAX_CHROM_COLUMNS", "key_results", "qc_html", "qc_verdict", "training_text"]

#: Chromosome columns shown in a track x chromosome table; the rest are summed into one column.
MAX_CHROM_COLUMNS = 8
# SPEC §5 / §7: the paper's numbers next to ours.
PAPER_PREDICT = ("paper: landscape (mESC, chr4)", 0.8852, 0.7814, 0.8859, 0.9275)
PAPER_LINKS = (
    ("paper: RNA model (K562 CRISPRi)", 0.241, 0.67),
    ("paper: distance", 0.485, None),
    ("paper: random", 0.164, None),
)


def _json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _num(x: Any) -> float | None:
    """A finite float or None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------------------------------------ key


def _predict_rows(layout) -> list[tuple]:
    rows = []
    for name, folder in layout.evals.items():
        m = _json(folder / "metrics.json")
        if isinstance(m, Mapping):
            label = f"claster {name}"
            ms = (m.get("input_check") or {}).get("match_scale") or {}
            if ms.get("method") not in (None, "none"):
                label += f" (match-scale {ms['method']})"
            rows.append(
                (
                    label,
                    m.get("binwise_pearson"),
                    m.get("binwise_spearman"),
                    m.get("gene_pearson"),
                    m.get("gene_spearman"),
                    m.get("n_samples"),
                )
            )
    for name, folder in layout.baselines.items():
        m = _json(folder / "metrics.json")
        if isinstance(m, Mapping):
            rows.append(
                (
                    f"baseline: {name}",
                    m.get("binwise_pearson"),
                    m.get("binwise_spearman"),
                    m.get("gene_pearson"),
                    m.get("gene_spearman"),
                    m.get("n_samples"),
                )
            )
    if rows:
        rows.append(((PAPER_PREDICT[0], "paper"), *[(v, "paper") for v in PAPER_PREDICT[1:]], None))
    return rows


def _closest_fraction(layout, name: str) -> float | None:
    folder = layout.perturb.get(name)
    s = _json(folder / "summary.json") if folder is not None else None
    if not isinstance(s, Mapping):
        return None
    for key in ("fraction_most_affected_is_closest", "closest_is_top_fraction"):
        if _num(s.get(key)) is not None:
            return _num(s.get(key))
    return None


def _link_rows(layout) -> list[tuple]:
    rows = []
    baselines: dict[str, float] = {}
    for name, folder in layout.benchmark.items():
        m = _json(folder / "metrics.json")
        if not isinstance(m, Mapping):
            continue
        label = name if name.startswith(("fused", "abc", "distance")) else f"claster {name}"
        rows.append((label, m.get("auprc"), m.get("auroc"), _closest_fraction(layout, name)))
        for b, v in (m.get("baselines") or {}).items():
            if isinstance(v, Mapping) and _num(v.get("auprc")) is not None:
                baselines.setdefault(b, _num(v.get("auprc")))
    order = ("abc", "ABC", "fused", "distance", "random")
    for b in sorted(baselines, key=lambda k: (order.index(k) if k in order else 0, k)):
        rows.append((f"baseline: {b}", baselines[b], None, None))
    if rows:
        rows += [
            ((label, "paper"), (auprc, "paper"), None, (closest, "paper") if closest else None)
            for label, auprc, closest in PAPER_LINKS
        ]
    return rows


def _input_rows(layout, verdict: dict) -> list[tuple]:
    manifest = _json(layout.store / "manifest.json") if layout.store is not None else None
    if not isinstance(manifest, Mapping):
        return []
    cov = _coverage(manifest)
    shifted = set(verdict.get("shifted", []))
    rows = []
    for t in manifest.get("tracks") or []:
        if not isinstance(t, Mapping):
            continue
        name = str(t.get("name"))
        srcs = t.get("sources") or []
        files = ", ".join(Path(str(s.get("path", "?"))).name for s in srcs if isinstance(s, Mapping)) or "—"
        if t.get("missing"):
            status = ("missing: stored as zeros", "bad")
        elif name in shifted:
            status = ("shifted from the training scale", "bad")
        elif cov.get(name) is not None and cov[name] < 0.5:
            status = ("low coverage", "bad")
        else:
            status = ("ok", "good")
        rows.append(("input track", name, files, cov.get(name), status))
    target = manifest.get("target")
    if isinstance(target, Mapping):
        files = (
            ", ".join(
                Path(str(s.get("path", "?"))).name
                for s in target.get("sources") or []
                if isinstance(s, Mapping)
            )
            or "—"
        )
        rows.append(("target", target.get("name", "target"), files, cov.get("__target__"), "ok"))
    c = manifest.get("contacts")
    if isinstance(c, Mapping):
        rows.append(
            (
                "contacts",
                f"{fmt_value(c.get('resolution_bp'))} bp",
                Path(str(c.get("source", "?")).split("::")[0]).name,
                None,
                "ok",
            )
        )
    return rows


def key_results(layout, verdict: dict) -> str:
    """The three question tables (each present only when its results exist) and the verdict line."""
    parts = []
    rows = _predict_rows(layout)
    if rows:
        parts.append('<h3 id="key-predict">How well does each model predict?</h3>')
        parts.append(
            table(
                (
                    "model",
                    "bin-wise Pearson",
                    "bin-wise Spearman",
                    "gene Pearson",
                    "gene Spearman",
                    "test genes",
                ),
                rows,
                cls="key",
            )
        )
    rows = _link_rows(layout)
    if rows:
        parts.append('<h3 id="key-links">How well do its links recover the truth?</h3>')
        parts.append(
            table(("scorer", "AUPRC", "AUROC", "most-affected gene is the closest"), rows, cls="key")
        )
    rows = _input_rows(layout, verdict)
    if rows:
        parts.append('<h3 id="key-inputs">What were the inputs, and their QC verdict?</h3>')
        parts.append(
            table(("kind", "name", "files", "coverage (min over chromosomes)", "QC"), rows, cls="key")
        )
        parts.append(_verdict_html(verdict))
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ qc


def _coverage(manifest: Mapping) -> dict[str, float]:
    """Track (and ``__target__``) -> the lowest fraction of bins with data over the chromosomes."""
    sizes = manifest.get("chrom_sizes") or {}
    fills = manifest.get("fills") or {}
    out = {}
    bin_bp = _num(manifest.get("track_bin_bp")) or 100
    raw = _num((manifest.get("target") or {}).get("raw_bin_bp")) or 20
    for name, by_chrom in (fills.get("tracks_empty_bins") or {}).items():
        if isinstance(by_chrom, Mapping):
            vals = [
                1 - _num(n) / math.ceil(sizes[c] / bin_bp)
                for c, n in by_chrom.items()
                if c in sizes and _num(n) is not None
            ]
            if vals:
                out[name] = min(vals)
    tgt = fills.get("target_empty_bins")
    if isinstance(tgt, Mapping):
        vals = [
            1 - _num(n) / math.ceil(sizes[c] / raw)
            for c, n in tgt.items()
            if c in sizes and _num(n) is not None
        ]
        if vals:
            out["__target__"] = min(vals)
    return out


def _chrom_table(
    header0: str,
    values: Mapping[str, Mapping[str, Any]],
    chroms: Sequence[str],
    *,
    total_label: str = "total",
    agg: str = "sum",
    digits: int = 0,
) -> str:
    """Rows = the keys of ``values`` (tracks), columns = chromosomes (at most :data:`MAX_CHROM_COLUMNS`,
    the others summed or minimised into one column) then an overall column."""
    shown = list(chroms[:MAX_CHROM_COLUMNS])
    rest = list(chroms[MAX_CHROM_COLUMNS:])
    head = [header0, *shown]
    if rest:
        head.append(f"other {len(rest)} chromosomes")
    head.append(total_label)
    f = sum if agg == "sum" else min
    rows = []
    for name, by in values.items():
        cells = [by.get(c) for c in shown]
        if rest:
            vals = [by[c] for c in rest if by.get(c) is not None]
            cells.append(f(vals) if vals else None)
        vals = [v for v in by.values() if v is not None]
        cells.append(f(vals) if vals else None)
        rows.append((name, *cells))
    return table(head, rows, cls="chroms", digits=digits)


def qc_verdict(manifest: Mapping | None, genes_summary: Mapping | None, qc: Mapping | None) -> dict:
    """``{"line", "actions", "info", "shifted"}`` from the manifest, gene counts and ``claster qc`` output."""
    actions, info = [], []
    shifted: list[str] = []
    if isinstance(manifest, Mapping):
        for t in manifest.get("tracks") or []:
            if isinstance(t, Mapping) and t.get("missing"):
                actions.append(
                    f"Track {t.get('name')} was declared missing: it is stored as zeros, so the model "
                    "sees a constant row for it."
                )
        chroms = [str(c) for c in manifest.get("chroms") or []]
        complete = manifest.get("complete_chroms")
        if isinstance(complete, list):
            bad = [c for c in chroms if c not in set(map(str, complete))]
            if bad:
                actions.append(
                    f"{len(bad)} chromosome(s) are not marked complete ({', '.join(bad[:8])}"
                    f"{'…' if len(bad) > 8 else ''}); the build was interrupted: re-run `claster "
                    "prepare` to resume it."
                )
        declared_missing = {
            str(t.get("name"))
            for t in manifest.get("tracks") or []
            if isinstance(t, Mapping) and t.get("missing")
        }
        for name, cov in _coverage(manifest).items():
            if cov < 0.5 and name not in declared_missing:  # a declared-missing track is reported above
                label = "the target" if name == "__target__" else f"track {name}"
                actions.append(
                    f"{label} has data in only {cov:.0%} of the bins of its worst chromosome; check "
                    "the input file covers the genome."
                )
        for key, label in (("contacts", "contacts"), ("pchic", "promoter-capture Hi-C")):
            c = manifest.get(key)
            if isinstance(c, Mapping) and str(c.get("balancing", "")).lower().startswith("ice computed"):
                info.append(
                    f"The {label} file had no balancing weights; claster computed ICE weights itself."
                )
    for split, n_ok in (genes_summary or {}).get("usable_by_split", {}).items():
        if n_ok == 0:
            actions.append(f"The {split} split has no usable genes; choose other --test-chroms/--val-chroms.")
    frac = (genes_summary or {}).get("unusable_fraction")
    if frac is not None and frac > 0.10:
        info.append(
            f"{frac:.0%} of genes are unusable (windows off the chromosome or without contacts); "
            "see the reasons above."
        )
    if isinstance(qc, Mapping):
        for r in qc.get("shift") or []:
            if r.get("shifted"):
                shifted.append(str(r["track"]))
        from claster.qc import shift_warning

        actions += [shift_warning(r, "the store") for r in qc.get("shift") or [] if r.get("shifted")]
        nz = (qc.get("target") or {}).get("near_zero_fraction")
        if nz is not None and nz > 0.5:
            actions.append(
                f"{nz:.0%} of usable genes have a near-zero target profile; check the target track."
            )
    if actions:
        line = f"{len(actions)} issue(s) need action (listed below)."
    else:
        line = "No issue needs action: every input track is present and covers its chromosomes"
        line += (
            ", and the inputs match the model's training distribution."
            if isinstance(qc, Mapping) and "shift" in qc
            else "."
        )
    return {"line": line, "actions": actions, "info": info, "shifted": shifted}


def _verdict_html(verdict: dict) -> str:
    kind = "warn" if verdict["actions"] else "ok"
    return f'<p class="verdict {kind}"><b>QC verdict:</b> {esc(verdict["line"])}</p>'


def qc_html(manifest: Mapping, verdict: dict, qc: Mapping | None, qc_dir: Path | None) -> str:
    """The aggregated QC block: verdict, actions, one track x chromosome table per kind of note,
    ``claster qc`` results."""
    parts = [_verdict_html(verdict)]
    if verdict["actions"]:
        parts.append('<ul class="qc">' + "".join(f"<li>{esc(a)}</li>" for a in verdict["actions"]) + "</ul>")
    chroms = [str(c) for c in manifest.get("chroms") or []]
    fills = manifest.get("fills") or {}
    table_fills: dict[str, dict[str, Any]] = {}
    for name, by in (fills.get("tracks_empty_bins") or {}).items():
        if isinstance(by, Mapping) and any(_num(v) for v in by.values()):
            table_fills[str(name)] = {str(c): int(v) for c, v in by.items() if _num(v) is not None}
    tgt = fills.get("target_empty_bins")
    if isinstance(tgt, Mapping) and any(_num(v) for v in tgt.values()):
        table_fills["target (20 bp bins)"] = {str(c): int(v) for c, v in tgt.items() if _num(v) is not None}
    if table_fills:
        parts.append("<h4>Bins without data, stored as 0 (per track and chromosome)</h4>")
        parts.append(_chrom_table("track", table_fills, chroms))
    if isinstance(qc, Mapping):
        parts.append(_store_qc_tables(qc, chroms, qc_dir))
    if verdict["info"]:
        parts.append("".join(note(i) for i in verdict["info"]))
    return "".join(parts)


def _store_qc_tables(qc: Mapping, chroms: Sequence[str], qc_dir: Path | None) -> str:
    parts = []
    shift = qc.get("shift") or []
    if shift:
        parts.append("<h4>Inputs against the model's training inputs (<code>claster qc --run</code>)</h4>")
        rows = [
            (
                r["track"],
                r.get("train_promoter_median"),
                r.get("store_promoter_median"),
                r.get("promoter_ratio"),
                r.get("qq_distance"),
                ("shifted", "bad") if r.get("shifted") else ("ok", "good"),
            )
            for r in shift
        ]
        parts.append(
            table(
                (
                    "track",
                    "training promoter median",
                    "store promoter median",
                    "ratio",
                    "quantile distance (log2)",
                    "verdict",
                ),
                rows,
                digits=3,
            )
        )
    by_kind: dict[str, dict[str, dict[str, Any]]] = {
        "coverage": {},
        "largest gap (kbp)": {},
        "promoter / genome mean": {},
    }
    for r in qc.get("tracks") or []:
        t, c = str(r.get("track")), str(r.get("chrom"))
        by_kind["coverage"].setdefault(t, {})[c] = r.get("coverage")
        gap = r.get("largest_gap_bp")
        by_kind["largest gap (kbp)"].setdefault(t, {})[c] = gap / 1000 if gap is not None else None
        by_kind["promoter / genome mean"].setdefault(t, {})[c] = r.get("promoter_enrichment")
    if by_kind["coverage"]:
        parts.append("<h4>Coverage: fraction of 100 bp bins with data (<code>claster qc</code>)</h4>")
        parts.append(
            _chrom_table("track", by_kind["coverage"], chroms, total_label="lowest", agg="min", digits=4)
        )
        parts.append("<h4>Signal at promoters (TSS ±1 kbp) over the genome mean</h4>")
        parts.append(
            _chrom_table(
                "track", by_kind["promoter / genome mean"], chroms, total_label="lowest", agg="min", digits=2
            )
        )
    tgt = qc.get("target") or {}
    if tgt.get("near_zero_fraction") is not None:
        parts.append(
            note(
                f"Target: {fmt_value(tgt['near_zero_fraction'] * 100, digits=1)} % of "
                f"{tgt.get('n_usable_genes')} usable genes have a near-zero profile (peak below "
                f"{fmt_value(tgt.get('near_zero_threshold'), digits=3)})."
            )
        )
    crow = []
    for kind, rows in (qc.get("contacts") or {}).items():
        miss = {str(r["chrom"]): r.get("missing_fraction") for r in rows}
        slope = {str(r["chrom"]): r.get("slope") for r in rows}
        crow.append((f"{kind}: missing pixels", miss))
        crow.append((f"{kind}: decay slope", slope))
    if crow:
        parts.append("<h4>Contacts: fraction of missing window pixels, distance-decay slope</h4>")
        parts.append(
            _chrom_table("measure", dict(crow), chroms, total_label="worst", agg="min", digits=3).replace(
                "<th>worst</th>", "<th>lowest</th>"
            )
        )
    if qc_dir is not None:
        for png, cap in (
            (
                "track_quantiles.png",
                "<b>Track distributions.</b> Signal quantiles of each track in the "
                "store (solid) and in the model's training inputs (dashed), from the 0 % to the 99.99 % "
                "level (log scale).",
            ),
            (
                "decay_contacts.png",
                "<b>Contact decay.</b> Mean log10 contact against separation per "
                "chromosome; the dashed line is the training store's mean.",
            ),
        ):
            if (qc_dir / png).is_file():
                parts.append(figure_html(qc_dir / png, caption=cap, max_px=900))
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ training


def training_text(runs: Mapping[str, Path]) -> str:
    """The recipe sentence(s), each number read from the run's ``config.json`` (``train`` block)."""
    recipes: dict[str, list[str]] = {}
    missing = []
    for name, run in runs.items():
        cfg = _json(Path(run) / "config.json")
        tc = cfg.get("train") if isinstance(cfg, Mapping) else None
        if not isinstance(tc, Mapping):
            missing.append(name)
            continue
        bits = [
            f"learning rate {fmt_value(tc.get('lr'), trim=True)}",
            f"a {fmt_value(tc.get('warmup_steps'))}-step linear warm-up",
            f"batch {fmt_value(tc.get('batch_size'))}",
        ]
        stop = []
        if tc.get("max_minutes"):
            stop.append(f"{fmt_value(tc['max_minutes'], trim=True)} minutes")
        if tc.get("max_steps"):
            stop.append(f"{fmt_value(tc['max_steps'])} steps")
        if tc.get("epochs"):
            stop.append(f"{fmt_value(tc['epochs'])} epochs")
        text = "AdamW with " + ", ".join(bits)
        if stop:
            text += "; stopped at the first of " + ", ".join(stop)
        if tc.get("context_bins"):
            n_in, n_out = fmt_value(tc["context_bins"]), fmt_value(tc.get("output_bins"))
            text += f"; {n_in} input bins, {n_out} output bins"
        recipes.setdefault(text, []).append(name)
    out = []
    for text, names in recipes.items():
        who = (
            "Every variant is"
            if len(names) == len(runs) and len(runs) > 1
            else (", ".join(names) + (" is" if len(names) == 1 else " are"))
        )
        out.append(f"{who} trained with {text}.")
    if missing:
        out.append(f"The training settings of {', '.join(missing)} were not found (config.json).")
    out.append(
        "Training uses the training chromosomes only; the checkpoint with the best validation bin-wise "
        "Pearson r is kept (SPEC §4)."
    )
    return " ".join(out)
