"""``jobs new``: a job image folder and its spec entry, added all or nothing.

Everything is decided and checked in memory first: the name, the queue, the
edited spec text (parsed like ``validate`` does), the spec rules of the policy
gate, and the rendered roots (compared with disk, which refuses foreign files).
Only then are the image folder, ``platform.yaml`` and ``environments/`` written;
a failure while writing restores what was there before.

The spec is edited as text: the new entry is inserted after the last job, so
every other byte of the file (comments, blank lines, quoting, flow mappings)
stays as it was. ruamel.yaml's round trip is the fallback for the shapes a
text insertion cannot handle (``jobs: {}``, ``jobs: ~``); the result is
verified either way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import keyword
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode, FileSystemError, SpecError
from batchplane.files import atomic_write
from batchplane.images.lock import read_lock
from batchplane.policy.findings import Finding, PolicyFailedError
from batchplane.policy.gate import Request, run_check
from batchplane.render import Changes, compare, render, write
from batchplane.spec import Spec, parse_spec
from batchplane.spec.models import NAME_PATTERN, Platform

IMAGES_DIR = layout.IMAGES_DIR
DEFAULT_QUEUE = "default"
VCPUS = 1
MEMORY_MIB = 2048
"""1 vCPU and 2 GiB: whole vCPUs for EC2 and a valid Fargate pair, so one default fits every queue."""
TIMEOUT = "1h"
SPOT_ATTEMPTS = 3
SPOT_RECLAIM_REASON = "Host EC2*"
IDENTITY_ACTION = "sts:GetCallerIdentity"
"""The one call the scaffolded program makes. AWS answers it for any identity, so granting it grants
nothing; the statement says in the spec what the new job does with AWS."""

# Packages a job image's package must not be named after: the image folder's tests/ directory,
# this tool, and what the image installs or its tests import (it would shadow them on sys.path).
_TAKEN_PACKAGES = frozenset(
    {
        "tests",
        "batchplane",
        "boto3",
        "botocore",
        "jmespath",
        "dateutil",
        "s3transfer",
        "six",
        "urllib3",
        "pytest",
        "moto",
    }
)


class ScaffoldError(BatchplaneError):
    """The job cannot be scaffolded as asked (name taken, unknown queue, ...): nothing was changed."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class NewJob:
    """The decisions for one new job type."""

    name: str
    queue: str
    interruptible: bool
    fargate: bool
    spot: bool
    """The queue has Spot capacity (in some environment): the job retries a reclaimed host."""

    @property
    def package(self) -> str:
        return package_of(self.name)

    def entry(self) -> dict[str, Any]:
        """The spec entry, as plain values."""
        retry: dict[str, Any] = {"attempts": 1}
        if self.spot:
            retry = {
                "attempts": SPOT_ATTEMPTS,
                "on_exit": [{"on_status_reason": SPOT_RECLAIM_REASON, "action": "retry"}],
            }
        return {
            "image": self.name,
            "queue": self.queue,
            "vcpus": VCPUS,
            "memory_mib": MEMORY_MIB,
            "command": ["python", "-m", self.package],
            "timeout": TIMEOUT,
            "retry": retry,
            "interruptible": self.interruptible,
            "statements": [{"effect": "Allow", "actions": [IDENTITY_ACTION], "resources": ["*"]}],
        }


@dataclass(frozen=True)
class Scaffolded:
    """What ``new_job`` wrote."""

    job: NewJob
    spec_path: Path
    image_dir: Path
    image_files: tuple[str, ...]
    """Paths relative to the repository, sorted."""
    render_changes: Changes

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.name,
            "package": self.job.package,
            "queue": self.job.queue,
            "interruptible": self.job.interruptible,
            "fargate": self.job.fargate,
            "spec": str(self.spec_path),
            "entry": self.job.entry(),
            "image_files": list(self.image_files),
            "rendered": {
                "added": self.render_changes.added,
                "changed": self.render_changes.changed,
                "removed": self.render_changes.removed,
            },
        }


def package_of(name: str) -> str:
    """The image's Python package: the job name with ``_`` for ``-``."""
    return name.replace("-", "_")


