"""Job images: sources and their hash (:mod:`.sources`), registries (:mod:`.registry`),
the Docker engine (:mod:`.build`), build-push-pin (:mod:`.pipeline`) and ``images.lock.json`` (:mod:`.lock`).

Decisions, also in the README: tags are for people, job definitions use the
digest; the lock is written once, after every requested push succeeded.
"""
