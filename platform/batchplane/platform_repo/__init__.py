"""A platform repository of your own: ``batchplane init`` and ``batchplane upgrade``.

``bundled`` finds the trees the installed batchplane ships (modules, custom checks,
workflows); ``vendor`` copies them into a platform repository with a stamp, and tells
how a repository's copy differs from the installed one; ``starter`` writes a new
platform repository.
"""