# --- decisions ------------------------------------------------------------------


def check_name(name: str, spec: Spec) -> None:
    """A valid, free name: not a job, not a folder under job_images/, not a package it would shadow."""
    if not re.match(NAME_PATTERN, name):
        raise ScaffoldError(
            f"job name {name!r}: use lowercase letters, digits and '-', starting with a letter, at most 32 characters"
        )
    if name in spec.platform.jobs:
        raise ScaffoldError(f"job {name!r} already exists in {spec.path.name} (jobs.{name}): choose another name")
    folder = spec.root / IMAGES_DIR / name
    if folder.exists() or folder.is_symlink():
        raise ScaffoldError(f"{IMAGES_DIR}/{name} already exists: choose another name")
    package = package_of(name)
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in _TAKEN_PACKAGES:
        raise ScaffoldError(
            f"job name {name!r}: its package {package!r} would shadow the Python module of that name; choose another"
        )


def _platforms(spec: Spec) -> list[Platform]:
    """The base platform and every environment's resolved one (overrides may change compute kinds)."""
    return [spec.platform, *(spec.env(env) for env in spec.environments)]


def _is_fargate(platform: Platform, queue: str) -> bool:
    return all(platform.compute[c].is_fargate for c in platform.queues[queue].compute)


def _has_spot(platform: Platform, queue: str) -> bool:
    return any(platform.compute[c].is_spot for c in platform.queues[queue].compute)


def choose(
    spec: Spec, name: str, queue: str | None = None, interruptible: bool | None = None, fargate: bool = False
) -> NewJob:
    """Queue and interruptibility for a new job.

    Without ``--queue``: among the queues that fit the flags (Fargate ones for
    ``fargate``, ones without Spot for ``interruptible=False``), ``default``
    if it is one of them, else the first in the spec. ``interruptible``
    defaults to whether the queue has Spot capacity.
    """
    check_name(name, spec)
    platforms = _platforms(spec)
    queues = list(spec.platform.queues)
    if queue is not None:
        if queue not in spec.platform.queues:
            raise ScaffoldError(f"no queue named {queue!r} (the spec has: {', '.join(queues) or 'none'})")
        if fargate and not all(_is_fargate(p, queue) for p in platforms):
            fargate_queues = [q for q in queues if all(_is_fargate(p, q) for p in platforms)]
            raise ScaffoldError(
                f"--fargate: queue {queue!r} is not a Fargate queue "
                f"(Fargate queues: {', '.join(fargate_queues) or 'none'})"
            )
    else:
        candidates = queues
        if fargate:
            candidates = [q for q in candidates if all(_is_fargate(p, q) for p in platforms)]
        if interruptible is False:
            candidates = [q for q in candidates if not any(_has_spot(p, q) for p in platforms)]
        if not candidates:
            asked = [
                flag for flag, on in (("--fargate", fargate), ("--no-interruptible", interruptible is False)) if on
            ]
            fits = f"fits {' '.join(asked)}" if asked else "exists"
            raise ScaffoldError(f"no queue in {spec.path.name} {fits}: add one under queues, or name one with --queue")
        queue = DEFAULT_QUEUE if DEFAULT_QUEUE in candidates else candidates[0]
    spot = any(_has_spot(p, queue) for p in platforms)
    return NewJob(
        name=name,
        queue=queue,
        interruptible=spot if interruptible is None else interruptible,
        fargate=all(_is_fargate(p, queue) for p in platforms),
        spot=spot,
    )


# --- the spec edit --------------------------------------------------------------


