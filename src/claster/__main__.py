"""``python -m claster`` runs the command line."""

from claster.cli import main

main()
