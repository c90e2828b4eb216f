"""Atomic writes keep permissions, honour the umask, and leave nothing behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from batchplane.files import OutputError, atomic_write, write_output


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