def _plain(value: str) -> str:
    """A YAML scalar: plain when PyYAML (the loader, YAML 1.1) reads it back as this string, else quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_-]*", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def entry_lines(job: NewJob, indent: int, step: int, dash: int) -> list[str]:
    """The spec entry as block YAML in the file's own indentation."""
    entry = job.entry()
    pad = " " * (indent + step)
    lines = [
        f"{' ' * indent}{_plain(job.name)}:",
        f"{pad}image: {_plain(entry['image'])}",
        f"{pad}queue: {_plain(entry['queue'])}",
        f"{pad}vcpus: {entry['vcpus']}",
        f"{pad}memory_mib: {entry['memory_mib']}",
        f"{pad}command: [{', '.join(_plain(part) if part != '-m' else part for part in entry['command'])}]",
        f"{pad}timeout: {entry['timeout']}",
    ]
    retry = entry["retry"]
    if "on_exit" in retry:
        inner = " " * (indent + 2 * step)
        rule = retry["on_exit"][0]
        lines += [
            f"{pad}retry:",
            f"{inner}attempts: {retry['attempts']}",
            f"{inner}on_exit:",
            f"{' ' * (indent + 2 * step + dash)}- {{on_status_reason: {json.dumps(rule['on_status_reason'])}, "
            f"action: {rule['action']}}}",
        ]
    else:
        lines.append(f"{pad}retry: {{attempts: {retry['attempts']}}}")
    lines.append(f"{pad}interruptible: {'true' if entry['interruptible'] else 'false'}")
    statement = entry["statements"][0]
    actions, resources = json.dumps(statement["actions"]), json.dumps(statement["resources"])
    lines += [
        f"{pad}statements:",
        f"{' ' * (indent + step + dash)}- {{effect: {statement['effect']}, "
        f"actions: {actions}, resources: {resources}}}",
    ]
    return lines


def add_job(text: str, job: NewJob) -> str:
    """``text`` with the job appended under ``jobs:``, the rest of the file unchanged (verified)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        edited = _insert(text, job, newline)
    except _CannotInsert:
        edited = None
    if edited is None or not _adds_exactly(text, edited, job):
        edited = _round_trip(text, job)
        if not _adds_exactly(text, edited, job):
            raise ScaffoldError(
                "cannot add the job to the spec without changing the rest of it; add this entry under jobs: "
                "by hand and run `batchplane render`:\n" + "\n".join(entry_lines(job, 2, 2, 2))
            )
    return edited


class _CannotInsert(Exception):
    """The text has a shape the insertion does not handle."""


def _insert(text: str, job: NewJob, newline: str) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise _CannotInsert
    keys = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "jobs"]
    dash = _dash_offset(root, text)
    if not keys:
        block = newline.join(["jobs:", *entry_lines(job, 2, 2, dash)]) + newline
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        return text + separator + block
    jobs_key, jobs = keys[0]
    if not isinstance(jobs, yaml.MappingNode) or jobs.flow_style or not jobs.value:
        raise _CannotInsert
    first_key = jobs.value[0][0]
    indent = first_key.start_mark.column
    step = indent - jobs_key.start_mark.column
    if step <= 0:
        raise _CannotInsert
    position = _end_of_line(text, _deepest_last(jobs).end_mark.index)
    position = _skip_own_comments(text, position, indent)
    lines = entry_lines(job, indent, step, dash)
    if _blank_between_jobs(text, jobs):
        lines.insert(0, "")
    block = newline.join(lines) + newline
    before = text[:position]
    if before and not before.endswith(("\n", "\r")):
        before += newline
    return before + block + text[position:]


def _deepest_last(node: yaml.Node) -> yaml.Node:
    """The node whose text ends a block collection: its last value, recursively."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _end_of_line(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (after its line break); ``index`` itself at a line start."""
    if index == 0 or text[index - 1] == "\n":
        return index
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _skip_own_comments(text: str, position: int, indent: int) -> int:
    """Past comment lines indented deeper than the job names: they belong to the last job."""
    while position < len(text):
        end = text.find("\n", position)
        line = text[position : len(text) if end < 0 else end + 1]
        stripped = line.lstrip(" ")
        if not stripped.startswith("#") or len(line) - len(stripped) <= indent:
            break
        position += len(line)
    return position


def _blank_between_jobs(text: str, jobs: yaml.MappingNode) -> bool:
    """Whether the file separates job entries with a blank line (judged on the second entry)."""
    if len(jobs.value) < 2:
        return False
    lines = text.splitlines()
    line = jobs.value[1][0].start_mark.line
    return line > 0 and not lines[line - 1].strip()


