"""render on hostile file-system shapes: it refuses (or repairs) and never touches anything outside the repository.

Each test builds one shape inside a copy of the example repository, next to an
``outside`` folder that stands for the rest of the machine, runs ``render`` as
a user would and compares a before/after snapshot of both: inode, mtime, size
and content of every outside file (and of every symlink's target), and, for a
refusal, of everything under ``environments/``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from tests.fs_snapshot import Entry, entry

runner = CliRunner()

Snapshot = dict[str, Entry]


def snapshot(top: Path) -> Snapshot:
    """Every entry under ``top``, never following a symlink."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            found[str(path.relative_to(top))] = entry(path)
    return found


@pytest.fixture
def outside(platform_repo: Path) -> Path:
    """A folder outside the repository, with a file render must never touch."""
    folder = platform_repo.parent / "outside"
    folder.mkdir()
    (folder / "victim.tf").write_text("# not batchplane's\n")
    return folder


def render(repo: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["render", *extra, "--spec", str(repo / "platform.yaml")])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def assert_refused(repo: Path, outside: Path, code: int, *needles: str, check: bool = False) -> None:
    """render refuses with ``code``, names every needle, and changes nothing inside or outside the repository."""
    before_outside, before_envs = snapshot(outside), snapshot(repo / "environments")
    exit_code, output = render(repo, *(["--check"] if check else []))
    assert exit_code == code, output
    for needle in needles:
        assert needle in output, output
    assert "up to date" not in output
    assert snapshot(outside) == before_outside
    assert snapshot(repo / "environments") == before_envs


def edit_manifest(repo: Path, env: str, entries: list[str]) -> None:
    manifest = repo / f"environments/{env}/.batchplane/manifest.json"
    listed = json.loads(manifest.read_text())["generated"]
    manifest.write_text(json.dumps({"generated": listed + entries}))


def drop_environment(repo: Path, env: str, following: str) -> None:
    spec = repo / "platform.yaml"
    text = spec.read_text()
    spec.write_text(text[: text.index(f"  {env}:\n")] + text[text.index(f"  {following}:\n") :])


def test_a_symlinked_root_is_refused(platform_repo: Path, outside: Path) -> None:
    shutil.move(platform_repo / "environments/dev", outside / "dev")
    (platform_repo / "environments/dev").symlink_to(outside / "dev")
    assert_refused(platform_repo, outside, 5, "environments/dev is a symlink", "remove it and run render again")


def test_a_symlinked_environments_folder_is_refused(platform_repo: Path, outside: Path) -> None:
    shutil.move(platform_repo / "environments", outside / "environments")
    (platform_repo / "environments").symlink_to(outside / "environments")
    before = snapshot(outside)
    exit_code, output = render(platform_repo)
    assert exit_code == 5, output
    assert "environments is a symlink" in output
    assert snapshot(outside) == before


def test_a_symlinked_batchplane_folder_is_refused_and_its_sourcemap_left_alone(
    platform_repo: Path, outside: Path
) -> None:
    shutil.move(platform_repo / "environments/dev/.batchplane", outside / "bp")
    (platform_repo / "environments/dev/.batchplane").symlink_to(outside / "bp")
    spec = platform_repo / "platform.yaml"
    spec.write_text(spec.read_text().replace("priority: 100", "priority: 99"))  # the sourcemap would change
    assert_refused(platform_repo, outside, 5, "environments/dev/.batchplane is a symlink")


def test_render_check_reads_nothing_through_a_symlinked_batchplane_folder(platform_repo: Path, outside: Path) -> None:
    shutil.move(platform_repo / "environments/dev/.batchplane", outside / "bp")
    (platform_repo / "environments/dev/.batchplane").symlink_to(outside / "bp")
    assert_refused(platform_repo, outside, 5, "environments/dev/.batchplane is a symlink", check=True)


def test_a_manifest_entry_through_a_symlinked_subfolder_is_never_deleted(platform_repo: Path, outside: Path) -> None:
    (platform_repo / "environments/dev/mods").symlink_to(outside)
    edit_manifest(platform_repo, "dev", ["mods/victim.tf"])
    assert_refused(platform_repo, outside, 5, "environments/dev/mods is a symlink")
    assert (outside / "victim.tf").exists()


def test_an_owned_file_that_is_a_symlink_out_of_the_repository_is_refused(platform_repo: Path, outside: Path) -> None:
    main_tf = platform_repo / "environments/dev/main.tf"
    shutil.move(main_tf, outside / "main.tf")
    main_tf.symlink_to(outside / "main.tf")
    assert_refused(platform_repo, outside, 5, "environments/dev/main.tf is a symlink")


def test_a_symlinked_manifest_is_refused(platform_repo: Path, outside: Path) -> None:
    manifest = platform_repo / "environments/dev/.batchplane/manifest.json"
    (outside / "manifest.json").write_text(json.dumps({"generated": ["../../../outside/victim.tf"]}))
    manifest.unlink()
    manifest.symlink_to(outside / "manifest.json")
    assert_refused(platform_repo, outside, 5, "environments/dev/.batchplane/manifest.json is a symlink")


