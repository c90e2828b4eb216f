"""Build, push and pin job images: what is current, what must be built, in parallel, then the lock.

An image whose source hash equals the one recorded for the environment in
``images.lock.json``, and whose digest the registry still has, is neither
rebuilt nor pushed. The lock is written once, after every requested push
succeeded, and atomically: a failed push leaves ``images.lock.json``
byte-identical.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from batchplane.errors import RegistryError
from batchplane.images.build import build, docker_client, push
from batchplane.images.lock import ImageLock, LockEntry, read_lock, with_entries, write_lock
from batchplane.images.registry import Registry, registry_for
from batchplane.images.sources import ImageSource, sources
from batchplane.spec.loader import Spec

Reporter = Callable[[str], None]


@dataclass(frozen=True)
class ImageResult:
    """What happened to one image."""

    name: str
    action: Literal["built", "pushed", "up-to-date"]
    tag: str
    digest: str | None
    source_hash: str
    repository: str

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["image"] = document.pop("name")
        return document


def _current(registry: Registry, repository: str, entry: LockEntry | None, source: ImageSource) -> bool:
    if entry is None or entry.source_hash != source.source_hash:
        return False
    try:
        return registry.has(repository, entry.digest)
    except RegistryError:
        # Unsure is "build it": the HEAD is anonymous (a private registry answers 401 to it) while
        # the push carries docker's credentials and reports a registry that is really unusable.
        return False


@dataclass(frozen=True)
class Work:
    """What a build-and-push must do: images already current, images to build."""

    registry: Registry
    current: list[ImageResult]
    todo: list[ImageSource]
    repositories: dict[str, str]


def plan_images(
    spec: Spec, names: Iterable[str] | None, registry: Registry, environment: str | None, lock: ImageLock
) -> Work:
    """Which images must be built: those not current for ``environment`` (as ``lock`` pins them) in ``registry``."""
    chosen = sources(spec.root, names)
    repositories = {s.name: registry.repository(spec.platform.name, s.name) for s in chosen}
    current: list[ImageResult] = []
    todo: list[ImageSource] = []
    for source in chosen:
        entry = lock.entry(source.name, environment) if environment else None
        if entry is not None and _current(registry, repositories[source.name], entry, source):
            current.append(
                ImageResult(
                    source.name, "up-to-date", entry.tag, entry.digest, source.source_hash, repositories[source.name]
                )
            )
        else:
            todo.append(source)
    return Work(registry, current, todo, repositories)


class _Clients:
    """One engine client per thread (the SDK's HTTP session is not shared safely)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> Any:
        if not hasattr(self._local, "client"):
            self._local.client = docker_client()
        return self._local.client


def _parallel(items: list[ImageSource], one: Callable[[ImageSource], ImageResult]) -> list[ImageResult]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(len(items), os.cpu_count() or 2, 4))) as pool:
        return list(pool.map(one, items))


def build_all(spec: Spec, work: Work, report: Reporter | None = None) -> list[ImageResult]:
    """Build every image of ``work.todo`` in parallel, tagged for ``work.registry``."""
    say = report or (lambda _message: None)
    clients = _Clients()
    if work.todo:
        clients.get()  # fail fast, once, when no engine answers

    def one(source: ImageSource) -> ImageResult:
        repository = work.repositories[source.name]
        say(f"{source.name}: building")
        started = time.monotonic()
        tag, _ = build(clients.get(), spec.root, source, repository)
        say(f"{source.name}: built {repository}:{tag} in {time.monotonic() - started:.1f} s")
        return ImageResult(source.name, "built", tag, None, source.source_hash, repository)

    return _parallel(work.todo, one)


def push_all(work: Work, built: list[ImageResult], report: Reporter | None = None) -> list[ImageResult]:
    """Push built images in parallel; returns them with their digests. Any failure raises."""
    say = report or (lambda _message: None)
    if not built:
        return []
    auth = work.registry.auth()
    clients = _Clients()
    by_name = {b.name: b for b in built}

    def one(source: ImageSource) -> ImageResult:
        made = by_name[source.name]
        digest = push(clients.get(), work.registry, made.repository, made.tag, auth)
        say(f"{made.name}: pushed {made.repository}@{digest}")
        return replace(made, action="pushed", digest=digest)

    return _parallel([s for s in work.todo if s.name in by_name], one)


def build_images(
    spec: Spec,
    names: Iterable[str] | None,
    *,
    push_to: Registry | None,
    environment: str | None,
    report: Reporter | None = None,
) -> list[ImageResult]:
    """Build (in parallel) and optionally push; with a push, pin the digests for ``environment``.

    Without a push every image is built (the engine's layer cache makes an
    unchanged one cheap); with a push, images current for the environment
    are skipped. The lock is written only after every push succeeded.
    """
    registry = push_to or registry_for(spec, None)
    lock = read_lock(spec.root)
    work = plan_images(spec, names, registry, environment if push_to is not None else None, lock)
    for result in work.current:
        (report or (lambda _m: None))(f"{result.name}: up to date ({result.tag}, {result.digest})")
    done = build_all(spec, work, report)
    if push_to is not None:
        done = push_all(work, done, report)
    results = {r.name: r for r in [*work.current, *done]}
    ordered = [results[name] for name in work.repositories]
    if push_to is not None and environment is not None:
        pin(spec.root, environment, ordered, lock)
    return ordered


def pin(repo: Path, environment: str, results: Iterable[ImageResult], lock: ImageLock | None = None) -> bool:
    """Record pushed digests for ``environment`` in the lock (``lock``: as read already); True when it changed."""
    before = lock if lock is not None else read_lock(repo)
    pushed = {r.name: LockEntry(digest=r.digest, tag=r.tag, source_hash=r.source_hash) for r in results if r.digest}
    updated = with_entries(before, environment, pushed)
    if updated == before:
        return False
    write_lock(repo, updated)
    return True
