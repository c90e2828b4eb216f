"""Pictures and comparisons for reviews: the environment graph and environment diffs."""
