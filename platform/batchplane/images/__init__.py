"""Job images: build them with the Docker engine, push them, pin their digests.

An image is a folder ``job_images/<name>/`` with a Dockerfile. What decides
whether it must be rebuilt is its *source hash*: the files its build context
holds (after ``.dockerignore``), plus the base image it is built on. An image
whose source hash equals the one recorded for the environment in
``images.lock.json``, and whose digest the registry still has, is neither
rebuilt nor pushed.

Decisions, also in the README:

* Tags are ``git-<short sha>``, with ``-dirty`` when the image's folder has
  uncommitted changes, or ``src-<hash>`` outside a git work tree. Tags are for
  people; job definitions use the digest.
* The OCI ``created`` label is the commit time for a clean folder (so a
  rebuild of the same commit gives the same image), the build time otherwise.
* The lock is written once, after every requested push succeeded, and
  atomically: a failed push leaves ``images.lock.json`` byte-identical.
* A registry that does not answer is retried with backoff
  (``PUSH_ATTEMPTS``), then the push fails naming the registry (exit 5).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode, RegistryError, ToolError
from batchplane.images.lock import ImageLock, LockEntry, read_lock, write_lock
from batchplane.spec.loader import Spec

IMAGES_DIR = layout.IMAGES_DIR
CA_BUNDLE_IN_CONTEXT = "ca-bundle.crt"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PUSH_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5
# Never part of a build context, whatever .dockerignore says.
ALWAYS_IGNORED = ("**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.ruff_cache", "**/.mypy_cache")
# ECR's answers that mean "no such image", as opposed to "could not ask".
_ECR_NOT_FOUND = ("ImageNotFoundException", "RepositoryNotFoundException")
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)

Reporter = Callable[[str], None]


class UnknownImageError(BatchplaneError):
    """An image name that is no folder under job_images/."""

    exit_code = ExitCode.USAGE


# --- sources ------------------------------------------------------------------


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
    base = repo / IMAGES_DIR
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


def sources(repo: Path, names: Iterable[str] | None = None) -> list[ImageSource]:
    """The sources of ``names`` (every image when None); an unknown name is a usage error."""
    known = available(repo)
    wanted = list(dict.fromkeys(names)) if names else known
    unknown = [n for n in wanted if n not in known]
    if unknown:
        listed = ", ".join(known) or "none"
        raise UnknownImageError(
            f"no job image named {', '.join(unknown)} (a folder under {IMAGES_DIR}/ with a Dockerfile; known: {listed})"
        )
    args = build_args()
    return [
        ImageSource(name, repo / IMAGES_DIR / name, args, _context_files(repo / IMAGES_DIR / name)) for name in wanted
    ]


def spec_images(spec: Spec) -> list[str]:
    """The images the spec's jobs use."""
    return sorted({job.image for job in spec.platform.jobs.values()})


# --- provenance ---------------------------------------------------------------


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
        or f"{IMAGES_DIR}/{source.name}",
        "org.batchplane.source-hash": source.source_hash,
    }
    return Provenance(tag, labels)