def _dash_offset(root: yaml.Node, text: str) -> int:
    """How far the file indents ``- `` under its key (0 or 2), from the first block sequence in it."""
    lines = text.splitlines()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, key_column = stack.pop(0)
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, key.start_mark.column) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
            item = node.value[0].start_mark
            dash: int = lines[item.line].rfind("-", 0, item.column) if item.line < len(lines) else -1
            return max(0, dash - key_column) if dash >= 0 else 2
    return 2


def _round_trip(text: str, job: NewJob) -> str:
    """The fallback: ruamel.yaml's round trip keeps comments, maybe not every detail of the layout."""
    handler = YAML()
    handler.preserve_quotes = True
    handler.width = 4096
    handler.indent(mapping=2, sequence=4, offset=2)
    document = handler.load(text)
    if not isinstance(document, CommentedMap):
        raise ScaffoldError("the spec's top level is not a mapping")
    entry = CommentedMap()
    for key, value in job.entry().items():
        entry[key] = _commented(value)
    jobs = document.get("jobs")
    if not isinstance(jobs, CommentedMap) or not jobs:
        jobs = CommentedMap()
        document["jobs"] = jobs
    jobs[job.name] = entry
    stream = io.StringIO()
    handler.dump(document, stream)
    return stream.getvalue()


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap((k, _commented(v)) for k, v in value.items())
        if all(not isinstance(v, dict | list) for v in value.values()):
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_commented(v) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            sequence.fa.set_flow_style()
        return sequence
    return value


def _adds_exactly(before: str, after: str, job: NewJob) -> bool:
    """``after`` reads as ``before`` plus the job as the last entry of jobs."""
    try:
        old, new = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError:
        return False
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    old_jobs = old.pop("jobs", None) or {}
    new_jobs = new.pop("jobs", None)
    if not isinstance(old_jobs, dict) or not isinstance(new_jobs, dict):
        return False
    return old == new and list(new_jobs) == [*old_jobs, job.name] and new_jobs == {**old_jobs, job.name: job.entry()}


# --- the image folder -------------------------------------------------------------


def image_files(job: NewJob) -> dict[str, str]:
    """The job image folder's files, by path relative to it."""
    package = job.package
    values = {"__NAME__": job.name, "__PACKAGE__": package}

    def fill(template: str) -> str:
        for marker, value in values.items():
            template = template.replace(marker, value)
        return template

    return {
        "Dockerfile": fill(_DOCKERFILE),
        ".dockerignore": _DOCKERIGNORE,
        "requirements.txt": _REQUIREMENTS,
        "README.md": fill(_README),
        f"{package}/__init__.py": fill(_INIT),
        f"{package}/__main__.py": fill(_MAIN),
        f"{package}/job.py": fill(_JOB),
        f"tests/test_{package}.py": fill(_TEST),
    }


# --- all or nothing ---------------------------------------------------------------


def new_job(
    spec_path: Path,
    name: str,
    *,
    queue: str | None = None,
    interruptible: bool | None = None,
    fargate: bool = False,
    today: dt.date | None = None,
) -> Scaffolded:
    """Scaffold job_images/NAME and its spec entry, check both, write them, render. Nothing on failure."""
    original = spec_path.read_bytes()
    text = original.decode("utf-8")
    spec = parse_spec(text, path=spec_path)
    job = choose(spec, name, queue, interruptible, fargate)
    edited = add_job(text, job)
    try:
        new_spec = parse_spec(edited, path=spec_path, check_images=False)  # the image folder comes below
    except SpecError as exc:
        problems = "\n".join(f"  {p.path}: {p.message}" for p in exc.problems)
        raise ScaffoldError(f"the new job would make {spec_path.name} invalid:\n{problems}") from None
    _gate(spec, new_spec, today)
    rendered = render(new_spec, read_lock(spec.root))
    changes = compare(spec.root, rendered)  # refuses foreign files before anything is written

    files = image_files(job)
    image_dir = spec.root / IMAGES_DIR / name
    backup = {p: (spec.root / p).read_bytes() for p in [*changes.changed, *changes.removed]}
    written: list[str] = []
    try:
        _write_folder(image_dir, files)
        written.append("folder")
        if spec_path.read_bytes() != original:
            raise ScaffoldError(f"{spec_path.name} changed while the job was being added: run `jobs new` again")
        atomic_write(spec_path, edited.encode("utf-8"))
        written.append("spec")
        write(spec.root, rendered, changes)
    except BaseException:
        _restore(spec.root, written, image_dir, spec_path, original, changes, backup)
        raise
    prefix = image_dir.relative_to(spec.root).as_posix()
    return Scaffolded(
        job=job,
        spec_path=spec_path,
        image_dir=image_dir,
        image_files=tuple(sorted(f"{prefix}/{path}" for path in files)),
        render_changes=changes,
    )


