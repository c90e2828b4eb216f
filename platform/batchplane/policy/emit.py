"""Where a check's report goes, and whether it fails the run.

Shared by ``batchplane check`` and its pre-commit fast path
(:mod:`batchplane.cli.entry`), so both print the same bytes and exit the same way.
Rich is imported only for what needs it: the text tables and the notes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from batchplane.files import write_output
from batchplane.policy import report
from batchplane.policy.findings import Outcome, PolicyFailedError, Severity


def artifact_uri(spec_path: Path) -> str:
    """The spec's path as code scanning resolves it: relative to where the gate runs (the checkout)."""
    try:
        return spec_path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return spec_path.name


def emit(outcome: Outcome, fmt: str, output: Path | None, spec_path: Path) -> None:
    """The report in ``fmt``: into ``output`` when given, else on stdout."""
    if output is not None:
        write_output(output, report.render(outcome, fmt, artifact_uri(spec_path)))
        from batchplane import console

        console.note(f"wrote {output}")
        return
    if fmt == "text":
        tables = list(report.tables(outcome))
        if tables:
            from batchplane import console

            for table in tables:
                console.out.print(table)
        sys.stdout.write(report.summary_line(outcome) + "\n")
    else:
        sys.stdout.write(report.render(outcome, fmt, artifact_uri(spec_path)))
    sys.stdout.flush()


def enforce(outcome: Outcome, fail_on: Severity) -> None:
    """Raise (exit 4) when an unwaived finding at or above ``fail_on`` remains."""
    blocking = outcome.blocking(fail_on)
    if blocking:
        raise PolicyFailedError(f"{len(blocking)} unwaived finding(s) at or above {fail_on}")


def emit_and_enforce(outcome: Outcome, fmt: str, output: Path | None, spec_path: Path, fail_on: Severity) -> None:
    """:func:`emit`, then :func:`enforce`; a failing JSON report on stdout carries the error too.

    JSON consumers read one document from stdout: when the gate fails, that
    document is the report plus the ``"error"`` member every failing JSON-mode
    command prints, rather than the report followed by a second document.
    """
    try:
        enforce(outcome, fail_on)
    except PolicyFailedError as exc:
        if fmt != "json" or (output is not None and str(output) != "-"):
            emit(outcome, fmt, output, spec_path)
            raise
        import json

        from batchplane import console

        document = json.loads(report.render(outcome, fmt, artifact_uri(spec_path)))
        console.print_json({**document, **console.error_document(exc, int(exc.exit_code))})
        exc.json_reported = True
        raise
    emit(outcome, fmt, output, spec_path)
