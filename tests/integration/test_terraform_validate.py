"""Every rendered root and every module example passes fmt and validate with the real provider."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchplane.images.lock import ImageLock
from batchplane.render import compare, render, write
from batchplane.spec import load_spec
from batchplane.terraform.runner import TerraformRunner
from tests.conftest import EXAMPLE_SPEC, REPO

ROOTS = sorted(p.name for p in (REPO / "environments").iterdir() if (p / "main.tf").is_file())
EXAMPLES = sorted(p.relative_to(REPO / "modules").as_posix() for p in (REPO / "modules").glob("*/examples/*"))


def test_every_root_and_module_is_terraform_fmt_clean() -> None:
    for directory in (REPO / "modules", REPO / "environments"):
        result = TerraformRunner(directory).fmt_check()
        assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


def test_there_is_something_to_validate() -> None:
    assert {"shared", "dev", "test", "prod"} <= set(ROOTS)
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("root", ROOTS)
def test_rendered_root_validates(root: str, tmp_path: Path) -> None:
    work = tmp_path / "environments" / root
    shutil.copytree(REPO / "environments" / root, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    (tmp_path / "modules").symlink_to(REPO / "modules", target_is_directory=True)
    runner = TerraformRunner(work)
    runner.init(backend=False)
    runner.validate()
    # The committed lock file is what init used: init did not have to change it.
    assert (work / ".terraform.lock.hcl").read_text() == (
        REPO / "environments" / root / ".terraform.lock.hcl"
    ).read_text()


@pytest.mark.parametrize("example", EXAMPLES)
def test_module_example_validates(example: str, tmp_path: Path) -> None:
    shutil.copytree(REPO / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    runner = TerraformRunner(tmp_path / "modules" / example)
    runner.init(backend=False)
    runner.validate()


def test_provider_is_linked_from_the_plugin_cache_not_copied(tmp_path: Path) -> None:
    work = tmp_path / "environments" / "dev"
    shutil.copytree(REPO / "environments" / "dev", work)
    (tmp_path / "modules").symlink_to(REPO / "modules", target_is_directory=True)
    TerraformRunner(work).init(backend=False)
    size = sum(f.lstat().st_size for f in (work / ".terraform").rglob("*") if not f.is_dir())
    assert size < 5 * 1024 * 1024, f".terraform holds {size} bytes: the provider was copied"


# Platforms unlike the example, each edited from it: the roots they render must be valid too.
def _fargate_only_external_registry_s3_state(spec: dict[str, Any]) -> None:
    spec["compute"] = {name: c for name, c in spec["compute"].items() if c["kind"].startswith("fargate")}
    spec["queues"] = {"light": spec["queues"]["light"]}
    for job in spec["jobs"].values():
        job["queue"] = "light"
    for environment in spec["environments"].values():
        environment.get("overrides", {}).pop("compute", None)
    spec["registry"] = {"type": "external", "url": "registry.example.com:5000/acme"}
    spec["state"] = {"backend": "s3", "s3": {"bucket": "acme-tf-state", "key_prefix": "batch"}}


def _environments_without_jobs(spec: dict[str, Any]) -> None:
    spec["compute"], spec["queues"], spec["jobs"], spec["pipelines"] = {}, {}, {}, {}
    for environment in spec["environments"].values():
        environment.pop("overrides", None)


def _govcloud_with_reused_networks(spec: dict[str, Any]) -> None:
    spec["region"] = "us-gov-west-1"
    spec["registry"] = {"type": "ecr", "account_id": "444444444444"}
    for environment in spec["environments"].values():
        environment["network"] = {"vpc_id": "vpc-1", "subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]}
        environment.pop("overrides", None)
    spec["jobs"]["csv-ingest"]["secrets"] = {
        "DB_PASSWORD": "arn:aws-us-gov:ssm:us-gov-west-1:111111111111:parameter/acme/db-password"
    }


EDGE_SPECS: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "fargate-only, external registry, S3 state": (_fargate_only_external_registry_s3_state, ["dev", "test", "prod"]),
    "environments without jobs": (_environments_without_jobs, ["shared", "dev", "test", "prod"]),
    "GovCloud, every network reused": (_govcloud_with_reused_networks, ["shared", "dev", "test", "prod"]),
}


@pytest.mark.parametrize("variant", sorted(EDGE_SPECS))
def test_edge_case_specs_render_roots_that_validate(variant: str, tmp_path: Path) -> None:
    edit, roots = EDGE_SPECS[variant]
    document = yaml.safe_load(EXAMPLE_SPEC.read_text())
    edit(document)
    (tmp_path / "platform.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    for name in ("modules", "job_images"):
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    rendered = render(load_spec(tmp_path / "platform.yaml"), ImageLock())
    write(tmp_path, rendered, compare(tmp_path, rendered))
    assert rendered.roots == tuple(f"environments/{root}" for root in roots)
    result = TerraformRunner(tmp_path / "environments").fmt_check()
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"
    for root in rendered.roots:
        runner = TerraformRunner(tmp_path / root)
        runner.init(backend=False)
        runner.validate()
