"""Report formats of a check: text, json, SARIF 2.1.0, JUnit XML, GitHub annotations and Markdown.

Pure functions from an :class:`Outcome` to text; the command decides where it goes.

What every human-facing format shares (text, github, markdown):

* one row per finding, with the environments it affects (a finding of ``jobs.x`` in
  dev, test and prod is one row, not three);
* the location is ``platform.yaml:LINE`` (the spec's path relative to the repository
  root), which editors and CI logs turn into a link;
* waived findings are hidden unless ``show_waived``: the waiver list says what each
  waiver waived, and a passing run is not hundreds of rows of accepted findings.

The machine formats (json, sarif, junit) keep every finding: waived ones are marked
(``"waived": true``, a SARIF suppression, a skipped JUnit test case).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby
from typing import Literal, get_args

from batchplane.policy.findings import ALL_ENVIRONMENTS, Finding, Outcome, severity_rank

# Rich and ElementTree are imported by the formats that use them: `check --spec-only --format json`
# is a pre-commit hook, and every import is start-up time.

ReportFormat = Literal["text", "json", "sarif", "junit", "github", "markdown"]
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
"""The words of ``--format``: :func:`render` writes each."""


@dataclass(frozen=True)
class Row:
    """One finding as a reader sees it: the environments it affects folded into one row."""

    first: Finding
    environments: tuple[str, ...]

    @property
    def where(self) -> str:
        """``jobs.x.image`` with the environment names, e.g. ``[dev, prod]``."""
        return f"[{', '.join(self.environments)}] {self.first.spec_path}"


def environment_label(environment: str) -> str:
    return "spec" if environment == ALL_ENVIRONMENTS else environment


def rows(outcome: Outcome, *, show_waived: bool = False) -> list[Row]:
    """Findings folded across environments, worst first; waived ones only when asked for."""

    def key(f: Finding) -> tuple[object, ...]:
        return (-severity_rank(f.severity), f.id, f.spec_path, f.line or 0, f.address, f.message, f.waived)

    shown = sorted((f for f in outcome.findings if show_waived or not f.waived), key=key)
    folded: list[Row] = []
    for _, group in groupby(shown, key=key):
        members = list(group)
        environments = tuple(dict.fromkeys(environment_label(f.environment) for f in members))
        folded.append(Row(members[0], environments))
    return folded


def location(spec_uri: str, line: int | None) -> str:
    """``platform.yaml:42`` (or the bare path when the finding has no line)."""
    return f"{spec_uri}:{line}" if line else spec_uri


def summary_line(outcome: Outcome) -> str:
    counts = outcome.summary()
    return f"{counts['failed']} failed, {counts['waived']} waived, {counts['passed']} passed"


def hidden_line(outcome: Outcome, show_waived: bool) -> str | None:
    """The hint under a report that left waived findings out, or None."""
    waived = outcome.summary()["waived"]
    if show_waived or not waived:
        return None
    return f"{waived} waived finding(s) not shown (--show-waived lists them)"


def render(outcome: Outcome, fmt: str, spec_uri: str, *, show_waived: bool = False, help_uri: str | None = None) -> str:
    """The report in one of :data:`FORMATS`; ``spec_uri`` is platform.yaml relative to the repository root."""
    if fmt == "json":
        return to_json(outcome)
    if fmt == "sarif":
        from batchplane.policy.reports.sarif import to_sarif

        return json.dumps(to_sarif(outcome, spec_uri, help_uri), indent=2, sort_keys=True) + "\n"
    if fmt == "junit":
        from batchplane.policy.reports.junit import to_junit

        return to_junit(outcome, spec_uri)
    if fmt == "text":
        from batchplane.policy.reports.text import to_text

        return to_text(outcome, spec_uri, show_waived=show_waived)
    if fmt == "github":
        from batchplane.policy.reports.ci import to_github

        return to_github(outcome, spec_uri, show_waived=show_waived)
    if fmt == "markdown":
        from batchplane.policy.reports.ci import to_markdown

        return to_markdown(outcome, spec_uri, show_waived=show_waived)
    raise ValueError(f"unknown format {fmt!r}")


def to_json(outcome: Outcome) -> str:
    """Findings, every waiver with its verdict, and the counts."""
    document = {
        "findings": [f.as_dict() for f in outcome.findings],
        "waivers": [w.as_dict() for w in outcome.waivers],
        "summary": outcome.summary(),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
