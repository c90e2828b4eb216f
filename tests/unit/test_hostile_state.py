"""Hostile state files and file systems: each a located error with its documented exit code, never a bug.

State files (``images.lock.json``, ``history.jsonl``, ``.batchplane/local/*.json``)
live in the user's tree and can be hand-edited, merged badly, truncated or
replaced by a folder. Corruption is exit 3 naming the file and line; the file
system refusing an operation is exit 5 naming the path and the operation; an
unusable registry is exit 5 naming the endpoint. Nothing is repaired silently.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane import layout
from batchplane.cli.app import app
from batchplane.errors import BatchplaneError, ExitCode, FileSystemError, RegistryError, StateFileError
from batchplane.files import UnsafeFileError
from batchplane.images.lock import ImageLock, LockEntry, read_lock, write_lock
from batchplane.images.pipeline import _current
from batchplane.images.registry import Registry
from batchplane.layout import LOCK_FILE
from batchplane.local import accounts, emulator
from batchplane.state import read_text
from batchplane.terraform import history
from tests.conftest import EXAMPLE_SPEC
from tests.unit.registry_stub import registry_answering

runner = CliRunner()
DIGEST = "sha256:" + "a" * 64
GOOD_RECORD = '{"at": "2026-01-01T00:00:00+00:00", "by": "ci", "environment": "dev", "event": "applied", "images": {}}'


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: its kind and, for files, a hash of its bytes."""
    seen: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            seen[str(path)] = "link"
        elif path.is_file():
            seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[str(path)] = "dir"
    return seen


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A spec in a fresh folder, run from inside it; nothing beside the folder may change."""
    target = tmp_path / "repo"
    target.mkdir()
    shutil.copy2(EXAMPLE_SPEC, target / "platform.yaml")
    monkeypatch.chdir(target)
    outside = _snapshot(tmp_path.parent) if tmp_path.parent.name.startswith("pytest-") else {}
    outside = {k: v for k, v in outside.items() if not k.startswith(str(tmp_path))}
    yield target
    after = _snapshot(tmp_path.parent) if outside else {}
    assert {k: v for k, v in after.items() if k in outside} == outside


def _check(repo: Path, *extra: str) -> tuple[int, str, str]:
    """`check --spec-only` (it reads the lock): exit code, stdout, stderr as one line."""
    result = runner.invoke(app, ["check", "--spec-only", "--spec", str(repo / "platform.yaml"), *extra])
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def _assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "this is a bug" not in stderr


# --- images.lock.json ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "located"),
    [
        pytest.param(b'{\n  "version": 1,\n  "images": {"x\xff": {}}\n}\n', ":3: expected UTF-8", id="not-utf8"),
        pytest.param(b'{\n  "version": 1,\n  "images": {\n', ":4: expected JSON", id="truncated"),
        pytest.param(b"", ":1: expected JSON", id="empty"),
        pytest.param(
            b'{\n  "images": {"a": {"dev": {"digest": 5, "tag": "t", "source_hash": "h"}}}\n}\n',
            ":2: expected ImageLock: images.a.dev.digest",
            id="digest-not-a-string",
        ),
        pytest.param(
            b'{\n  "images": {\n    "a": {"dev": {"digest": "sha256:zz", "tag": "t", "source_hash": "h"}}}\n}\n',
            ":3: expected ImageLock: images.a.dev.digest",
            id="digest-malformed",
        ),
        pytest.param(
            b'{\n  "version": 2,\n  "images": {}\n}\n', ":2: expected ImageLock: version", id="unknown-version"
        ),
        pytest.param(b'{\n  "version": "1"\n}\n', ":2: expected ImageLock: version", id="version-as-text"),
        pytest.param(b'[\n  "images"\n]\n', ":1: expected ImageLock", id="a-list"),
        pytest.param(b'{\n  "version": 1,\n  "pins": {}\n}\n', ":3: expected ImageLock: pins", id="unknown-key"),
        pytest.param(b'{\n  "images": {"a": []}\n}\n', ":2: expected ImageLock: images.a", id="environments-a-list"),
    ],
)
def test_a_corrupt_lock_is_exit_3_at_its_line(repo: Path, content: bytes, located: str) -> None:
    (repo / LOCK_FILE).write_bytes(content)
    code, _, stderr = _check(repo)
    assert code == ExitCode.SPEC_INVALID
    assert f"{repo / LOCK_FILE}{located}" in stderr
    _assert_clean(stderr)
    assert (repo / LOCK_FILE).read_bytes() == content  # never "repaired" behind the user's back


def test_a_lock_that_is_a_folder_is_exit_3_naming_it(repo: Path) -> None:
    (repo / LOCK_FILE).mkdir()
    code, _, stderr = _check(repo)
    assert code == ExitCode.SPEC_INVALID
    assert f"{repo / LOCK_FILE}: expected a file, found a folder" in stderr
    _assert_clean(stderr)


def test_render_reports_a_corrupt_lock_before_writing_anything(repo: Path) -> None:
    (repo / LOCK_FILE).write_bytes(b"\xfe\xff")
    before = _snapshot(repo)
    result = runner.invoke(app, ["render", "--spec", str(repo / "platform.yaml")])
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert f"{repo / LOCK_FILE}:1: expected UTF-8" in result.stderr
    _assert_clean(result.stderr)
    assert _snapshot(repo) == before


def test_writing_the_lock_where_the_file_system_refuses_is_exit_5_naming_path_and_operation() -> None:
    # /proc refuses new files even to root: a deterministic stand-in for a read-only file system.
    with pytest.raises(FileSystemError) as raised:
        write_lock(Path("/proc/self"), ImageLock())
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value).startswith(f"cannot write /proc/self/{LOCK_FILE}: ")


def test_writing_the_lock_into_a_missing_folder_is_exit_5(tmp_path: Path) -> None:
    with pytest.raises(FileSystemError, match=r"cannot write .*/gone/images\.lock\.json: No such file"):
        write_lock(tmp_path / "gone", ImageLock())
    assert not (tmp_path / "gone").exists()


def test_a_state_file_the_kernel_cannot_read_is_exit_5_naming_the_read() -> None:
    # Reading /proc/self/mem from offset 0 is an I/O error for everyone, root included; it is a
    # regular file to lstat, so the read itself is what fails.
    mem = Path("/proc/self/mem")
    with pytest.raises(FileSystemError) as raised:
        read_text(mem)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value).startswith(f"cannot read {mem}: ")


def test_a_lock_that_is_a_symlink_is_refused_unread(tmp_path: Path) -> None:
    # A link could lead anywhere (and be written through later): batchplane keeps only plain files.
    (tmp_path / LOCK_FILE).symlink_to("/proc/self/mem")
    with pytest.raises(UnsafeFileError) as raised:
        read_lock(tmp_path)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value) == (
        f"refusing to read {tmp_path / LOCK_FILE}: it is a symlink (replace it with the file itself)"
    )


# --- history.jsonl ------------------------------------------------------------------


def _history(repo: Path, text: bytes) -> Path:
    path = history.history_path(repo, local=False)
    path.write_bytes(text)
    return path


def _digests_error(repo: Path) -> BatchplaneError:
    with pytest.raises(BatchplaneError) as raised:
        history.applied_digests(repo, "dev", local=False)
    return raised.value


def test_a_history_line_whose_images_is_a_list_is_exit_3_at_that_line(tmp_path: Path) -> None:
    bad = GOOD_RECORD.replace('"images": {}', '"images": ["csv-ingest"]')
    path = _history(tmp_path, f"{GOOD_RECORD}\n{bad}\n".encode())
    error = _digests_error(tmp_path)
    assert isinstance(error, StateFileError)
    assert error.exit_code == ExitCode.SPEC_INVALID
    assert str(error).startswith(f"{path}:2: expected a history record")
    assert "images" in str(error)


def test_a_non_json_line_in_the_middle_of_the_history_is_exit_3_at_that_line(tmp_path: Path) -> None:
    path = _history(tmp_path, f"{GOOD_RECORD}\n<<<<<<< HEAD\n{GOOD_RECORD}\n".encode())
    error = _digests_error(tmp_path)
    assert isinstance(error, StateFileError)
    assert str(error).startswith(f"{path}:2: expected one JSON history record")


def test_a_history_line_that_is_not_an_object_is_exit_3(tmp_path: Path) -> None:
    path = _history(tmp_path, b'["applied", "dev"]\n')
    assert str(_digests_error(tmp_path)).startswith(f"{path}:1: expected a history record")


def test_an_unknown_history_event_is_exit_3(tmp_path: Path) -> None:
    path = _history(tmp_path, GOOD_RECORD.replace('"applied"', '"deleted"').encode() + b"\n")
    assert str(_digests_error(tmp_path)).startswith(f"{path}:1: expected a history record")


def test_a_history_that_is_not_utf8_is_exit_3_at_the_line(tmp_path: Path) -> None:
    path = _history(tmp_path, f"{GOOD_RECORD}\n".encode() + b'{"by": "\xe9"}\n')
    assert str(_digests_error(tmp_path)).startswith(f"{path}:2: expected UTF-8")


def test_an_empty_history_holds_no_records(tmp_path: Path) -> None:
    _history(tmp_path, b"")
    assert history.applied_digests(tmp_path, "dev", local=False) == {}


def test_a_history_that_is_a_folder_is_exit_3_naming_it(tmp_path: Path) -> None:
    history.history_path(tmp_path, local=False).mkdir()
    error = _digests_error(tmp_path)
    assert isinstance(error, StateFileError)
    assert "history.jsonl: expected a file, found a folder" in str(error)


def test_appending_to_a_history_that_is_a_folder_is_exit_5_naming_the_operation(tmp_path: Path) -> None:
    path = history.history_path(tmp_path, local=True)
    path.mkdir(parents=True)
    with pytest.raises(FileSystemError) as raised:
        history.record_applied(tmp_path, "dev", {"csv-ingest": DIGEST}, local=True)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value).startswith(f"cannot append to {path}: ")


def test_an_append_after_a_torn_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    path = _history(tmp_path, f'{GOOD_RECORD}\n{{"event": "applied", "environment": "dev", "ima'.encode())
    history.record_applied(tmp_path, "dev", {"csv-ingest": DIGEST}, local=False)
    assert history.applied_digests(tmp_path, "dev", local=False) == {"csv-ingest": {DIGEST}}
    assert len(path.read_text().splitlines()) == 3


# --- local-AWS state ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "located"),
    [
        pytest.param("emulator.json", b"garbage\n", ":1: expected JSON", id="emulator-garbage"),
        pytest.param(
            "emulator.json", b'{\n  "pid": 1,\n  "port": "5055",\n  "log": "x"\n}\n', ":3: expected", id="port-text"
        ),
        pytest.param("emulator.json", b'{"pid": 1, "port": 70000, "log": "x"}', ":1: expected", id="port-range"),
        pytest.param("registry.json", b'{"pid": 1}\n', ":1: expected", id="registry-missing-keys"),
    ],
)
def test_corrupt_local_state_is_exit_3_in_local_status(repo: Path, name: str, content: bytes, located: str) -> None:
    path = repo / layout.LOCAL_DIR / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    result = runner.invoke(app, ["local", "status", "--spec", str(repo / "platform.yaml")])
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert f"{path}{located}" in " ".join(result.stderr.split())
    _assert_clean(result.stderr)
    assert path.read_bytes() == content


def test_local_state_that_is_a_folder_is_exit_3(repo: Path) -> None:
    path = emulator.state_path(repo)
    path.mkdir(parents=True)
    result = runner.invoke(app, ["local", "status", "--spec", str(repo / "platform.yaml")])
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert f"{path}: expected a file, found a folder" in result.stderr


def test_corrupt_accounts_file_is_exit_3_before_asking_the_emulator(tmp_path: Path) -> None:
    path = accounts.accounts_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"emulator": "1:2", "keys": ["AKIA"]}\n')
    nobody = emulator.EmulatorState(pid=2, port=1, log="x")  # nothing listens: reaching it would be a ToolError
    with pytest.raises(StateFileError, match=r"accounts\.json:1: expected AccountKeys: keys"):
        accounts.account_key(tmp_path, nobody, "123456789012", "eu-west-1")


# --- registries ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 500])
def test_a_registry_that_refuses_us_is_exit_5_naming_the_endpoint(status: int) -> None:
    with registry_answering(status) as registry, pytest.raises(RegistryError) as raised:
        registry.has(f"{registry.host}/acme/app", DIGEST)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert f"http://{registry.host}/v2/acme/app/manifests/{DIGEST}" in str(raised.value)
    assert f"HTTP {status}" in str(raised.value)


def test_an_unreachable_registry_is_exit_5_naming_the_endpoint_and_cause() -> None:
    with registry_answering(404) as live:
        closed = Registry(live.host, "local")  # the port is closed once the server has shut down
    with pytest.raises(RegistryError) as raised:
        closed.has(f"{closed.host}/acme/app", DIGEST)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert f"http://{closed.host}/v2/acme/app/manifests/" in str(raised.value)
    assert "unreachable" in str(raised.value)
    assert "refused" in str(raised.value).lower()


def test_only_a_404_means_the_digest_is_not_there() -> None:
    with registry_answering(404) as missing, registry_answering(200) as present:
        assert missing.has(f"{missing.host}/acme/app", DIGEST) is False
        assert present.has(f"{present.host}/acme/app", DIGEST) is True


def test_a_build_treats_an_unaskable_registry_as_build_it() -> None:
    # The HEAD is anonymous; docker's push carries the credentials and reports a truly unusable registry.
    entry = LockEntry(digest=DIGEST, tag="t", source_hash="h")
    with registry_answering(401) as registry:
        assert _current(registry, f"{registry.host}/acme/app", entry, _Source("h")) is False  # type: ignore[arg-type]


class _Source:
    """What _current reads of an image source."""

    def __init__(self, source_hash: str) -> None:
        self.source_hash = source_hash
