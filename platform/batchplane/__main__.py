"""``python -m batchplane``."""

from batchplane.entry import main

main()
