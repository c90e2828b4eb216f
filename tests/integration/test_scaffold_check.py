"""A job scaffolded by `jobs new` passes the whole gate, real Checkov included, with zero findings."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from batchplane.scaffold.new_job import new_job
from tests.conftest import copy_example

pytestmark = pytest.mark.integration


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository with its rendered roots, modules and policies."""
    target = copy_example(tmp_path)
    return target


@pytest.mark.parametrize(
    ("name", "options"),
    [("report-export", {}), ("light-export", {"fargate": True}), ("steady-export", {"interruptible": False})],
    ids=["defaults", "fargate", "on-demand"],
)
def test_a_scaffolded_job_passes_the_full_check(repo: Path, name: str, options: dict[str, object]) -> None:
    new_job(repo / "platform.yaml", name, **options)  # type: ignore[arg-type]
    report = repo / "policy.xml"
    spec = str(repo / "platform.yaml")

    done = subprocess.run(
        [sys.executable, "-m", "batchplane", "check", "--spec", spec, "--format", "junit", "--output", str(report)],
        cwd=repo,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    cases = list(ET.parse(report).getroot().iter("testcase"))
    judged = {c.get("name", "") for c in cases if c.find("failure") is None and c.find("skipped") is None}
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert (done.returncode, failed) == (0, []), done.stderr
    # Checkov judged the new job's Terraform (not just the spec rules): its role policy and job definition.
    assert f'CKV_BP_1 module.job["{name}"].aws_iam_policy_document.job' in judged
    assert f'CKV_BP_5 module.job["{name}"].aws_batch_job_definition.this' in judged
