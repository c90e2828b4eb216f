"""A small spec that passes every rule, and ways to break it one rule at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from batchplane.images.lock import ImageLock
from batchplane.spec.loader import Spec, parse_spec

DIGEST = "sha256:" + "ab" * 32

BASE: dict[str, Any] = {
    "version": 1,
    "name": "acme",
    "region": "eu-west-1",
    "environments": {
        "dev": {
            "account_id": "111111111111",
            "network": {"create": True, "cidr": "10.10.0.0/16"},
            "max_vcpus": 64,
            "log_retention_days": 30,
        },
        "prod": {
            "account_id": "333333333333",
            "tier": "production",
            "network": {"create": True, "cidr": "10.30.0.0/16"},
            "max_vcpus": 64,
            "log_retention_days": 90,
        },
    },
    "compute": {
        "spot": {"kind": "ec2-spot", "instance_types": ["c6i.large"], "max_vcpus": 32},
        "ondemand": {"kind": "ec2", "instance_types": ["optimal"], "max_vcpus": 16},
    },
    "queues": {"default": {"priority": 1, "compute": ["spot", "ondemand"]}},
    "jobs": {
        "ingest": {
            "image": "ingest",
            "queue": "default",
            "vcpus": 1,
            "memory_mib": 2048,
            "command": ["python", "-m", "ingest"],
            "environment": {"TABLE_NAME": "products"},
            "timeout": "1h",
            "retry": {"attempts": 3, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]},
            "interruptible": True,
            "access": [{"service": "s3", "actions": ["read"], "resources": ["bucket/in/*"]}],
            "statements": [{"actions": ["cloudwatch:PutMetricData"], "resources": ["*"]}],
        }
    },
}


def spec_from(document: dict[str, Any], tmp_path: Path) -> Spec:
    path = tmp_path / "platform.yaml"
    text = yaml.safe_dump(document, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return parse_spec(text, path=path, check_images=False)


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def pinned_lock() -> ImageLock:
    entry = {"digest": DIGEST, "tag": "git-1", "source_hash": DIGEST}
    return ImageLock.model_validate({"images": {"ingest": {"dev": entry, "prod": entry}}})


def write_spec(directory: Path, *, breaks: bool = False) -> Path:
    """The base spec as a repository on disk (with its image folder); ``breaks``: iam:PassRole on * (BP-IAM-004)."""
    doc = base()
    if breaks:
        doc["jobs"]["ingest"]["statements"] = [{"actions": ["iam:PassRole"], "resources": ["*"]}]
    path = directory / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (directory / "job_images" / "ingest").mkdir(parents=True)
    (directory / "job_images" / "ingest" / "Dockerfile").write_text("FROM scratch\n")
    return path
