"""The local AWS when things are in its way: each a located error with its exit code, never a traceback.

* the file system refusing ``.batchplane/local/`` files is exit 5 naming the path and the operation
  (``/sys/kernel`` refuses new files even to root: a deterministic refusing folder);
* the emulator unreachable, or refusing a request, is exit 5 naming its endpoint and the cause;
* moto missing is exit 5 saying which extra to install, before anything is started.

The emulators here are real moto servers on free ports, stopped by PID afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import batchplane
from batchplane import layout
from batchplane.cli.app import app
from batchplane.errors import ExitCode, FileSystemError, LocalAWSError, ToolError
from batchplane.local import accounts, emulator, processes
from batchplane.local.accounts import S3Backend
from batchplane.local.emulator import EmulatorState
from batchplane.local.registry import RegistryState, registry_state_path, stop_registry
from tests.conftest import EXAMPLE_SPEC

runner = CliRunner()
REFUSING = Path("/sys/kernel")
ACCOUNT = "111111111111"
REGION = "eu-west-1"


def _free_port() -> int:
    """A port nobody listens on: bound, read, and closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(EXAMPLE_SPEC, root / layout.SPEC_FILENAME)
    return root


def _local(repo: Path, *args: str) -> Result:
    return runner.invoke(app, ["local", *args, "--spec", str(repo / layout.SPEC_FILENAME)])


def _start(repo: Path, port: int) -> Result:
    return _local(repo, "start", "--port", str(port), "--registry-port", str(_free_port()))


def _clean(result: Result) -> str:
    """stderr on one line, after checking it is a message and not a crash."""
    assert "Traceback" not in result.output + result.stderr
    return " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorState]:
    """A real emulator, started the way `local start` starts it."""
    home = tmp_path_factory.mktemp("emulator")
    state, started = emulator.start(home, _free_port())
    assert started
    yield state
    emulator.stop(home)


# --- the file system refuses ------------------------------------------------------------


def test_local_start_where_its_folder_refuses_files_is_exit_5_naming_path_and_operation(repo: Path) -> None:
    state_dir = layout.local_dir(repo)
    state_dir.parent.mkdir()
    state_dir.symlink_to(REFUSING)
    port = _free_port()
    result = _start(repo, port)
    assert result.exit_code == ExitCode.TOOL_FAILED
    assert f"cannot write {state_dir / emulator.LOG_FILE}: Permission denied" in _clean(result)
    assert processes.port_free(port)  # refused before anything was started


def test_local_start_with_a_folder_where_its_log_belongs_is_exit_5(repo: Path) -> None:
    log = layout.local_dir(repo) / emulator.LOG_FILE
    log.mkdir(parents=True)
    result = _start(repo, _free_port())
    assert result.exit_code == ExitCode.TOOL_FAILED
    assert f"cannot write {log}: Is a directory" in _clean(result)
    assert not emulator.state_path(repo).exists()


def test_local_start_with_a_folder_where_its_record_belongs_is_exit_3_before_starting(repo: Path) -> None:
    # Reading comes first: a folder in a state file's place is a corrupt state file, as `local status` says.
    record = emulator.state_path(repo)
    record.mkdir(parents=True)
    port = _free_port()
    result = _start(repo, port)
    assert result.exit_code == ExitCode.SPEC_INVALID
    assert f"{record}: expected a file, found a folder" in _clean(result)
    assert processes.port_free(port)


@pytest.mark.parametrize("kind", [EmulatorState, RegistryState], ids=["emulator.json", "registry.json"])
def test_a_process_record_the_file_system_refuses_is_exit_5_naming_it(kind: type[processes.Process]) -> None:
    record = REFUSING / ("emulator.json" if kind is EmulatorState else "registry.json")
    with pytest.raises(FileSystemError) as raised:
        processes.write_process(record, kind(pid=1, port=5055, log="x"))
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value) == f"cannot write {record}: Permission denied"


def test_a_record_refused_after_the_start_stops_what_was_started(tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    started: list[int] = []

    def ready(process: subprocess.Popen[bytes], state: processes.Process) -> None:
        started.append(process.pid)

    with pytest.raises(FileSystemError, match=r"cannot write /sys/kernel/x\.json"):
        processes.launch(
            processes.Process, command, port=port, log=tmp_path / "x.log", record=REFUSING / "x.json", ready=ready
        )
    assert len(started) == 1
    assert not processes.alive(started[0])  # stopped (and reaped) by PID


def test_an_accounts_file_the_file_system_refuses_is_exit_5(tmp_path: Path, running: EmulatorState) -> None:
    layout.local_dir(tmp_path).parent.mkdir()
    layout.local_dir(tmp_path).symlink_to(REFUSING)
    with pytest.raises(FileSystemError) as raised:
        accounts.account_key(tmp_path, running, ACCOUNT, REGION)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value) == f"cannot write {accounts.accounts_path(tmp_path)}: Permission denied"


