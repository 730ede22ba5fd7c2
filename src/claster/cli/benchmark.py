"""``claster benchmark``: score predictions against ground truth (``crispr``: SPEC §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from claster.cli._app import app

benchmark_app = typer.Typer(
    help="Benchmark predictions against ground truth.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("crispr")
def crispr(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output folder (metrics.json, scored_pairs.tsv, pr_curve.png, roc_curve.png).",
            show_default=False,
        ),
    ],
    links: Annotated[
        Path | None,
        typer.Argument(
            help="ABC/ENCODE-rE2G-style link TSV (chr, start, end, TargetGene, score columns); "
            "omit to compute the baselines only.",
            show_default=False,
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            help="EPCrisprBenchmark-format truth TSV(.gz): chrom, chromStart, chromEnd, measuredGeneSymbol, "
            "Regulated, distanceToTSS/startTSS (bp; GRCh38 for the published files).",
        ),
    ] = None,
    truth_from_simulation: Annotated[
        Path | None,
        typer.Option(
            "--truth-from-simulation",
            help="Score against a simulated genome's truth instead of --truth: the folder written by "
            "`claster simulate` (it holds truth/pairs.tsv).",
        ),
    ] = None,
    score_col: Annotated[
        str,
        typer.Option("--score-col", help="Link column used as the score (higher = more likely regulatory)."),
    ] = "score",
    gene_col: Annotated[
        str, typer.Option("--gene-col", help="Link column naming the target gene (symbol or Ensembl id).")
    ] = "TargetGene",
    distance: Annotated[
        str,
        typer.Option(
            "--distance",
            help="Distance (bp) of the distance baseline: 'column' = |distanceToTSS| of the truth, "
            "'midpoint' = |element midpoint - startTSS|, 'auto' = the column when present.",
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random baseline.")] = 0,
    chroms: Annotated[
        str | None,
        typer.Option(
            "--chroms",
            help="Comma-separated chromosomes: score only truth pairs there. With --truth-from-simulation "
            "and a links file, the default is the chromosomes the links cover (a scan of chr4 is scored "
            "against chr4's truth).",
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            help="Comma-separated further link columns scored side by side with --score-col (e.g. "
            "ABC.Score,fused_score); 'none' for none. [default: those of delta, ABC.Score, activity_x_contact, "
            "fused_score in the links]",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing DIR/metrics.json.")] = False,
) -> None:
    """CRISPRi enhancer–gene benchmark: AUPRC, AUROC, precision at 70 % recall and the best-F1
    confusion matrix for the links and for the distance and random baselines; PR and ROC figures."""
    from claster.link import (
        benchmark_links,
        read_crispr_truth,
        read_links,
        restrict_truth,
        write_benchmark,
    )
    from claster.link import truth_from_simulation as sim_truth
    from claster.errors import InputError

    if (truth is None) == (truth_from_simulation is None):
        raise typer.BadParameter("give exactly one of --truth FILE or --truth-from-simulation SIMDIR")
    if distance not in ("auto", "column", "midpoint"):
        raise typer.BadParameter(f"--distance must be auto, column or midpoint; got {distance!r}")
    metrics_path = out / "metrics.json"
    if metrics_path.exists() and not force:
        raise InputError(
            f"{metrics_path} already exists; pass --force to overwrite it or choose another --out"
        )

    if truth is not None:
        truth_df = read_crispr_truth(truth)
    else:
        assert truth_from_simulation is not None
        truth_df = sim_truth(truth_from_simulation)
    links_df = read_links(links, score_col=score_col, gene_col=gene_col) if links is not None else None
    keep = [c.strip() for c in chroms.split(",") if c.strip()] if chroms else None
    if keep is None and truth_from_simulation is not None and links_df is not None:
        keep = sorted(set(links_df["chr"].astype(str)))
    truth_df = restrict_truth(truth_df, keep)
    if compare is None:
        compare_cols = [c for c in ("delta", "ABC.Score", "activity_x_contact", "fused_score")
                        if links_df is not None and c in links_df.columns and c != score_col]
    elif compare.strip().lower() == "none":
        compare_cols = []
    else:
        compare_cols = [c.strip() for c in compare.split(",") if c.strip()]
    if compare_cols and links_df is None:
        raise InputError("--compare needs a links file")
    result = benchmark_links(
        links_df,
        truth_df,
        score_col=score_col,
        gene_col=gene_col,
        distance=distance,  # type: ignore[arg-type]
        seed=seed,
        compare=compare_cols,
    )
    write_benchmark(
        result, out, title="simulated truth" if truth is None else truth.name,
        extra={"links_file": str(links) if links is not None else None, "chroms": keep,
               "truth_file": str(truth) if truth is not None else None,
               "truth_simulation": str(truth_from_simulation) if truth_from_simulation is not None else None},
    )

    parts = []
    if links is not None:
        parts.append(f"links AUPRC {result['auprc']:.4f} (unmatched {result['n_unmatched']})")
    parts.append(f"distance {result['baselines']['distance']['auprc']:.4f}")
    parts.append(f"random {result['baselines']['random']['auprc']:.4f}")
    head = f"{result['n_pairs']} pairs, {result['n_positive']} positive: "
    typer.echo(head + "; ".join(parts) + f"; wrote {out}")
    if "side_by_side" in result:
        typer.echo(f"{'score':<22} {'AUPRC':>7} {'AUROC':>7} {'P@70%R':>7} {'unmatched':>10}")
        for name, m in result["side_by_side"].items():
            typer.echo(f"{name:<22} {m['auprc']:7.4f} {m['auroc']:7.4f} {m['precision_at_70_recall']:7.4f} "
                       f"{m['n_unmatched']:>10}")
