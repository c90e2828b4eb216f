"""The workspace a command builds once from its options: spec, local or real AWS, registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchplane.errors import ExitCode, ToolError
from batchplane.images.registry import Registry
from batchplane.spec import load_spec
from batchplane.workspace import open_workspace


def test_real_aws_pushes_to_the_specs_registry_and_has_no_emulator(platform_repo: Path) -> None:
    spec = load_spec(platform_repo / "platform.yaml")
    workspace = open_workspace(spec, use_local=False, runs_terraform=True)
    assert workspace.spec is spec
    assert workspace.root == platform_repo
    assert (workspace.local, workspace.emulator) == (False, None)
    assert workspace.registry == Registry(
        "111111111111.dkr.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1", "111111111111"
    )


def test_local_without_a_local_registry_is_refused_naming_how_to_start_it(platform_repo: Path) -> None:
    spec = load_spec(platform_repo / "platform.yaml")
    with pytest.raises(ToolError, match="batchplane local start") as refused:
        open_workspace(spec, use_local=True, runs_terraform=False)
    assert refused.value.exit_code == ExitCode.TOOL_FAILED


def test_local_terraform_without_a_running_local_aws_is_refused(platform_repo: Path) -> None:
    spec = load_spec(platform_repo / "platform.yaml")
    with pytest.raises(ToolError, match="not running"):
        open_workspace(spec, use_local=True, runs_terraform=True)
