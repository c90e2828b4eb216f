"""Job image sources: which images a repository has, what their build context holds, the source hash, provenance.

An image is a folder ``job_images/<name>/`` with a Dockerfile. What decides
whether it must be rebuilt is its *source hash*: the files its build context
holds (after ``.dockerignore``), plus the base image it is built on.

Tags are ``git-<short sha>``, with ``-dirty`` when the image's folder has
uncommitted changes, or ``src-<hash>`` outside a git work tree. Tags are for
people; job definitions use the digest. The OCI ``created`` label is the
commit time for a clean folder (so a rebuild of the same commit gives the same
image), the build time otherwise.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode
from batchplane.spec.loader import Spec

# Never part of a build context, whatever .dockerignore says.
ALWAYS_IGNORED = ("**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.ruff_cache", "**/.mypy_cache")


@dataclass(frozen=True)
class ImageSource:
    """One job image folder and what its build depends on."""

    name: str
    directory: Path
    build_args: tuple[tuple[str, str], ...]
    files: tuple[str, ...]

    @property
    def source_hash(self) -> str:
        digest = hashlib.sha256()
        for key, value in self.build_args:
            digest.update(f"arg {key}={value}\0".encode())
        for relative in self.files:
            digest.update(f"file {relative}\0".encode())
            digest.update((self.directory / relative).read_bytes())
            digest.update(b"\0")
        return f"sha256:{digest.hexdigest()}"


def available(repo: Path) -> list[str]:
    """Every image of a repository: the folders of job_images/ that hold a Dockerfile."""
    base = repo / layout.IMAGES_DIR
    return sorted(p.parent.name for p in base.glob("*/Dockerfile")) if base.is_dir() else []


def build_args() -> tuple[tuple[str, str], ...]:
    """BASE_IMAGE from $BATCHPLANE_BASE_IMAGE when set; else each Dockerfile's own default."""
    base = os.environ.get("BATCHPLANE_BASE_IMAGE", "").strip()
    return (("BASE_IMAGE", base),) if base else ()


def _context_files(directory: Path) -> tuple[str, ...]:
    from docker.utils.build import exclude_paths

    patterns = list(ALWAYS_IGNORED)
    ignore_file = directory / ".dockerignore"
    if ignore_file.is_file():
        lines = ignore_file.read_text(encoding="utf-8").splitlines()
        patterns += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    included = exclude_paths(str(directory), patterns)
    return tuple(sorted(p for p in included if (directory / p).is_file()))


class UnknownImageError(BatchplaneError):
    """An image name that is no folder under job_images/."""

    exit_code = ExitCode.USAGE


def sources(repo: Path, names: Iterable[str] | None = None) -> list[ImageSource]:
    """The sources of ``names`` (every image when None); an unknown name is a usage error."""
    known = available(repo)
    wanted = list(dict.fromkeys(names)) if names else known
    unknown = [n for n in wanted if n not in known]
    if unknown:
        listed = ", ".join(known) or "none"
        raise UnknownImageError(
            f"no job image named {', '.join(unknown)} "
            f"(a folder under {layout.IMAGES_DIR}/ with a Dockerfile; known: {listed})"
        )
    args = build_args()
    folders = {name: layout.image_dir(repo, name) for name in wanted}
    return [ImageSource(name, folder, args, _context_files(folder)) for name, folder in folders.items()]


def spec_images(spec: Spec) -> list[str]:
    """The images the spec's jobs use."""
    return sorted({job.image for job in spec.platform.jobs.values()})


@dataclass(frozen=True)
class Provenance:
    tag: str
    labels: dict[str, str]


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance(repo: Path, source: ImageSource, now: datetime | None = None) -> Provenance:
    """Tag and OCI labels of a build from the git state of the image's folder."""
    sha = _git(repo, "rev-parse", "--short=7", "HEAD")
    relative = source.directory.relative_to(repo).as_posix()
    dirty = bool(_git(repo, "status", "--porcelain", "--", relative)) if sha else True
    stamp = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    if sha:
        tag = f"git-{sha}-dirty" if dirty else f"git-{sha}"
        full = _git(repo, "rev-parse", "HEAD") or sha
        revision = f"{full}-dirty" if dirty else full
        created = stamp if dirty else (_git(repo, "show", "-s", "--format=%cI", "HEAD") or stamp)
    else:
        tag = f"src-{source.source_hash.removeprefix('sha256:')[:12]}"
        revision, created = "unknown", stamp
    labels = {
        "org.opencontainers.image.title": source.name,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.source": (_git(repo, "remote", "get-url", "origin") if sha else None)
        or f"{layout.IMAGES_DIR}/{source.name}",
        "org.batchplane.source-hash": source.source_hash,
    }
    return Provenance(tag, labels)
