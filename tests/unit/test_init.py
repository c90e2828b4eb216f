"""`batchplane init` and `upgrade`: a new platform repository, and its vendored modules kept current."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane import __version__, layout
from batchplane.cli.app import app
from batchplane.platform_repo.bundled import bundled_dir
from batchplane.platform_repo.vendor import STAMP, digest, tree_files

runner = CliRunner()


def _cli(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(app, list(args))
    finally:
        os.chdir(before)
    return result.exit_code, result.output


@pytest.fixture
def initialized(tmp_path: Path) -> Path:
    target = tmp_path / "acme-batch"
    code, output = _cli("init", str(target), "--name", "acme", "--accounts", "dev=123456789012,prod=210987654321")
    assert code == 0, output
    return target


def test_init_writes_a_repository_that_validates_renders_and_is_vendored(initialized: Path) -> None:
    spec = (initialized / layout.SPEC_FILENAME).read_text()
    assert "name: acme" in spec
    assert '"123456789012"' in spec
    assert '"210987654321"' in spec
    assert "  hello:\n" in spec  # added by `jobs new`'s code
    assert (layout.image_dir(initialized, "hello") / "Dockerfile").is_file()
    assert (layout.image_dir(initialized, "hello") / "hello" / "job.py").is_file()
    for name in (".gitignore", ".pre-commit-config.yaml", "README.md", ".github/workflows/policy.yml"):
        assert (initialized / name).is_file(), name
    assert os.access(initialized / ".github/scripts/changed-roots.sh", os.X_OK)
    action = (initialized / ".github/actions/setup-batchplane/action.yml").read_text()
    assert f"pip install 'batchplane=={__version__}'" in action
    assert "pip install .\n" not in action
    for tree in (layout.MODULES_DIR, layout.CHECKS_DIR):
        stamp = json.loads((initialized / tree / STAMP).read_text())
        assert stamp["batchplane"] == __version__
        installed = tree_files(bundled_dir(tree))
        assert installed, tree
        assert stamp["files"] == {path: digest(data) for path, data in installed.items()}
        assert tree_files(initialized / tree) == installed
    assert _cli("validate", cwd=initialized)[0] == 0
    code, output = _cli("render", "--check", cwd=initialized)
    assert code == 0, output
    assert {p.name for p in (initialized / layout.ENVIRONMENTS_DIR).iterdir()} == {"shared", "dev", "prod"}


def test_init_refuses_a_non_empty_folder_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    code, output = _cli("init", str(target))
    assert code == 2
    assert "not empty" in output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no staging folder left behind


def test_init_into_an_empty_folder_and_a_failed_init_leaves_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _cli("init", str(empty))[0] == 0
    assert (empty / layout.SPEC_FILENAME).is_file()
    code, output = _cli("init", str(tmp_path / "bad"), "--accounts", "staging=123456789012")
    assert code == 2, output
    code, output = _cli("init", str(tmp_path / "bad"), "--accounts", "dev=not-an-account")
    assert code == 2
    assert "environments.dev.account_id" in output
    code, output = _cli("init", str(tmp_path / "Bad_Name"))
    assert code == 2
    assert "--name" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_two_accounts_for_one_environment_are_refused_not_one_silently_kept(tmp_path: Path) -> None:
    code, output = _cli("init", str(tmp_path / "twice"), "--accounts", "dev=111111111111,dev=333333333333")
    assert code == 2, output
    assert "--accounts names dev twice" in output
    assert not (tmp_path / "twice").exists()


def test_upgrade_refuses_local_edits_and_force_revendors(initialized: Path) -> None:
    module = initialized / layout.MODULES_DIR / "job_queue" / "main.tf"
    original = module.read_bytes()
    module.write_bytes(original + b"# tuned here\n")

    code, output = _cli("render", "--check", cwd=initialized)
    assert code == 6
    assert "modules/job_queue/main.tf: edited here" in output

    code, output = _cli("upgrade", cwd=initialized)
    assert code == 6
    assert "-# tuned here" in output  # the diff is shown
    assert "edited in this repository" in output
    assert module.read_bytes() == original + b"# tuned here\n"

    code, output = _cli("upgrade", "--force", cwd=initialized)
    assert code == 0, output
    assert module.read_bytes() == original
    code, output = _cli("render", "--check", cwd=initialized)
    assert code == 0, output
    code, output = _cli("upgrade", cwd=initialized)
    assert code == 0
    assert "nothing to upgrade" in output


def test_outdated_vendored_files_upgrade_without_force(initialized: Path) -> None:
    # A copy vendored from another batchplane: the file and its stamp agree, the installed one differs.
    module = initialized / layout.MODULES_DIR / "job_queue" / "main.tf"
    older = b"# an older job_queue module\n"
    module.write_bytes(older)
    stamp_path = initialized / layout.MODULES_DIR / STAMP
    stamp = json.loads(stamp_path.read_text())
    stamp["files"]["job_queue/main.tf"] = digest(older)
    stamp["batchplane"] = "0.0.1"
    stamp_path.write_text(json.dumps(stamp))
    (initialized / layout.MODULES_DIR / "retired").mkdir()
    (initialized / layout.MODULES_DIR / "retired" / "main.tf").write_text("# gone from batchplane\n")
    stamp["files"]["retired/main.tf"] = digest(b"# gone from batchplane\n")
    stamp_path.write_text(json.dumps(stamp))

    code, output = _cli("render", "--check", "--json", cwd=initialized)
    assert code == 6
    document, _ = json.JSONDecoder().raw_decode(output)
    assert document["vendored"] == [
        {"path": "modules/job_queue/main.tf", "state": "outdated"},
        {"path": "modules/retired/main.tf", "state": "outdated"},
    ]
    code, output = _cli("upgrade", cwd=initialized)
    assert code == 0, output
    assert "~ modules/job_queue/main.tf (outdated)" in output
    assert "- modules/retired/main.tf (outdated)" in output
    assert not (initialized / layout.MODULES_DIR / "retired").exists()
    assert json.loads(stamp_path.read_text())["batchplane"] == __version__
    assert _cli("render", "--check", cwd=initialized)[0] == 0


def test_the_installed_trees_are_this_repositorys_and_it_is_not_vendored() -> None:
    # The example platform maintains modules/ and policies/checks/ itself: no stamp, so render
    # --check never reports them; what batchplane ships is exactly them.
    root = Path(__file__).resolve().parents[2]
    for tree in (layout.MODULES_DIR, layout.CHECKS_DIR):
        assert not (root / tree / STAMP).exists()
        assert tree_files(bundled_dir(tree)) == tree_files(root / tree)
