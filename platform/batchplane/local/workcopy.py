"""Working copies of the rendered roots, pointed at the local AWS.

A local run never modifies the committed ``environments/``: the root is copied
to ``.batchplane/work/environments/<env>/`` (beside a link to ``modules/``, so
the roots' relative module sources resolve), and an override file points the
AWS provider at the emulator, acting in the environment's own account (see
:mod:`batchplane.local.accounts`). A variables file makes the jobs runnable
there: images from the local registry, and the emulator's endpoint and
credentials in every container.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.local.accounts import LOCAL_SECRET, S3Backend, local_role_arn

OVERRIDE_FILE = "batchplane_local_override.tf"
LOCAL_VARS_FILE = "batchplane_local.auto.tfvars.json"

# Every service the rendered roots and their modules call.
EMULATED_SERVICES = (
    "batch", "cloudwatch", "dynamodb", "ec2", "ecr", "events", "iam", "kms", "logs",
    "s3", "scheduler", "secretsmanager", "sfn", "sns", "sqs", "ssm", "sts",
)  # fmt: skip

_COPY_IGNORE = shutil.ignore_patterns(
    layout.TERRAFORM_WORK_DIR, "*.tfstate", "*.tfstate.*", "*.tfplan", layout.ROOT_STATE_DIR
)

STAND_IN_NETWORK: dict[str, Any] = {
    "create": True,
    "cidr": "10.250.0.0/16",
    "availability_zones": 2,
    "vpc_id": None,
    "subnet_ids": None,
    "security_group_ids": None,
}
"""Local mode only: replaces a root's existing network, which the emulator cannot have."""


def backend_override(endpoint: str, s3: S3Backend | None) -> str:
    """Local state, or the spec's S3 backend pointed at the emulator's S3 (same lockfile semantics)."""
    if s3 is None:
        return 'terraform {\n  backend "local" {\n    path = "terraform.tfstate"\n  }\n}\n\n'
    return (
        "terraform {\n"
        '  backend "s3" {\n'
        f'    bucket                      = "{s3.bucket}"\n'
        f'    key                         = "{s3.key}"\n'
        f'    region                      = "{s3.region}"\n'
        "    use_lockfile                = true\n"
        "    encrypt                     = true\n"
        f'    access_key                  = "{LOCAL_SECRET}"\n'
        f'    secret_key                  = "{LOCAL_SECRET}"\n'
        "    skip_credentials_validation = true\n"
        "    skip_requesting_account_id  = true\n"
        "    skip_metadata_api_check     = true\n"
        "    skip_region_validation      = true\n"
        "    use_path_style              = true\n"
        f'    endpoints = {{ s3 = "{endpoint}", sts = "{endpoint}" }}\n'
        "  }\n"
        "}\n\n"
    )


def provider_override(endpoint: str, account_id: str, s3: S3Backend | None = None) -> str:
    """HCL override: backend, credentials, account switch and endpoints of the emulator."""
    endpoints = "\n".join(f'    {service:<14} = "{endpoint}"' for service in EMULATED_SERVICES)
    provider = (
        'provider "aws" {\n'
        f'  access_key                  = "{LOCAL_SECRET}"\n'
        f'  secret_key                  = "{LOCAL_SECRET}"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n\n"
        "  assume_role {\n"
        f'    role_arn = "{local_role_arn(account_id)}"\n'
        "  }\n\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )
    header = "# Written by batchplane for local mode: the AWS provider talks to the emulator.\n"
    return header + backend_override(endpoint, s3) + provider


@dataclass(frozen=True)
class LocalJobs:
    """How local job definitions differ: the registry their images come from, extra environment."""

    registry_host: str | None
    environment: dict[str, str]


def job_environment(endpoint: str, region: str, access_key_id: str) -> dict[str, str]:
    """What a local job container needs to reach the emulator as its environment's account."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET,
    }


def local_jobs(values: Mapping[str, Any], registry_host: str | None, environment: Mapping[str, str]) -> dict[str, Any]:
    """The ``jobs`` variable of a root, made runnable on the emulator.

    Images come from the local registry (same ``<platform>/<image>`` path and
    digest: a digest names the same image in every registry), and each
    container gets ``environment`` on top of its own.
    """
    jobs: dict[str, Any] = {}
    for name, job in values.items():
        image = str(job["image"])
        if registry_host is not None:
            # An external registry's URL may carry a path of its own; the local one has none.
            path = "/".join(image.split("/")[-2:])
            image = f"{registry_host}/{path}"
        jobs[name] = {**job, "image": image, "environment": {**(job.get("environment") or {}), **environment}}
    return jobs


def prepare_workdir(
    repo: Path,
    root: str,
    endpoint: str,
    account_id: str,
    *,
    work: Path | None = None,
    s3: S3Backend | None = None,
    jobs: LocalJobs | None = None,
) -> Path:
    """Refresh the local working copy of ``environments/<root>`` and return its path.

    Generated files are refreshed from the committed root; local state, the
    ``.terraform`` directory and the lock file of the working copy are kept.
    """
    base = (work or repo / layout.WORK_DIR).resolve()
    source = layout.root_dir(repo, root)
    target = layout.root_dir(base, root)
    target.mkdir(parents=True, exist_ok=True)
    modules_link = base / layout.MODULES_DIR
    if not modules_link.exists():
        modules_link.symlink_to(os.path.relpath((repo / layout.MODULES_DIR).resolve(), base), target_is_directory=True)
    for stale in target.glob("*.tf*"):
        if (
            stale.is_file()
            and stale.name != layout.TERRAFORM_LOCK_FILE
            and not stale.name.endswith((".tfstate", ".tfstate.backup"))
        ):
            stale.unlink()
    shutil.copytree(source, target, ignore=_COPY_IGNORE, dirs_exist_ok=True)
    (target / OVERRIDE_FILE).write_text(provider_override(endpoint, account_id, s3), encoding="utf-8")
    local_vars: dict[str, Any] = {}
    values = json.loads((target / "terraform.tfvars.json").read_text(encoding="utf-8"))
    if jobs is not None and isinstance(values.get("jobs"), dict):
        local_vars["jobs"] = local_jobs(values["jobs"], jobs.registry_host, jobs.environment)
    network = values.get("network")
    if isinstance(network, dict) and not network.get("create"):
        # The emulator cannot hold an existing network's ids: a stand-in network takes its place.
        local_vars["network"] = {**STAND_IN_NETWORK, "assign_public_ip": bool(network.get("assign_public_ip"))}
    from batchplane.render.roots import to_json  # the renderer's JSON style; imported late (jinja2 is slow to load)

    (target / LOCAL_VARS_FILE).write_text(to_json(local_vars), encoding="utf-8")
    return target
