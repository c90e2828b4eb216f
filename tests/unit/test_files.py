"""Atomic writes keep permissions, honour the umask, and leave nothing behind."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from batchplane.errors import FileSystemError
from batchplane.files import OutputError, UnsafeFileError, atomic_write, write_output


def test_a_new_file_gets_the_umask_not_private_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.tf", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.tf").stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_permissions_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    target.chmod(0o750)
    atomic_write(target, b"new", durable=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sh"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "lock.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.json"]


@pytest.mark.parametrize("where", ["missing/report.json", "."])
def test_an_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path, where: str) -> None:
    with pytest.raises(OutputError) as raised:
        write_output(tmp_path / where, "{}")
    assert raised.value.exit_code == 2


def test_an_output_to_a_device_writes_through_and_keeps_the_device(tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    write_output(Path("/dev/null"), "{}")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_an_output_to_a_fifo_writes_through_and_keeps_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_output(fifo, "hello")
        assert os.read(reader, 100) == b"hello"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_an_output_symlink_named_by_the_user_is_followed_and_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_a_dash_output_is_standard_output(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_output(Path("-"), "to stdout")
    assert capfd.readouterr().out == "to stdout"
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_an_owned_file_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    owned = tmp_path / "main.tf"
    if kind == "symlink":
        owned.symlink_to(outside)
    else:
        os.mkfifo(owned)
    with pytest.raises(UnsafeFileError) as raised:
        atomic_write(owned, b"x")
    assert raised.value.exit_code == 5
    assert outside.read_text() == "keep"
    assert owned.is_symlink() if kind == "symlink" else stat.S_ISFIFO(owned.lstat().st_mode)


def _read_only(*args: object, **kwargs: object) -> int:
    raise OSError(errno.EROFS, "Read-only file system")


def test_a_refused_write_is_a_tool_failure_naming_the_file_and_leaves_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "images.lock.json"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", _read_only)
    with pytest.raises(FileSystemError) as raised:
        atomic_write(target, b"new")
    assert raised.value.exit_code == 5
    assert str(raised.value) == f"cannot write {target}: Read-only file system"
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.lock.json"]


def test_render_on_a_read_only_file_system_exits_5_naming_the_file(
    platform_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from batchplane.cli.app import app

    (platform_repo / "environments" / "dev" / "main.tf").unlink()
    monkeypatch.setattr(os, "open", _read_only)
    result = CliRunner().invoke(app, ["render", "--spec", str(platform_repo / "platform.yaml")])
    assert result.exit_code == 5, result.output
    assert "cannot write" in result.output
    assert "environments/dev/main.tf: Read-only file system" in result.output
    assert "Traceback" not in result.output


def test_jobs_new_on_a_read_only_file_system_exits_5_and_changes_nothing(
    platform_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from batchplane.cli.app import app

    spec = platform_repo / "platform.yaml"
    before = spec.read_bytes()
    monkeypatch.setattr(os, "mkdir", _read_only)
    monkeypatch.setattr(os, "open", _read_only)
    result = CliRunner().invoke(app, ["jobs", "new", "thumbnails", "--spec", str(spec)])
    assert result.exit_code == 5, result.output
    assert "Read-only file system" in result.output
    assert "Traceback" not in result.output
    assert spec.read_bytes() == before
    assert not (platform_repo / "job_images" / "thumbnails").exists()
