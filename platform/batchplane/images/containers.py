"""Container tests of job images: build an image, run its job against moto server, read what it wrote.

Every job image's ``tests/test_<package>_container.py`` (and the one ``jobs new``
scaffolds) uses these, so that a scaffolded image's test works in any platform
repository with batchplane installed:

- :func:`built_image` builds the image from the context ``batchplane images build``
  sends (the files ``.dockerignore`` keeps, plus the host's CA bundle), tagged for the
  test, and removes the tag afterwards (not the layers: the build cache stays);
- :func:`moto_server` starts the embedded AWS on a free loopback port, as ``--local``
  does, and :func:`reset` empties it between tests;
- :func:`run_job` runs the command and environment of ``jobs.<name>`` in the spec
  (``Ref::`` filled in) with testcontainers, on the host network, so the job reaches
  moto at ``http://127.0.0.1:PORT`` as job containers of ``--local`` do.

testcontainers is imported only here, when a test runs: it is a test dependency
(the dev extra), not one of batchplane's. Without a Docker engine,
:func:`require_engine` fails the test: a missing tool is never a skip.
"""

from __future__ import annotations

import io
import socket
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from batchplane.errors import ToolError
from batchplane.images.build import context_tar, docker_client
from batchplane.images.sources import sources
from batchplane.local.emulator import start_emulator, wait_until_healthy
from batchplane.local.processes import stop_process
from batchplane.spec.jobs import Job

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
Client = Callable[[str], Any]


@dataclass(frozen=True)
class Finished:
    """How a job's container ended: its exit code and everything it printed."""

    exit_code: int
    output: str


def require_engine() -> None:
    """Fail the calling test without a Docker engine: a missing tool is never a skip."""
    import pytest

    try:
        docker_client()
    except ToolError as error:
        pytest.fail(f"no Docker engine: {error}")


def _testcontainers() -> None:
    from testcontainers.core.config import testcontainers_config

    # Ryuk, testcontainers' reaper, is an image pulled from Docker Hub; every container here is
    # removed by its `with` block instead.
    testcontainers_config.ryuk_disabled = True


@contextmanager
def built_image(repo: Path, image: str) -> Iterator[str]:
    """The job image ``job_images/<image>`` of ``repo``, built; yields its test tag."""
    from testcontainers.core.image import DockerImage

    _testcontainers()
    (source,) = sources(repo, [image])
    tag = f"batchplane-test/{image}:{uuid.uuid4().hex[:12]}"
    built = DockerImage(
        path=source.directory,  # docker-py sends fileobj, the custom context, instead
        tag=tag,
        clean_up=False,
        custom_context=True,
        fileobj=io.BytesIO(context_tar(source)),
        buildargs=dict(source.build_args),
        network_mode="host",
        pull=False,
        forcerm=True,
    ).build()
    try:
        yield tag
    finally:
        built.get_docker_client().client.images.remove(tag)


@contextmanager
def moto_server(log_folder: Path) -> Iterator[str]:
    """moto server on a free loopback port; yields its endpoint, stops it by PID afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = start_emulator(port, log_folder / "moto.log")
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", timeout=60, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process.pid)


def reset(endpoint: str, region: str) -> Client:
    """Empty moto; returns a maker of boto3 clients with the credentials the job gets."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    return lambda service: boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def command_of(job: Job, arguments: tuple[str, ...] = (), parameters: Mapping[str, str] | None = None) -> list[str]:
    """The job's command, each ``Ref::name`` filled from ``parameters``, else the spec's defaults."""
    values = {**job.parameters, **(parameters or {})}
    command = [values[word.removeprefix("Ref::")] if word.startswith("Ref::") else word for word in job.command]
    return [*command, *arguments]


def run_job(image: str, endpoint: str, region: str, job: Job, *arguments: str, **parameters: str) -> Finished:
    """Run ``job``'s command and environment in ``image`` against moto at ``endpoint``, to its end."""
    from testcontainers.core.container import DockerContainer

    _testcontainers()
    environment = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region, **CREDENTIALS, **job.environment}
    container = (
        DockerContainer(image)
        .with_command(command_of(job, arguments, parameters))
        .with_envs(**environment)
        .with_kwargs(network_mode="host")
    )
    with container:
        status = container.get_wrapped_container().wait(timeout=120)
        stdout, stderr = container.get_logs()
    return Finished(int(status["StatusCode"]), (stdout + stderr).decode())
