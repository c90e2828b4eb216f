"""Reports for CI: GitHub workflow-command annotations and a Markdown summary.

``github``: one ``::error``/``::warning``/``::notice`` line per finding with
``file=`` and ``line=`` at the spec, which GitHub shows on the pull request's diff
without code scanning (no Advanced Security licence needed). Critical and high are
errors, medium and low warnings, info and waived findings notices.

``markdown``: the verdict, a table of findings and one of waivers, for a pull
request comment or ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

from batchplane.policy.findings import Outcome, Severity
from batchplane.policy.reports import Row, hidden_line, location, rows, summary_line

_COMMAND: dict[Severity, str] = {
    "info": "notice",
    "low": "warning",
    "medium": "warning",
    "high": "error",
    "critical": "error",
}


def _data(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped (GitHub's rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,`` escaped."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(row: Row, spec_uri: str) -> str:
    finding = row.first
    command = "notice" if finding.waived else _COMMAND[finding.severity]
    state = f"waived {finding.severity}" if finding.waived else finding.severity
    properties = [f"file={_property(spec_uri)}"]
    if finding.line:
        properties.append(f"line={finding.line}")
    properties.append(f"title={_property(f'{finding.id} ({state})')}")
    return f"::{command} {','.join(properties)}::{_data(f'{row.where}: {finding.message}')}"


def to_github(outcome: Outcome, spec_uri: str, *, show_waived: bool = False) -> str:
    lines = [_annotation(row, spec_uri) for row in rows(outcome, show_waived=show_waived)]
    for waiver in outcome.waivers:
        if waiver.refused:
            where = [f"file={_property(spec_uri)}"] + ([f"line={waiver.line}"] if waiver.line else [])
            title = _property(f"waiver of {waiver.id} refused")
            lines.append(f"::error {','.join(where)},title={title}::{_data('; '.join(waiver.refused))}")
    hint = hidden_line(outcome, show_waived)
    lines.append(f"::notice title=batchplane check::{_data(summary_line(outcome) + (f' ({hint})' if hint else ''))}")
    return "".join(f"{line}\n" for line in lines)


def _cell(text: str) -> str:
    """Text in a Markdown table cell: pipes escaped, one line, no HTML."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(outcome: Outcome, spec_uri: str, *, show_waived: bool = False) -> str:
    counts = outcome.summary()
    verdict = "passed" if counts["failed"] == 0 else f"{counts['failed']} finding(s) to fix"
    lines = [f"### batchplane check: {verdict}", "", summary_line(outcome) + ".", ""]
    found = rows(outcome, show_waived=show_waived)
    if found:
        lines += ["| severity | rule | where | environments | spec | message |", "|---|---|---|---|---|---|"]
        for row in found:
            severity = f"waived ({row.first.severity})" if row.first.waived else f"**{row.first.severity}**"
            lines.append(
                f"| {severity} | `{row.first.id}` | `{_cell(location(spec_uri, row.first.line))}` | "
                f"{_cell(', '.join(row.environments))} | `{_cell(row.first.spec_path)}` | {_cell(row.first.message)} |"
            )
        lines.append("")
    if outcome.waivers:
        lines += ["| waiver | status | rule | target | expires | reason |", "|---|---|---|---|---|---|"]
        for waiver in outcome.waivers:
            status = (
                "refused: " + "; ".join(waiver.refused) if waiver.refused else f"accepted ({len(waiver.waived)} waived)"
            )
            if waiver.new_since_base:
                status += ", **new**"
            lines.append(
                f"| `{_cell(location(spec_uri, waiver.line))}` | {_cell(status)} | `{waiver.id}` | "
                f"`{_cell(waiver.target)}` | {waiver.expires} | {_cell(waiver.reason)} |"
            )
        lines.append("")
    hint = hidden_line(outcome, show_waived)
    if hint:
        lines += [f"_{hint}_", ""]
    return "\n".join(lines)
