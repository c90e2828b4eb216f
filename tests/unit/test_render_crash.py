"""A render killed at any point leaves a tree that ``render --check`` reports and the next ``render`` repairs.

The kill is simulated in-process: after the N-th file operation (a temporary
file created, a rename, an unlink, a folder removed) every further operation
raises, as if the process had received SIGKILL: even ``atomic_write``'s own
clean-up of its temporary file does not happen.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.images.lock import ImageLock
from batchplane.render import compare, render, write
from batchplane.spec import load_spec
from tests.conftest import EXAMPLE_SPEC, REPO

runner = CliRunner()


class Killed(BaseException):
    """Not an Exception: nothing in batchplane may catch it, as nothing catches SIGKILL."""


@contextmanager
def killed_after(operations: int) -> Iterator[None]:
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count > operations:
            raise Killed

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def operation(*args: Any, **kwargs: Any) -> Any:
            tick()
            return real(*args, **kwargs)

        return operation

    real_open = os.open

    def open_(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        if flags & os.O_CREAT:  # the temporary file now exists, still empty: a kill here leaves it
            try:
                tick()
            except Killed:
                os.close(fd)
                raise
        return fd

    saved = {name: getattr(os, name) for name in ("replace", "unlink", "rmdir", "open")}
    os.replace, os.unlink, os.rmdir = counted(os.replace), counted(os.unlink), counted(os.rmdir)
    os.open = open_  # type: ignore[assignment]
    try:
        yield
    finally:
        for name, real in saved.items():
            setattr(os, name, real)


def copy_repo(target: Path) -> Path:
    target.mkdir()
    shutil.copy2(EXAMPLE_SPEC, target / "platform.yaml")
    for name in ("job_images", "environments", "modules"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return target


def change_spec(repo: Path, *, drop_test: bool, priority: bool, external: bool) -> None:
    spec = repo / "platform.yaml"
    text = spec.read_text()
    if drop_test:  # the whole environments/test root goes
        text = text[: text.index("  test:\n")] + text[text.index("  prod:\n") :]
    if priority:  # one file changes in every environment root
        text = text.replace("priority: 100", "priority: 99")
    if external:  # environments/shared goes
        text = text.replace("type: ecr\n", "type: external\n  url: registry.example.com/acme\n")
    spec.write_text(text)


def render_in_process(repo: Path) -> None:
    rendered = render(load_spec(repo / "platform.yaml"), ImageLock())
    write(repo, rendered, compare(repo, rendered))


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def check(repo: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["render", "--check", "--spec", str(repo / "platform.yaml")])
    return result.exit_code, result.output


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drop_test=st.booleans(),
    priority=st.booleans(),
    external=st.booleans(),
    kills=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=2),
)
def test_a_killed_render_is_reported_and_then_repaired(
    drop_test: bool, priority: bool, external: bool, kills: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        expected_repo = copy_repo(Path(scratch) / "expected")
        change_spec(expected_repo, drop_test=drop_test, priority=priority, external=external)
        render_in_process(expected_repo)
        expected = files_under(expected_repo / "environments")

        repo = copy_repo(Path(scratch) / "killed")
        change_spec(repo, drop_test=drop_test, priority=priority, external=external)
        for kill_at in kills:  # one kill, or a second one during the run that should have repaired the first
            try:
                with killed_after(kill_at):
                    render_in_process(repo)
            except Killed:
                pass

        exit_code, output = check(repo)
        if files_under(repo / "environments") != expected:
            assert exit_code == 6, output
            assert "up to date" not in output
        else:
            assert exit_code == 0, output

        render_in_process(repo)
        assert files_under(repo / "environments") == expected
        assert check(repo)[0] == 0
