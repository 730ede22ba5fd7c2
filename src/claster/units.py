"""Named constants of the CLASTER method (SPEC §1–§3). Lengths in bp, counts in bins."""

from __future__ import annotations

# Landscape (SPEC §1, §2): 4 tracks x 10,001 bins of 100 bp over TSS +-500,050 bp.
LANDSCAPE_BIN_BP = 100
LANDSCAPE_BINS = 10_001
LANDSCAPE_HALF_BP = 500_050
DEFAULT_TRACKS: tuple[str, ...] = ("ATAC", "H3K4me3", "H3K27ac", "H3K27me3")

# Target (SPEC §2): EU-seq at 20 bp, Gaussian sigma 1 kbp, 1 kbp mean, 401 bins over TSS +-200 kbp.
TARGET_RAW_BIN_BP = 20
TARGET_SMOOTH_SIGMA_BP = 1_000
TARGET_BIN_BP = 1_000
TARGET_BINS = 401

# Contacts (SPEC §2).
CONTACT_WINDOW_BP = 1_000_000
MICROC_BIN_BP = 1_600
MICROC_BINS = 626
ROTATED_ROWS = 129
ROTATED_CROP_TOP = 184  # rows dropped at the top of the rotated 626 x 626 map
PCHIC_BIN_BP = 5_000
PCHIC_BINS = 201
CONTACT_LOG_FLOOR = 1e-14  # NaN and 0 -> 1e-14 before log10, so missing = -14

# Splits (SPEC §1).
DEFAULT_TEST_CHROMS: tuple[str, ...] = ("chr4",)
DEFAULT_VAL_CHROMS: tuple[str, ...] = ("chr17",)

# Store format.
STORE_FORMAT = "claster-store"
STORE_FORMAT_VERSION = 1