def _gate(before: Spec, after: Spec, today: dt.date | None) -> None:
    """The spec rules on the edited spec: refuse when it has a blocking finding the current spec lacks."""

    def key(finding: Finding) -> tuple[str, str, str, str, str]:
        return finding.id, finding.environment, finding.spec_path, finding.address, finding.message

    known = {
        key(f) for f in run_check(before, Request(before.environments, spec_only=True, today=today)).blocking("low")
    }
    outcome = run_check(after, Request(after.environments, spec_only=True, today=today))
    new = [f for f in outcome.blocking("low") if key(f) not in known]
    if new:
        listed = "\n".join(f"  {f.id} ({f.severity}) {f.environment}: {f.spec_path}: {f.message}" for f in new)
        hint = ""
        if any(f.id == "BP-SPOT-001" for f in new):
            calm = [q for q in after.platform.queues if not any(_has_spot(p, q) for p in _platforms(after))]
            hint = f"\na job that is not interruptible needs a queue without Spot compute: {', '.join(calm) or 'none'}"
        raise PolicyFailedError(f"the new job would fail the policy gate, so nothing was written:\n{listed}{hint}")


def _write_folder(target: Path, files: dict[str, str]) -> None:
    """The whole folder appears at once: built beside its final place, then renamed."""
    try:
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise FileSystemError(target, "create", exc) from None
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8"))
        staging.chmod(0o777 & ~_umask())
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise FileSystemError(target, "create", exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _restore(
    root: Path,
    written: list[str],
    image_dir: Path,
    spec_path: Path,
    original: bytes,
    changes: Changes,
    backup: dict[str, bytes],
) -> None:
    """Undo a half-done scaffold: rendered files, spec, folder."""
    if "spec" in written:
        for path in changes.added:
            (root / path).unlink(missing_ok=True)
        for path, data in backup.items():
            _replace_or_create(root / path, data)
        atomic_write(spec_path, original)
    if "folder" in written:
        shutil.rmtree(image_dir, ignore_errors=True)


def _replace_or_create(target: Path, data: bytes) -> None:
    if target.exists():
        atomic_write(target, data)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# --- templates ----------------------------------------------------------------------
# The Dockerfile, .dockerignore and requirements.txt are the other images' own, on purpose:
# one way to build every image (tests/unit/test_scaffold.py compares them).

_DOCKERFILE = """\
# The job image for `python -m __PACKAGE__` (see README.md). No ENTRYPOINT: the Batch job
# definition's `command` decides what runs.
#
# BASE_IMAGE: any Debian-like image with python3 and pip. Elsewhere the default python:3.12-slim
# works as it is; where no image registry is reachable (the machines this project is built on),
# scripts/base-image.sh builds batchplane/python-base:bookworm (Debian bookworm, Python 3.11)
# locally and the build gets --build-arg BASE_IMAGE=batchplane/python-base:bookworm.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PYTHONPATH=/opt/job/site-packages:/opt/job

# An extra CA bundle for pip (a TLS-inspecting proxy): the builder may add ca-bundle.crt to the
# build context. The [t] glob keeps this COPY valid when it is absent.
COPY requirements.txt ca-bundle.cr[t] /tmp/build/
# --target keeps the dependencies out of the system Python (Debian marks it externally managed,
# PEP 668) and works the same on python:3.12-slim. The python symlink covers bases that only
# have python3, since job definitions run `python -m ...`.
RUN set -eu; \\
    if [ -f /tmp/build/ca-bundle.crt ]; then export PIP_CERT=/tmp/build/ca-bundle.crt; fi; \\
    python3 -m pip install --target /opt/job/site-packages --requirement /tmp/build/requirements.txt; \\
    rm -rf /tmp/build; \\
    command -v python >/dev/null || ln -s "$(command -v python3)" /usr/local/bin/python; \\
    useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin job

WORKDIR /opt/job
USER 10001:10001
# Last, so that a change to the code rebuilds this one layer only.
COPY __PACKAGE__/ /opt/job/__PACKAGE__/
"""

_DOCKERIGNORE = """\
# Only the package and requirements.txt go into the image.
tests/
sample/
README.md
**/__pycache__/
**/*.pyc
"""

_REQUIREMENTS = """\
# Pinned, with every transitive dependency, so a rebuild gets the same code.
# boto3 >= 1.28 reads AWS_ENDPOINT_URL itself: the job reaches an emulator through it.
boto3==1.35.49
botocore==1.35.99
jmespath==1.1.0
python-dateutil==2.9.0.post0
s3transfer==0.10.4
six==1.17.0
urllib3==2.8.0
"""

_INIT = '''\
"""__NAME__: a batchplane job (replace this line with what it does)."""
'''

_MAIN = """\
import sys

from __PACKAGE__.job import main

sys.exit(main())
"""

_JOB = '''\
"""Log what the job was started with and whom it runs as, and exit 0: a job, ready for its real work.

Scaffolded by `batchplane jobs new`. The job definition in platform.yaml runs
`python -m __PACKAGE__`; what follows in its `command` (literal words, or `Ref::name` parameters
filled in at submission) arrives here as arguments. Put the work in run().
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("__NAME__")

EXIT_OK = 0
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_AWS = 3  # an AWS call failed (no route to AWS, no credentials, access denied, throttling)

# Set by AWS Batch in every job container (absent when run by hand).
BATCH_VARIABLES = ("AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ATTEMPT", "AWS_BATCH_JQ_NAME", "AWS_BATCH_CE_NAME")


def region() -> str | None:
    """The job's region: Batch sets AWS_REGION on AWS; against an emulator, set it yourself."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def aws_client(service: str) -> Any:
    """A boto3 client in the job's region.

    boto3 (>= 1.28) reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or to the
    emulator of `batchplane ... --local`. Grant each call the job makes under `access` in
    platform.yaml: its role allows nothing else.
    """
    return boto3.client(service, region_name=region())


def run(arguments: Sequence[str], sts: Any = None) -> None:
    """The job's work, one log line per step (CloudWatch Logs shows them)."""
    LOG.info("started with %d argument(s): %s", len(arguments), " ".join(arguments) or "(none)")
    for name in BATCH_VARIABLES:
        LOG.info("%s=%s", name, os.environ.get(name, "-"))
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or "the AWS default"
    LOG.info("AWS endpoint: %s; region: %s", endpoint, region() or "not set")
    # GetCallerIdentity needs no permission: it proves the job reaches AWS with its role's credentials.
    identity = (sts or aws_client("sts")).get_caller_identity()
    LOG.info("running as %s", identity["Arn"])
    LOG.info("done")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # not where it found credentials
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m __PACKAGE__", description=description)
    parser.add_argument("arguments", nargs="*", metavar="ARG", help="the job's arguments (logged)")
    args = parser.parse_args(argv)
    try:
        run(args.arguments)
    except (BotoCoreError, ClientError) as error:
        LOG.error("AWS call failed: %s", error)
        return EXIT_AWS
    return EXIT_OK
'''

_TEST = '''\
"""The job, in-process and as `python -m __PACKAGE__`: no Docker, no AWS."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from __PACKAGE__.job import EXIT_AWS, aws_client, run

if TYPE_CHECKING:
    import pytest

IMAGE = Path(__file__).resolve().parents[1]
ARN = "arn:aws:sts::111111111111:assumed-role/acme-dev-__NAME__/job"


class FakeSts:
    def get_caller_identity(self) -> dict[str, Any]:
        return {"Account": "111111111111", "Arn": ARN, "UserId": "AROAEXAMPLE:job"}


def test_logs_its_arguments_and_whom_it_runs_as(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="__NAME__"):
        run(["s3://bucket/key", "2026-01-31"], sts=FakeSts())

    messages = [record.getMessage() for record in caplog.records if record.name == "__NAME__"]
    assert messages[0] == "started with 2 argument(s): s3://bucket/key 2026-01-31"
    assert messages[-2:] == [f"running as {ARN}", "done"]


def test_aws_calls_go_to_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5055")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)

    client = aws_client("sts")

    assert (client.meta.endpoint_url, client.meta.region_name) == ("http://127.0.0.1:5055", "eu-west-1")


def test_as_python_m_it_exits_3_when_aws_does_not_answer() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {
        "PYTHONPATH": str(IMAGE),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
    }
    command = [sys.executable, "-m", "__PACKAGE__", "hello"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == EXIT_AWS, done.stdout + done.stderr
    assert "INFO __NAME__: started with 1 argument(s): hello" in done.stdout
    assert f'AWS call failed: Could not connect to the endpoint URL: "{endpoint}/"' in done.stdout
'''

_README = """\
# __NAME__

Scaffolded by `batchplane jobs new __NAME__`: a job that logs what it was started with and whom
it runs as, and exits 0. Replace `run()` in `__PACKAGE__/job.py` with the job's work, and this
paragraph with what it does. The job definition in `platform.yaml` (`jobs.__NAME__`) runs

```
python -m __PACKAGE__ [ARG]...
```

Steps, each logged as one line on stdout (CloudWatch Logs shows them): the arguments, the AWS
Batch variables of the attempt, the AWS endpoint and region, the caller identity (STS
`GetCallerIdentity`, which AWS answers for any credentials: it proves the job reaches AWS).

## Inputs

| what | where | notes |
|---|---|---|
| arguments | the spec's `command`, after `python -m __PACKAGE__` | literal words, or `Ref::name` parameters |
| AWS endpoint | env `AWS_ENDPOINT_URL` (optional) | boto3 (≥ 1.28) sends every call there |
| region | env `AWS_REGION` or `AWS_DEFAULT_REGION` | set by Batch on AWS; set it yourself elsewhere |
| credentials | the job role on AWS | it may call `sts:GetCallerIdentity` and nothing else |

A `Ref::name` parameter needs a default under the job's `parameters`; `batchplane jobs submit
__NAME__ --param name=value` overrides it. In local mode `AWS_ENDPOINT_URL` points at the
emulator; on AWS it is unset.

## Growing it

- Call AWS through `aws_client(service)` and grant each call least-privilege under `access`
  in `platform.yaml` (`{service: s3, actions: [read], resources: ["bucket/prefix/*"]}`);
  `batchplane check --spec-only` judges the grants in milliseconds.
- Add dependencies to `requirements.txt`, pinned with their transitive dependencies.
- Give failures exit codes the spec's `retry.on_exit` can tell apart (as csv-ingest does: 1
  for bad input, not retried).

## Exit codes

| code | meaning |
|---|---|
| 0 | done |
| 2 | bad arguments (argparse) |
| 3 | an AWS call failed (no route to AWS, no credentials, access denied, throttling) |

## Files and building

`__PACKAGE__/` is the program (`python -m __PACKAGE__ --help`; Python ≥ 3.11 and boto3 only),
`tests/` its unit tests (CI runs them through `tests/unit/test_job_images.py`, or run
`python -m pytest tests` in this folder). Building works as for csv-ingest (see its README):
`BASE_IMAGE` build argument (default `python:3.12-slim`, here
`batchplane/python-base:bookworm` from `scripts/base-image.sh`), optional `ca-bundle.crt` in the
build context for pip, non-root user, no `ENTRYPOINT`.

```
batchplane up --env dev --local                           # build, push, pin and apply on the local AWS
batchplane jobs submit __NAME__ --env dev --local --wait  # run it
```
"""
