"""claster: nascent transcription from the chromatin landscape and its 3D structure.

A re-implementation of the CLASTER method (Pielies Avellí et al., Genome Biology 2026) as an
installable tool: files in (bigWig, GTF/BED, .mcool), files out (bigWig, TSV, BEDPE, HTML).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
