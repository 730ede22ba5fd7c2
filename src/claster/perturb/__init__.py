"""Perturb: in-silico perturbations of landscape windows (SPEC §6): specs (:mod:`.spec`), bins, regions
and the active filter (:mod:`.regions`), operations on arrays (:mod:`.operations`), the one batched
engine and the effects table (:mod:`.engine`), and the scans and spec runs of ``claster perturb``
(:mod:`.scan`).
"""
from __future__ import annotations

from claster.perturb.regions import (
    bin_ranges,
    element_bins,
    region_bins,
    resolve_region,
    region_to_absolute,
    is_active,
    select_active_elements,
    element_gene_geometry,
)
from claster.perturb.operations import (
    apply_operations,
    apply_operations_,
)
from claster.perturb.spec import (
    check_tracks,
    load_perturb_spec,
    spec_from_table,
)
from claster.perturb.engine import (
    EFFECTS_COLUMNS,
    EFFECTS_COLUMN_DOCS,
    PerturbationEngine,
    parse_area,
    area_bins,
    effects_table,
)
from claster.perturb.scan import (
    ScanResult,
    read_elements,
    perturb_scan,
    perturb_with_spec,
    write_scan,
    PRESET_TRACKS,
)

__all__ = [
    "bin_ranges",
    "element_bins",
    "region_bins",
    "resolve_region",
    "region_to_absolute",
    "is_active",
    "select_active_elements",
    "element_gene_geometry",
    "apply_operations",
    "apply_operations_",
    "check_tracks",
    "load_perturb_spec",
    "spec_from_table",
    "EFFECTS_COLUMNS",
    "EFFECTS_COLUMN_DOCS",
    "PerturbationEngine",
    "parse_area",
    "area_bins",
    "effects_table",
    "ScanResult",
    "read_elements",
    "perturb_scan",
    "perturb_with_spec",
    "write_scan",
    "PRESET_TRACKS",
]