def test_local_start_stops_at_a_registry_folder_the_file_system_refuses(repo: Path) -> None:
    # No "warning: no local registry": a missing program is optional, a refusing file system is not.
    home = layout.local_dir(repo) / "registry"
    home.parent.mkdir(parents=True)
    home.symlink_to(REFUSING)
    try:
        result = _start(repo, _free_port())
        assert result.exit_code == ExitCode.TOOL_FAILED
        assert f"cannot create folder {home / 'data'}: " in _clean(result)
        assert not registry_state_path(repo).exists()
    finally:
        emulator.stop(repo)


# --- the local AWS cannot be reached, or refuses ------------------------------------------


def test_an_emulator_nobody_listens_for_is_exit_5_naming_endpoint_and_cause(tmp_path: Path) -> None:
    nobody = EmulatorState(pid=1, port=_free_port(), log="x")
    with pytest.raises(LocalAWSError) as raised:
        accounts.account_key(tmp_path, nobody, ACCOUNT, REGION)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert raised.value.endpoint == nobody.endpoint
    assert str(raised.value).startswith(f"local AWS: {nobody.endpoint}: cannot connect (Connection refused)")
    assert not accounts.accounts_path(tmp_path).exists()


def test_a_state_bucket_on_an_emulator_nobody_listens_for_is_exit_5() -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(LocalAWSError, match=rf"{endpoint}: cannot connect \(Connection refused\)"):
        accounts.ensure_state_bucket(endpoint, S3Backend("acme-state", "dev.tfstate", REGION))


def test_an_emulator_that_refuses_the_credentials_is_exit_5_naming_endpoint_and_cause(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto checks credentials when told to: the emulator `local start` starts inherits the switch.
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")
    port = _free_port()
    try:
        result = _start(repo, port)
        assert result.exit_code == ExitCode.TOOL_FAILED
        assert f"local AWS: http://127.0.0.1:{port}: AssumeRole refused: InvalidClientTokenId: " in _clean(result)
    finally:
        stop_registry(repo)  # started before the emulator refused: nothing may outlive the test
        emulator.stop(repo)


def test_the_accounts_are_asked_once_the_emulator_answers(tmp_path: Path, running: EmulatorState) -> None:
    key = accounts.account_key(tmp_path, running, ACCOUNT, REGION)
    assert key.startswith("AKIA")
    assert accounts.account_key(tmp_path, running, ACCOUNT, REGION) == key


# --- moto is not installed ---------------------------------------------------------------


def test_the_modules_moto_server_needs_are_named_when_missing() -> None:
    present = {"flask", "flask_cors"}
    assert emulator.missing_server_modules(lambda name: name if name in present else None) == ["moto"]
    assert emulator.missing_server_modules(lambda name: name) == []


@pytest.fixture(scope="module")
def without_moto(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with every package of this one except moto: a fresh venv, its site-packages linked here."""
    home = tmp_path_factory.mktemp("no-moto")
    venv.create(home, with_pip=False, symlinks=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    python = home / "bin" / "python"
    theirs = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for entry in ours.iterdir():
        if entry.name == "moto" or entry.name.startswith("moto-") or entry.suffix == ".pth":
            continue
        (theirs / entry.name).symlink_to(entry)
    return python


def test_local_start_without_moto_says_which_extra_to_install(repo: Path, without_moto: Path) -> None:
    platform = Path(batchplane.__file__).resolve().parents[1]
    port = _free_port()
    result = subprocess.run(
        [
            without_moto,
            "-m",
            "batchplane",
            "local",
            "start",
            "--port",
            str(port),
            "--spec",
            str(repo / "platform.yaml"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(platform)},
        timeout=120,
        check=False,
    )
    assert result.returncode == ExitCode.TOOL_FAILED, result.stderr
    message = " ".join(result.stderr.split())
    assert f"moto's server cannot run with {without_moto} (no module moto)" in message
    assert "install the extra with `pip install 'batchplane[local]'`" in message
    assert "Traceback" not in result.stderr
    assert processes.port_free(port)
    assert not emulator.state_path(repo).exists()


def test_an_emulator_that_exits_at_start_names_its_log(tmp_path: Path) -> None:
    log = tmp_path / "moto.log"
    process = processes.spawn([sys.executable, "-c", "import sys; sys.exit(3)"], log)
    with pytest.raises(ToolError) as raised:
        emulator.wait_until_healthy(f"http://127.0.0.1:{_free_port()}", timeout=30, process=process, log=log)
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert f"exited with code 3: see its log {log}" in str(raised.value)


def test_a_program_that_cannot_be_run_is_exit_5_naming_it(tmp_path: Path) -> None:
    program = tmp_path / "docker-registry"
    program.write_text("not a program\n")  # not executable
    with pytest.raises(FileSystemError) as raised:
        processes.spawn([str(program), "serve"], tmp_path / "registry.log")
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert str(raised.value) == f"cannot run {program}: Permission denied"