# --- registries ---------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """Where images are pushed: ECR, an external registry, or the local one."""

    host: str
    kind: Literal["ecr", "external", "local"]
    region: str = ""
    account_id: str = ""

    def repository(self, platform: str, image: str) -> str:
        return f"{self.host}/{platform}/{image}"

    def auth(self) -> dict[str, str] | None:
        """Docker credentials: an ECR token via boto3; None where docker's own config applies."""
        if self.kind != "ecr":
            return None
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data = boto3.client("ecr", region_name=self.region).get_authorization_token(registryIds=[self.account_id])
        except (BotoCoreError, ClientError) as exc:
            raise ToolError("ecr", [], f"no ECR login for {self.host}: {exc}") from None
        token = data["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
        return {"username": user, "password": password, "serveraddress": f"https://{self.host}"}

    def has(self, repository: str, digest: str) -> bool:
        """Whether the registry holds ``repository@digest``.

        Only the registry's own "not found" is False. A registry that cannot be
        asked (unreachable, credentials refused, TLS, a server error) raises
        :class:`RegistryError` (exit 5) naming the endpoint and the cause: that
        says nothing about the digest.
        """
        import urllib.error  # late: http.client costs ~60 ms at start-up
        import urllib.request

        path = repository.removeprefix(f"{self.host}/")
        if self.kind == "ecr":
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            endpoint = f"ECR {self.host}"
            try:
                boto3.client("ecr", region_name=self.region).describe_images(
                    registryId=self.account_id, repositoryName=path, imageIds=[{"imageDigest": digest}]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _ECR_NOT_FOUND:
                    return False
                raise RegistryError(endpoint, str(exc)) from None
            except BotoCoreError as exc:
                raise RegistryError(endpoint, str(exc)) from None
            return True
        scheme = "http" if self.kind == "local" else "https"
        url = f"{scheme}://{self.host}/v2/{path}/manifests/{digest}"
        request = urllib.request.Request(url, method="HEAD", headers={"Accept": _MANIFEST_TYPES})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            cause = "credentials refused" if exc.code in (401, 403) else "server error"
            raise RegistryError(url, f"HTTP {exc.code} {exc.reason} ({cause})") from None
        except urllib.error.URLError as exc:  # refused, no route, DNS, TLS verification
            raise RegistryError(url, f"unreachable: {exc.reason}") from None
        except OSError as exc:  # a timeout or a connection reset mid-answer
            raise RegistryError(url, f"unreachable: {exc}") from None


def registry_for(spec: Spec, local_registry: str | None) -> Registry:
    """The push target: the local registry in local mode, else the spec's registry."""
    platform = spec.platform
    if local_registry is not None:
        return Registry(local_registry, "local")
    if platform.registry.type == "external":
        return Registry(str(platform.registry.url), "external")
    suffix = "amazonaws.com.cn" if platform.region.startswith("cn-") else "amazonaws.com"
    account = platform.registry_account_id
    return Registry(f"{account}.dkr.ecr.{platform.region}.{suffix}", "ecr", platform.region, account)


# --- the Docker engine ----------------------------------------------------------


def docker_client() -> Any:
    """A low-level client of the engine ($DOCKER_HOST or the default socket), or a clear error."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.APIClient(base_url=os.environ.get("DOCKER_HOST") or None, timeout=600, version="auto")
        client.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise ToolError(
            "docker",
            [],
            f"no Docker engine answers at {where}: start one (as root on Debian: scripts/docker-engine.sh start)"
            f"\n{exc}",
        ) from None
    return client


def context_tar(source: ImageSource) -> bytes:
    """The build context in memory: the image's files plus the CA bundle, with fixed metadata.

    Fixed owners and times keep docker's layer cache valid across checkouts.
    The host's CA bundle (``$BATCHPLANE_BUILD_CA_BUNDLE``, default the Debian
    one; empty disables) lets pip work behind a TLS-inspecting proxy.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(relative, (source.directory / relative).read_bytes()) for relative in source.files]
        bundle = os.environ.get("BATCHPLANE_BUILD_CA_BUNDLE", DEFAULT_CA_BUNDLE)
        if bundle and Path(bundle).is_file() and CA_BUNDLE_IN_CONTEXT not in source.files:
            entries.append((CA_BUNDLE_IN_CONTEXT, Path(bundle).read_bytes()))
        for name, data in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o755 if os.access(source.directory / name, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class _BuildLog:
    step: str = ""
    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith("Step "):
                self.step = line
            if line.strip():
                self.lines.append(line.rstrip())
        del self.lines[:-40]


def build(client: Any, repo: Path, source: ImageSource, repository: str) -> tuple[str, str]:
    """Build one image; returns (tag, image id). A failed step raises with its output tail."""
    made = provenance(repo, source)
    log = _BuildLog()
    image_id = ""
    stream = client.build(
        fileobj=io.BytesIO(context_tar(source)),
        custom_context=True,
        tag=f"{repository}:{made.tag}",
        buildargs=dict(source.build_args),
        labels=made.labels,
        network_mode="host",
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    for chunk in stream:
        if "stream" in chunk:
            log.add(str(chunk["stream"]))
        if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
        if "error" in chunk:
            where = f" at {log.step}" if log.step else ""
            tail = "\n".join(log.lines[-20:])
            raise ToolError("docker", [], f"build of {source.name} failed{where}: {chunk['error'].strip()}\n{tail}")
    if not image_id:
        raise ToolError("docker", [], f"build of {source.name} ended without an image id\n" + "\n".join(log.lines))
    return made.tag, image_id


def _unreachable(message: str) -> bool:
    lowered = message.lower()
    return any(
        s in lowered
        for s in (
            "connection refused",
            "dial tcp",
            "i/o timeout",
            "no such host",
            ": eof",
            "connection reset",
            "503 service unavailable",
        )
    )


def push(client: Any, registry: Registry, repository: str, tag: str, auth: dict[str, str] | None) -> str:
    """Push ``repository:tag``; returns the manifest digest. Retries a registry that does not answer."""
    last = ""
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        digest = ""
        failure = ""
        try:
            for chunk in client.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                if "error" in chunk:
                    failure = str(chunk["error"]).strip()
                    break
                aux = chunk.get("aux")
                if isinstance(aux, dict) and str(aux.get("Digest", "")).startswith("sha256:"):
                    digest = str(aux["Digest"])
        except Exception as exc:  # the SDK raises its own and requests' errors alike
            failure = f"{type(exc).__name__}: {exc}"
        if digest and not failure:
            return digest
        last = failure or "the push ended without a digest"
        if not _unreachable(last) or attempt == PUSH_ATTEMPTS:
            break
        time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise ToolError(
        "registry",
        [],
        f"push of {repository}:{tag} to the registry {registry.host} failed after {attempt} attempt(s): {last}",
    )


# --- the whole operation ----------------------------------------------------------


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
        return {
            "image": self.name,
            "action": self.action,
            "tag": self.tag,
            "digest": self.digest,
            "source_hash": self.source_hash,
            "repository": self.repository,
        }


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


def plan_images(spec: Spec, names: Iterable[str] | None, registry: Registry, environment: str | None) -> Work:
    """Which images must be built: those not current for ``environment`` in ``registry``."""
    chosen = sources(spec.root, names)
    lock = read_lock(spec.root)
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
    work = plan_images(spec, names, registry, environment if push_to is not None else None)
    for result in work.current:
        (report or (lambda _m: None))(f"{result.name}: up to date ({result.tag}, {result.digest})")
    done = build_all(spec, work, report)
    if push_to is not None:
        done = push_all(work, done, report)
    results = {r.name: r for r in [*work.current, *done]}
    ordered = [results[name] for name in work.repositories]
    if push_to is not None and environment is not None:
        pin(spec.root, environment, ordered)
    return ordered


def pin(repo: Path, environment: str, results: Iterable[ImageResult]) -> bool:
    """Record pushed digests for ``environment`` in the lock; True when the lock changed."""
    lock = read_lock(repo)
    images = {name: dict(entries) for name, entries in lock.images.items()}
    for result in results:
        if result.digest is None:
            continue
        images.setdefault(result.name, {})[environment] = LockEntry(
            digest=result.digest, tag=result.tag, source_hash=result.source_hash
        )
    updated = ImageLock(version=lock.version, images=images)
    if updated == lock:
        return False
    write_lock(repo, updated)
    return True
