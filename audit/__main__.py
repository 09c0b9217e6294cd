"""``python -m audit`` runs the same command line as ``nexus-audit``."""

from audit.cli import main

main()
