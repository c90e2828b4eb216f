"""The Docker engine: the build context as a tar, one build, one push (retried while the registry does not answer).

A registry that does not answer is retried with backoff (``PUSH_ATTEMPTS``),
then the push fails naming the registry (exit 5).
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchplane.errors import ToolError
from batchplane.images.registry import Registry
from batchplane.images.sources import ImageSource, provenance

CA_BUNDLE_IN_CONTEXT = "ca-bundle.crt"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PUSH_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5


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
