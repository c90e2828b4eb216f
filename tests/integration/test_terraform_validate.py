"""Every rendered root and every module example passes fmt and validate with the real provider."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from batchplane.terraform import TerraformRunner
from tests.conftest import REPO

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
