"""The text report: plain lines for logs and files, Rich tables for a person at a terminal.

Plain lines are the default (CI logs, ``--output``, a pipe): one finding a line, never
wrapped, no escape codes, each starting with ``platform.yaml:LINE:`` like a compiler's
message, so CI logs and editors link it to the spec. :func:`tables` is the same content
as Rich tables, which the command prints only when stdout is a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from batchplane.policy.findings import Outcome, Severity, WaiverStatus
from batchplane.policy.reports import Row, hidden_line, location, rows, summary_line

if TYPE_CHECKING:
    from rich.table import Table

_STYLE: dict[Severity, str] = {
    "info": "dim",
    "low": "cyan",
    "medium": "yellow",
    "high": "red",
    "critical": "bold red",
}


def _severity(row: Row) -> str:
    return f"waived ({row.first.severity})" if row.first.waived else row.first.severity


def _subject(row: Row) -> str:
    address = f" ({row.first.address})" if row.first.address else ""
    return f"{row.where}{address}"


def _waiver_status(waiver: WaiverStatus) -> str:
    status = "refused" if waiver.refused else f"accepted ({len(waiver.waived)} waived)"
    return status + (" new" if waiver.new_since_base else "")


def _waiver_where(waiver: WaiverStatus, spec_uri: str) -> str:
    return f"{location(spec_uri, waiver.line)} policy.waivers[{waiver.index}]"


def to_text(outcome: Outcome, spec_uri: str, *, show_waived: bool = False) -> str:
    """One line a finding, then one a waiver, then the counts."""
    lines = [
        f"{location(spec_uri, row.first.line)}: {_severity(row)} {row.first.id} {_subject(row)}: {row.first.message}"
        for row in rows(outcome, show_waived=show_waived)
    ]
    if outcome.waivers:
        lines.append("waivers:")
    for waiver in outcome.waivers:
        because = f" because {'; '.join(waiver.refused)}" if waiver.refused else ""
        lines.append(
            f"{_waiver_where(waiver, spec_uri)}: {_waiver_status(waiver)}{because}: {waiver.id} on {waiver.target}, "
            f"expires {waiver.expires}: {waiver.reason}"
        )
    hint = hidden_line(outcome, show_waived)
    if hint:
        lines.append(hint)
    lines.append(summary_line(outcome))
    return "".join(f"{line}\n" for line in lines)


def tables(outcome: Outcome, spec_uri: str, *, show_waived: bool = False) -> Iterable[Table]:
    """The findings as one Rich table, then the spec's waivers as another."""
    from rich.markup import escape
    from rich.table import Table

    found = rows(outcome, show_waived=show_waived)
    if found:
        table = Table(title="findings", title_justify="left")
        for column in ("severity", "rule", "where", "environments", "spec", "message"):
            table.add_column(column, overflow="fold")
        for row in found:
            severity = f"[{_STYLE[row.first.severity]}]{row.first.severity}[/]"
            if row.first.waived:
                severity = f"[dim]waived ({row.first.severity})[/]"
            table.add_row(
                severity,
                row.first.id,
                location(spec_uri, row.first.line),
                ", ".join(row.environments),
                escape(row.first.spec_path),
                escape(row.first.message),
            )
        yield table
    if outcome.waivers:
        yield _waiver_table(outcome.waivers, spec_uri)


def _waiver_table(waivers: Iterable[WaiverStatus], spec_uri: str) -> Table:
    """Each waiver with its reason and expiry, and what it waived or why it was refused: what a reviewer reads."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="waivers", title_justify="left")
    for column in ("status", "rule", "target", "expires", "reason", "waiver"):
        table.add_column(column, overflow="fold")
    for waiver in waivers:
        status = escape(_waiver_status(waiver))
        # Reasons are the spec author's text: never markup.
        table.add_row(
            status,
            waiver.id,
            escape(waiver.target),
            waiver.expires,
            escape(waiver.reason),
            _waiver_where(waiver, spec_uri),
        )
    return table
