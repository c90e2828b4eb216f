"""The hostile-input corpus: every kind of bad input, through the real command line, one table.

Each case prepares a copy of the example repository (and sometimes the
``outside`` folder beside it, which stands for the rest of the machine), runs
one command as a user or a CI job would, and asserts the documented exit code,
a message that says where and what, no traceback, and — for every case — that
nothing outside the repository changed: an ``outside`` folder holding a regular
file, a FIFO, a character device (when the test runs as root) and symlinks is
compared before and after by type, inode, size, device number, content and
link target, and so is ``/dev/null``.

The topic-by-topic tests (``test_hostile_spec``, ``test_hostile_state``,
``test_render_safety``, ``test_files``, ``test_json_errors``) go deeper on each
item; this table is the breadth the issue asks for, in one place.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode
from tests.conftest import copy_example
from tests.fs_snapshot import Entry, entry

runner = CliRunner()

Setup = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: ExitCode
    says: tuple[str, ...]
    setup: Setup = field(default=lambda repo, outside: None)
    fifo_reader: str | None = None  # an outside FIFO the command writes to: read it meanwhile


# --- preparing a case -----------------------------------------------------------------


def spec_edit(old: str, new: str, count: int = 1) -> Setup:
    def edit(repo: Path, _: Path) -> None:
        text = (repo / "platform.yaml").read_text()
        assert old in text, old
        (repo / "platform.yaml").write_text(text.replace(old, new, count))

    return edit


def spec_bytes(data: bytes) -> Setup:
    def write(repo: Path, _: Path) -> None:
        (repo / "platform.yaml").write_bytes(data)

    return write


def env_value(value: str) -> Setup:
    return spec_edit("environment: {TABLE_NAME: acme-products}", f"environment: {{TABLE_NAME: {value}}}")


def file_bytes(relative: str, data: bytes) -> Setup:
    def write(repo: Path, _: Path) -> None:
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return write


def folder_at(relative: str) -> Setup:
    def make(repo: Path, _: Path) -> None:
        (repo / relative).mkdir(parents=True)

    return make


def link_out(relative: str, target: str, *, replace: bool = False) -> Setup:
    """``relative`` in the repository becomes a symlink to ``outside/target``."""

    def make(repo: Path, outside: Path) -> None:
        path = repo / relative
        if replace:
            if path.is_dir() and not path.is_symlink():
                for child in sorted(path.rglob("*"), reverse=True):
                    child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
                path.rmdir()
            else:
                path.unlink()
        path.symlink_to(outside / target)

    return make


def both(*setups: Setup) -> Setup:
    def run(repo: Path, outside: Path) -> None:
        for setup in setups:
            setup(repo, outside)

    return run


def manifest_lists(*paths: str) -> Setup:
    def write(repo: Path, _: Path) -> None:
        manifest = repo / "environments" / "dev" / ".batchplane" / "manifest.json"
        document = json.loads(manifest.read_text())
        document["generated"] = sorted({*document["generated"], *paths})
        manifest.write_text(json.dumps(document))

    return write


LOCK = "images.lock.json"
HISTORY = "history.jsonl"
EMULATOR = ".batchplane/local/emulator.json"
REGISTRY = ".batchplane/local/registry.json"
DIGEST = "sha256:" + "a" * 64
RECORD = {"at": "2026-01-01T00:00:00+00:00", "by": "ci", "environment": "dev", "event": "applied", "images": {}}

S, V, R = ExitCode.SPEC_INVALID, ExitCode.USAGE, ExitCode.TOOL_FAILED
OK, PENDING = ExitCode.OK, ExitCode.CHANGES_PENDING
VALIDATE = ["validate"]
RENDER = ["render"]

CASES: list[Case] = [
    # --- spec text: YAML surprises, each at its line with the text as written --------------
    Case("yaml11-bool-key", VALIDATE, S, ("platform.yaml:", "ON"), env_value('x, ON: "1"')),
    Case(
        "yaml11-yes-key",
        VALIDATE,
        S,
        ("platform.yaml:", "YES"),
        spec_edit("parameters: {input:", "parameters: {YES: a, input:"),
    ),
    Case("null-key", VALIDATE, S, ("platform.yaml:",), spec_edit("tags:\n  owner:", "tags:\n  ~: x\n  owner:")),
    Case(
        "number-key", VALIDATE, S, ("platform.yaml:", "1.5"), spec_edit("tags:\n  owner:", "tags:\n  1.5: x\n  owner:")
    ),
    Case(
        "octal-account-id",
        VALIDATE,
        S,
        ('"012345670123"',),
        spec_edit('account_id: "111111111111"', "account_id: 012345670123"),
    ),
    Case("short-octal-account", VALIDATE, S, ('"0123"',), spec_edit('account_id: "111111111111"', "account_id: 0123")),
    Case("no-as-string", VALIDATE, S, ('"no"',), spec_edit("owner: data-platform", "owner: no")),
    Case("nul-in-value", VALIDATE, S, ("platform.yaml:", "control"), env_value('"a\\0b"')),
    Case("escape-in-value", VALIDATE, S, ("platform.yaml:", "control"), env_value('"a\\x1bb"')),
    Case("bell-in-tag", VALIDATE, S, ("platform.yaml:",), spec_edit("owner: data-platform", 'owner: "a\\x07"')),
    Case(
        "newline-after-schedule",
        VALIDATE,
        S,
        ("platform.yaml:", "schedule"),
        spec_edit('schedule: "cron(0 2 * * ? *)"', 'schedule: "cron(0 2 * * ? *)\\n"'),
    ),
    Case(
        "six-words-not-cron",
        VALIDATE,
        S,
        ("platform.yaml:", "schedule"),
        spec_edit('schedule: "cron(0 2 * * ? *)"', 'schedule: "cron(a b c d e f)"'),
    ),
    Case(
        "cron-both-days",
        VALIDATE,
        S,
        ("platform.yaml:", "schedule"),
        spec_edit('schedule: "cron(0 2 * * ? *)"', 'schedule: "cron(0 2 * * MON *)"'),
    ),
    Case(
        "rate-plural-one",
        VALIDATE,
        S,
        ("platform.yaml:", "schedule"),
        spec_edit('schedule: "cron(0 2 * * ? *)"', 'schedule: "rate(1 hours)"'),
    ),
    Case(
        "exit-code-newline",
        VALIDATE,
        S,
        ("platform.yaml:", "on_exit_code"),
        spec_edit('on_exit_code: "1"', 'on_exit_code: "1\\n"'),
    ),
    Case(
        "huge-max-vcpus",
        VALIDATE,
        S,
        ("platform.yaml:", "max_vcpus"),
        spec_edit("max_vcpus: 128", "max_vcpus: 1000000000000000000000000000000000000"),
    ),
    Case("negative-vcpus", VALIDATE, S, ("platform.yaml:",), spec_edit("    vcpus: 1\n", "    vcpus: -1\n")),
    Case("aws-tag-key", VALIDATE, S, ("platform.yaml:", "tag"), spec_edit("owner: data-platform", "'owner{}': x")),
    Case(
        "aws-prefix-tag", VALIDATE, S, ("platform.yaml:", "aws:"), spec_edit("owner: data-platform", "'aws:owner': x")
    ),
    Case(
        "duplicate-key",
        VALIDATE,
        S,
        ("platform.yaml:", "region"),
        spec_edit("region: eu-west-1", "region: eu-west-1\nregion: us-east-1"),
    ),
    Case("tab-indent", VALIDATE, S, ("platform.yaml:",), spec_edit("  owner: data-platform", "\towner: data-platform")),
    Case(
        "unclosed-flow", VALIDATE, S, ("platform.yaml:",), spec_edit("[c6i.large, c6a.large, m6i.large]", "[c6i.large")
    ),
    Case("empty-spec", VALIDATE, S, ("platform.yaml",), spec_bytes(b"")),
    Case("spec-is-a-list", VALIDATE, S, ("platform.yaml",), spec_bytes(b"- version: 1\n")),
    Case(
        "spec-not-utf8", VALIDATE, S, ("platform.yaml:2", "UTF-8", "0xff"), spec_bytes(b"version: 1\nname: \xff\xfe\n")
    ),
    Case(
        "alias-bomb",
        VALIDATE,
        S,
        ("platform.yaml",),
        spec_bytes(
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        ),
    ),
    Case(
        "python-tag",
        VALIDATE,
        S,
        ("platform.yaml:",),
        spec_edit("name: acme", "name: !!python/object/apply:os.system [id]"),
    ),
    Case(
        "three-problems-one-run",
        VALIDATE,
        S,
        ("instance_type", "nowhere", "cannot mix"),
        both(
            spec_edit("    instance_types: [optimal]\n", "    instance_types: [optimal]\n    instance_type: x\n"),
            spec_edit("queue: critical", "queue: nowhere"),
            spec_edit("compute: [ondemand]", "compute: [ondemand, serverless]"),
        ),
    ),
    Case(
        "misspelt-job-key-suggests",
        VALIDATE,
        S,
        ("memory_mb", "memory_mib"),
        spec_edit("memory_mib: 2048", "memory_mb: 2048"),
    ),
    Case(
        "unknown-image-folder",
        VALIDATE,
        S,
        ("platform.yaml:", "job_images"),
        spec_edit("image: report", "image: reprot"),
    ),
    # --- unknown names on the command line: exit 2, the closest known name --------------
    Case("env-typo", ["render", "--env", "prd"], V, ("prod",)),
    Case("env-typo-graph", ["graph", "--env", "dve"], V, ("dev",)),
    Case("env-typo-diff", ["diff", "--from", "dev", "--to", "tset"], V, ("test",)),
    Case("env-typo-promote", ["promote", "--from", "dev", "--to", "prdo"], V, ("prod",)),
    Case("env-typo-plan", ["plan", "--env", "tst"], V, ("test",)),
    Case("job-typo-submit", ["jobs", "submit", "csv-ingst", "--env", "dev"], V, ("csv-ingest",)),
    Case("image-typo-build", ["images", "build", "csv-ingst"], V, ("csv-ingest",)),
    # --- state files: corruption is exit 3 with file and line; a shape the file system refuses is exit 5 --
    Case("lock-not-utf8", RENDER, S, (LOCK,), file_bytes(LOCK, b"\xff\xfe{}")),
    Case("lock-bad-json", RENDER, S, (f"{LOCK}:2", "expected JSON"), file_bytes(LOCK, b'{"dev": {\n')),
    Case("lock-a-list", RENDER, S, (LOCK,), file_bytes(LOCK, b"[]\n")),
    Case(
        "lock-bad-digest",
        RENDER,
        S,
        (LOCK, "digest"),
        file_bytes(
            LOCK,
            json.dumps(
                {"images": {"csv-ingest": {"dev": {"digest": "sha256:no", "tag": "t", "source_hash": "x"}}}}
            ).encode(),
        ),
    ),
    Case("lock-is-a-folder", RENDER, S, (LOCK, "folder"), folder_at(LOCK)),
    Case("lock-symlink-out", RENDER, R, (LOCK, "symlink"), link_out(LOCK, "victim.txt")),
    Case("lock-is-a-fifo", RENDER, R, (LOCK, "not a regular file"), lambda repo, _: os.mkfifo(repo / LOCK)),
    Case(
        "history-symlink-out",
        ["promote", "--from", "dev", "--to", "test", "--dry-run"],
        R,
        (HISTORY, "symlink"),
        link_out(HISTORY, "victim.txt"),
    ),
    Case(
        "emulator-state-fifo",
        ["local", "status"],
        R,
        ("emulator.json",),
        both(folder_at(".batchplane/local"), lambda repo, _: os.mkfifo(repo / EMULATOR)),
    ),
    Case(
        "history-images-list",
        ["promote", "--from", "dev", "--to", "test", "--dry-run"],
        S,
        (HISTORY, ":1"),
        file_bytes(HISTORY, (json.dumps({**RECORD, "images": []}) + "\n").encode()),
    ),
    Case(
        "history-not-utf8",
        ["promote", "--from", "dev", "--to", "test", "--dry-run"],
        S,
        (HISTORY,),
        file_bytes(HISTORY, b"\xff\n"),
    ),
    Case(
        "history-merge-marker-line",
        ["promote", "--from", "dev", "--to", "test", "--dry-run"],
        S,
        (HISTORY, ":2"),
        file_bytes(HISTORY, "\n".join([json.dumps(RECORD), "merge <<<<<<< ours", json.dumps(RECORD)]).encode()),
    ),
    Case(
        "history-is-a-folder",
        ["promote", "--from", "dev", "--to", "test", "--dry-run"],
        S,
        (HISTORY, "folder"),
        folder_at(HISTORY),
    ),
    Case("emulator-state-bad-json", ["local", "status"], S, ("emulator.json",), file_bytes(EMULATOR, b"{pid: 1")),
    Case(
        "emulator-state-wrong-shape", ["local", "status"], S, ("emulator.json",), file_bytes(EMULATOR, b'{"pid": "x"}')
    ),
    Case("emulator-state-is-a-folder", ["local", "status"], S, ("emulator.json", "folder"), folder_at(EMULATOR)),
    Case("registry-state-bad-json", ["local", "status"], S, ("registry.json",), file_bytes(REGISTRY, b"[")),
    Case(
        "emulator-state-bad-json-fire",
        ["local", "fire", "csv-ingest", "--env", "dev"],
        S,
        ("emulator.json",),
        file_bytes(EMULATOR, b"{pid: 1"),
    ),
    Case("emulator-state-bad-json-clock", ["local", "clock"], S, ("emulator.json",), file_bytes(EMULATOR, b"{pid: 1")),
    Case(
        "emulator-state-bad-json-pipeline-status",
        ["pipelines", "status", "nightly-1", "--env", "dev", "--local"],
        S,
        ("emulator.json",),
        file_bytes(EMULATOR, b"{pid: 1"),
    ),
    Case("fire-unknown-name", ["local", "fire", "csv-ingst", "--env", "dev"], V, ("csv-ingest",)),
    # --- file-system shapes in trees batchplane owns: refused, nothing followed -------------
    Case(
        "root-bookkeeping-symlink",
        RENDER,
        R,
        (".batchplane", "symlink"),
        link_out("environments/dev/.batchplane", "dir", replace=True),
    ),
    Case(
        "rendered-file-symlink",
        RENDER,
        R,
        ("main.tf", "symlink"),
        link_out("environments/dev/main.tf", "victim.txt", replace=True),
    ),
    Case(
        "folder-symlink-in-root",
        RENDER,
        R,
        ("symlink",),
        both(link_out("environments/dev/stash", "dir"), manifest_lists("stash/keep.txt")),
    ),
    Case("environments-symlink", RENDER, R, ("environments", "symlink"), link_out("environments", "dir", replace=True)),
    Case("manifest-escapes-root", RENDER, S, ("manifest",), manifest_lists("../../../outside/victim.txt")),
    Case("manifest-absolute", RENDER, S, ("manifest",), manifest_lists("/etc/hostname")),
    Case("manifest-corrupt", RENDER, S, ("manifest",), file_bytes("environments/dev/.batchplane/manifest.json", b"{")),
    Case(
        "render-check-after-tamper",
        ["render", "--check"],
        PENDING,
        ("main.tf",),
        file_bytes("environments/dev/main.tf", b"# tampered\n"),
    ),
    Case("spec-is-a-folder", ["validate", "--spec", "folder.yaml"], S, ("folder.yaml",), folder_at("folder.yaml")),
    Case("spec-missing", ["validate", "--spec", "missing.yaml"], S, ("missing.yaml",)),
    # --- output targets: devices and FIFOs are written through, never replaced ----------
    Case("output-dev-null", ["schema", "--output", "/dev/null"], OK, ()),
    Case("output-char-device", ["schema", "--output", "{outside}/null"], OK, ()),
    Case("output-fifo", ["schema", "--output", "{outside}/fifo"], OK, (), fifo_reader="fifo"),
    Case(
        "output-check-to-fifo",
        ["check", "--spec-only", "--format", "json", "--output", "{outside}/fifo"],
        OK,
        (),
        fifo_reader="fifo",
    ),
    Case("output-is-a-folder", ["schema", "--output", "{outside}/dir"], V, ("it is a folder",)),
    Case("output-missing-folder", ["schema", "--output", "{outside}/nowhere/schema.json"], V, ("does not exist",)),
    Case(
        "graph-output-folder", ["graph", "--env", "dev", "--format", "dot", "--output", "{outside}/dir"], V, ("folder",)
    ),
    # --- JSON mode: every failure is a JSON document on stdout ------------------------
    Case("json-spec-error", ["render", "--json", "--spec", "missing.yaml"], S, ('"error"',)),
    Case("json-usage-error", ["render", "--json", "--env", "prd"], V, ('"error"', "prod")),
    Case("json-state-error", ["render", "--json"], S, ('"error"', LOCK), file_bytes(LOCK, b"[]")),
    Case(
        "json-fs-refusal",
        ["render", "--json"],
        R,
        ('"error"',),
        link_out("environments/dev/main.tf", "victim.txt", replace=True),
    ),
]


# --- the world outside the repository ----------------------------------------------------


def _make_outside(outside: Path) -> None:
    outside.mkdir()
    (outside / "victim.txt").write_text("keep me\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "inner.txt").write_text("inner\n")
    (outside / "dir" / "manifest.json").write_text("{}\n")
    (outside / "dir" / "sourcemap.json").write_text("{}\n")
    os.mkfifo(outside / "fifo")
    (outside / "link-to-victim").symlink_to(outside / "victim.txt")
    if os.geteuid() == 0:  # a device node needs root; /dev/null stands in otherwise
        os.mknod(outside / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        (outside / "null").symlink_to("/dev/null")


def _world(outside: Path) -> dict[str, Entry]:
    """Everything under ``outside`` and /dev/null, never following a link; the time of last write
    aside, which a write through a FIFO or a device rightly changes."""
    paths = [Path("/dev/null"), outside, *sorted(outside.rglob("*"))]
    return {str(path): (*entry(path)[:2], 0, *entry(path)[3:]) for path in paths}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the example repository beside an ``outside`` folder; run from inside the repository."""
    repo = copy_example(tmp_path)
    outside = tmp_path / "outside"
    _make_outside(outside)
    monkeypatch.chdir(repo)
    return repo, outside


def _drain(fifo: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with fifo.open("rb") as stream:
            into.append(stream.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def test_the_corpus_covers_every_item_of_the_issue() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    codes = {case.code for case in CASES}
    assert {S, V, R, OK, PENDING} <= codes


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_input_is_a_located_error_and_nothing_outside_changes(case: Case, world: tuple[Path, Path]) -> None:
    repo, outside = world
    case.setup(repo, outside)
    before = _world(outside)
    received: list[bytes] = []
    reader = _drain(outside / case.fifo_reader, received) if case.fifo_reader else None
    argv = [arg.replace("{outside}", str(outside)) for arg in case.argv]

    result = runner.invoke(app, argv)

    if reader is not None:
        reader.join(timeout=10)
        assert received, "the FIFO was never closed by the writer"
        assert received[0], "nothing was written through the FIFO"
    output = result.stdout + result.stderr
    assert result.exit_code == case.code, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in case.says:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    if "--json" in argv and case.code != OK:
        document = json.loads(result.stdout)
        assert document["error"]["code"] == case.code
    assert _world(outside) == before
