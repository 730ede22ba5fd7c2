"""The genome-wide store: 100 bp input tracks, the processed target, contact bands, the gene index.

``build_store(config, out)`` writes one (``claster prepare``); ``open_store(path)`` reads one. The
format is described in the store contract (manifest.json, tracks/, target/, contacts/, genes.tsv).
"""

from claster.store._build import build_store, process_target, sha256_file
from claster.store._index import (
    INDEX_COLUMNS,
    assign_split,
    build_gene_index,
    contact_window_bins,
    contact_window_start,
    landscape_window_start,
    target_indices,
)
from claster.store._store import (
    CONTACT_KINDS,
    RotatedCache,
    Store,
    log10_floor,
    open_store,
    read_manifest,
    square_from_band,
)

__all__ = [
    "CONTACT_KINDS",
    "INDEX_COLUMNS",
    "RotatedCache",
    "Store",
    "assign_split",
    "build_gene_index",
    "build_store",
    "contact_window_bins",
    "contact_window_start",
    "landscape_window_start",
    "log10_floor",
    "open_store",
    "process_target",
    "read_manifest",
    "sha256_file",
    "square_from_band",
    "target_indices",
]
