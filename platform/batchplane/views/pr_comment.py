"""The pull-request comment: every saved plan of a change, and the policy result, in one Markdown document.

Made from the ``summary.json`` that ``batchplane plan`` writes beside each saved plan
(:mod:`batchplane.terraform.summary`) and, optionally, the JSON report of
``batchplane check``. The first line is a marker, so a workflow finds and updates its
own comment instead of adding one per push. Byte-stable: the same plans give the same
comment (sorted, no times, no paths of the machine that made it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batchplane.terraform.summary import UNKNOWN, PlanSummary

MARKER = "<!-- batchplane:plan-comment -->"
MAX_LINES = 25
"""Per list in a section; the rest is counted, not shown (a comment has a size limit)."""

_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
_STYLE = {"create": "add", "update": "change", "replace": "replace", "delete": "destroy"}


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"- … and {len(lines) - MAX_LINES} more"]


def _changes(summary: PlanSummary) -> list[str]:
    lines: list[str] = []
    for action in ("replace", "delete", "update", "create"):
        chosen = [c for c in summary.changes if c.action == action]
        if not chosen:
            continue
        lines.append(f"**{_STYLE[action]}** ({len(chosen)})")
        lines.append("")
        entries = []
        replaced = {r.address: r for r in summary.replacements}
        for change in chosen:
            forced = f" — forced by {', '.join(_code(p) for p in change.forced_by)}" if change.forced_by else ""
            entry = f"- {_SYMBOL[action]} {_code(change.address)}{forced}"
            if change.address in replaced:
                what = replaced[change.address]
                entry += "".join(
                    f"\n  - {label}: {_cell(text)}"
                    for label, text in (
                        ("how", what.steps),
                        ("queued jobs", what.queued_jobs),
                        ("running jobs", what.running_jobs),
                    )
                )
            entries.append(entry)
        lines += [*_capped(entries), ""]
    return lines


def _grants(summary: PlanSummary) -> list[str]:
    if not summary.grants:
        return []
    entries = []
    for grant in summary.grants:
        entries += [
            f"- {_code(grant.address)}: {_code(line) if UNKNOWN in line else f'**added** {_code(line)}'}"
            for line in grant.added
        ]
        entries += [f"- {_code(grant.address)}: **removed** {_code(line)}" for line in grant.removed]
    return ["**IAM grants**", "", *_capped(entries), ""]


def _values(title: str, values: Sequence[Any]) -> list[str]:
    if not values:
        return []
    lines = [f"**{title}**", "", "| resource | attribute | before | after |", "|---|---|---|---|"]
    rows = [
        f"| {_code(v.address)} | {v.attribute} | {_cell(v.before)} | {_cell(v.after)} |" for v in values[:MAX_LINES]
    ]
    if len(values) > MAX_LINES:
        rows.append(f"| … and {len(values) - MAX_LINES} more | | | |")
    return [*lines, *rows, ""]


def _mermaid(summaries: Sequence[PlanSummary]) -> list[str]:
    """What changes, as a picture: each root and the resources its plan touches."""
    changed = [(s.root, c) for s in summaries for c in s.changes]
    if not changed or len(changed) > 40:
        return []
    lines = ["```mermaid", "flowchart LR"]
    for index, summary in enumerate(summaries):
        if summary.changes:
            lines.append(f'  r{index}["{summary.root}"]')
    counter = 0
    for index, summary in enumerate(summaries):
        for change in summary.changes:
            label = f"{_SYMBOL[change.action]} {change.address}".replace('"', "#quot;")
            lines.append(f'  r{index} --> c{counter}["{label}"]:::{_STYLE[change.action]}')
            counter += 1
    lines += [
        "  classDef add fill:#e6ffec,stroke:#2da44e",
        "  classDef change fill:#fff8c5,stroke:#bf8700",
        "  classDef replace fill:#ffebe9,stroke:#cf222e",
        "  classDef destroy fill:#ffebe9,stroke:#cf222e,stroke-dasharray: 4",
        "```",
        "",
    ]
    return lines


def _policy(check: dict[str, Any] | None) -> list[str]:
    if check is None:
        return ["Policy gate: not part of this comment (run `batchplane check` in the same workflow).", ""]
    counts = check.get("summary", {})
    failed = int(counts.get("failed", 0))
    verdict = "passed" if failed == 0 else f"**{failed} finding(s) to fix**"
    line = (
        f"Policy gate: {verdict} ({failed} failed, {counts.get('waived', 0)} waived, {counts.get('passed', 0)} passed)."
    )
    new = [w for w in check.get("waivers", []) if w.get("new_since_base")]
    extra = [f"- new waiver of {_code(str(w.get('id')))} on {_code(str(w.get('target')))}" for w in new]
    return [line, "", *extra, *([""] if extra else [])]


def comment(summaries: Sequence[PlanSummary], check: dict[str, Any] | None = None, *, title: str = "") -> str:
    """The whole comment; ``summaries`` in the order the roots should appear."""
    lines = [MARKER, f"## batchplane plan{f': {title}' if title else ''}", ""]
    if not summaries:
        lines += ["No saved plan: nothing to review (`batchplane plan --env ENV` saves one).", ""]
    else:
        lines += ["| root | add | change | replace | destroy |", "|---|---|---|---|---|"]
        for summary in summaries:
            c = summary.counts
            lines.append(f"| {summary.root} | {c['add']} | {c['change']} | {c['replace']} | {c['destroy']} |")
        lines.append("")
    lines += _policy(check)
    lines += _mermaid(summaries)
    for summary in summaries:
        lines += [f"### {summary.root}", ""]
        if not summary.changes:
            lines += ["No changes.", ""]
            continue
        lines += _changes(summary)
        lines += _grants(summary)
        lines += _values("Capacity", summary.capacity)
        lines += _values("Images", summary.images)
    return "\n".join(lines).rstrip("\n") + "\n"
