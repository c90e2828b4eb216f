"""``python -m batchplane``."""

from batchplane.cli.entry import main

main()
