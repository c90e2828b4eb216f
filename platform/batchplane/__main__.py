"""``python -m batchplane``."""

from batchplane.cli import main

main()
