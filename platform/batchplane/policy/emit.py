"""Where a check's report goes, and whether it fails the run.

Shared by ``batchplane check`` and its pre-commit fast path
(:mod:`batchplane.cli.entry`), so both print the same bytes and exit the same way.
Rich is imported only for what needs it: the text tables on a terminal and the notes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from batchplane.files import write_output
from batchplane.policy import reports
from batchplane.policy.findings import Outcome, PolicyFailedError, Severity

CATALOGUE_ANCHOR = "README.md#policy-catalogue"


@dataclass(frozen=True)
class Destination:
    """How and where a report is written: the format, the file (stdout when None), waived rows or not."""

    fmt: str
    output: Path | None = None
    show_waived: bool = False


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder, or a file in a worktree)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def artifact_uri(spec_path: Path) -> str:
    """The spec's path as code scanning and CI logs resolve it: relative to the repository root.

    Outside a git repository, relative to the folder the gate runs in, else the bare name.
    """
    spec = spec_path.resolve()
    for base in (repository_root(spec.parent), Path.cwd().resolve()):
        if base is None:
            continue
        try:
            return spec.relative_to(base).as_posix()
        except ValueError:
            continue
    return spec_path.name


def help_uri() -> str | None:
    """The policy catalogue of the repository being checked, when running in GitHub Actions.

    GitHub says where the repository lives (``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``,
    ``GITHUB_SHA``); elsewhere batchplane does not guess a URL, and reports carry none.
    """
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if not server or not repository:
        return None
    ref = os.environ.get("GITHUB_SHA") or "HEAD"
    return f"{server.rstrip('/')}/{repository}/blob/{ref}/{CATALOGUE_ANCHOR}"


def render(outcome: Outcome, where: Destination, spec_path: Path) -> str:
    return reports.render(
        outcome, where.fmt, artifact_uri(spec_path), show_waived=where.show_waived, help_uri=help_uri()
    )


def emit(outcome: Outcome, where: Destination, spec_path: Path) -> None:
    """The report: into ``where.output`` when given, else on stdout (as tables on a terminal)."""
    if where.output is not None:
        write_output(where.output, render(outcome, where, spec_path))
        from batchplane import console

        console.note(f"wrote {where.output}")
        return
    if where.fmt == "text" and sys.stdout.isatty():
        from batchplane import console
        from batchplane.policy.reports.text import tables

        for table in tables(outcome, artifact_uri(spec_path), show_waived=where.show_waived):
            console.out.print(table)
        hint = reports.hidden_line(outcome, where.show_waived)
        if hint:
            console.note(hint)
        sys.stdout.write(reports.summary_line(outcome) + "\n")
    else:
        sys.stdout.write(render(outcome, where, spec_path))
    sys.stdout.flush()


def enforce(outcome: Outcome, fail_on: Severity) -> None:
    """Raise (exit 4) when an unwaived finding at or above ``fail_on`` remains."""
    blocking = outcome.blocking(fail_on)
    if blocking:
        raise PolicyFailedError(f"{len(blocking)} unwaived finding(s) at or above {fail_on}")


def emit_and_enforce(outcome: Outcome, where: Destination, spec_path: Path, fail_on: Severity) -> None:
    """:func:`emit`, then :func:`enforce`; a failing JSON report on stdout carries the error too.

    JSON consumers read one document from stdout: when the gate fails, that
    document is the report plus the ``"error"`` member every failing JSON-mode
    command prints, rather than the report followed by a second document.
    """
    try:
        enforce(outcome, fail_on)
    except PolicyFailedError as exc:
        if where.fmt != "json" or (where.output is not None and str(where.output) != "-"):
            emit(outcome, where, spec_path)
            raise
        import json

        from batchplane import console

        document = json.loads(render(outcome, where, spec_path))
        console.print_json({**document, **console.error_document(exc, int(exc.exit_code))})
        exc.json_reported = True
        raise
    emit(outcome, where, spec_path)