def test_a_manifest_entry_leaving_its_root_is_never_acted_on(platform_repo: Path, outside: Path) -> None:
    edit_manifest(platform_repo, "dev", ["../../../outside/victim.tf"])
    assert_refused(
        platform_repo,
        outside,
        3,
        "environments/dev/.batchplane/manifest.json: entry '../../../outside/victim.tf' is not a file inside",
    )


def test_an_absolute_manifest_entry_is_never_acted_on(platform_repo: Path, outside: Path) -> None:
    victim = str(outside / "victim.tf")
    edit_manifest(platform_repo, "dev", [victim])
    assert_refused(platform_repo, outside, 3, f"entry '{victim}' is not a file inside environments/dev")


def test_a_removed_root_whose_manifest_names_a_sibling_root_deletes_nothing(platform_repo: Path, outside: Path) -> None:
    drop_environment(platform_repo, "test", "prod")
    edit_manifest(platform_repo, "test", ["../dev/main.tf"])
    assert_refused(platform_repo, outside, 3, "environments/test/.batchplane/manifest.json: entry '../dev/main.tf'")


def test_a_removed_root_that_is_a_symlink_deletes_nothing_outside(platform_repo: Path, outside: Path) -> None:
    drop_environment(platform_repo, "test", "prod")
    shutil.move(platform_repo / "environments/test", outside / "test")
    (platform_repo / "environments/test").symlink_to(outside / "test")
    assert_refused(platform_repo, outside, 5, "environments/test is a symlink")


def test_a_manifest_that_is_a_folder_is_refused(platform_repo: Path, outside: Path) -> None:
    manifest = platform_repo / "environments/dev/.batchplane/manifest.json"
    manifest.unlink()
    manifest.mkdir()
    assert_refused(platform_repo, outside, 5, "environments/dev/.batchplane/manifest.json is a folder")


def test_a_manifest_that_is_not_json_is_refused_at_its_line(platform_repo: Path, outside: Path) -> None:
    (platform_repo / "environments/dev/.batchplane/manifest.json").write_text('{\n  "generated": [oops]\n}\n')
    assert_refused(platform_repo, outside, 3, "environments/dev/.batchplane/manifest.json:2: not valid JSON")


def test_a_manifest_of_the_wrong_shape_is_refused(platform_repo: Path, outside: Path) -> None:
    (platform_repo / "environments/dev/.batchplane/manifest.json").write_text('{"generated": "main.tf"}\n')
    assert_refused(platform_repo, outside, 3, 'expected {"generated": ["file", ...]}')


def test_a_manifest_that_is_not_utf8_is_refused(platform_repo: Path, outside: Path) -> None:
    (platform_repo / "environments/dev/.batchplane/manifest.json").write_bytes(b'{"generated": ["\xff"]}')
    assert_refused(platform_repo, outside, 3, "environments/dev/.batchplane/manifest.json: not UTF-8")


def test_a_fifo_where_an_owned_file_is_is_refused_without_blocking(platform_repo: Path, outside: Path) -> None:
    outputs = platform_repo / "environments/dev/outputs.tf"
    outputs.unlink()
    os.mkfifo(outputs)
    assert_refused(platform_repo, outside, 5, "environments/dev/outputs.tf is not a regular file")
    assert stat.S_ISFIFO(outputs.lstat().st_mode)


def test_a_file_where_the_batchplane_folder_belongs_is_refused(platform_repo: Path, outside: Path) -> None:
    folder = platform_repo / "environments/dev/.batchplane"
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")
    assert_refused(platform_repo, outside, 5, "environments/dev/.batchplane is not a folder")


def test_a_leftover_temporary_file_is_reported_then_removed(platform_repo: Path, outside: Path) -> None:
    leftover = platform_repo / "environments/dev/.main.tf.0123456789ab.tmp"
    leftover.write_text("# half a main.tf\n")
    before = snapshot(outside)
    exit_code, output = render(platform_repo, "--check")
    assert exit_code == 6, output
    assert "- environments/dev/.main.tf.0123456789ab.tmp" in output
    exit_code, output = render(platform_repo)
    assert exit_code == 0, output
    assert not leftover.exists()
    assert render(platform_repo, "--check")[0] == 0
    assert snapshot(outside) == before


def test_a_symlink_named_like_a_temporary_file_is_left_alone(platform_repo: Path, outside: Path) -> None:
    link = platform_repo / "environments/dev/.main.tf.0123456789ab.tmp"
    link.symlink_to(outside / "victim.tf")
    before = snapshot(outside)
    exit_code, output = render(platform_repo)
    assert exit_code == 0, output
    assert link.is_symlink()
    assert snapshot(outside) == before


def test_a_users_own_symlink_in_a_root_is_not_batchplanes_business(platform_repo: Path, outside: Path) -> None:
    mine = platform_repo / "environments/dev/extra.tf"
    mine.symlink_to(outside / "victim.tf")
    before = snapshot(outside)
    spec = platform_repo / "platform.yaml"
    spec.write_text(spec.read_text().replace("priority: 100", "priority: 99"))
    exit_code, output = render(platform_repo)
    assert exit_code == 0, output
    assert mine.is_symlink()
    assert snapshot(outside) == before
