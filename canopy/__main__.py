"""``python -m canopy`` runs the ``canopy`` command."""

from canopy.cli.main import cli

cli()
