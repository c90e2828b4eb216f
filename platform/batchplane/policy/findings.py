"""One finding model for spec rules and Checkov, and the outcome of a whole check."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from batchplane.errors import BatchplaneError, ExitCode

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
"""Lowest first: the words of ``--fail-on`` and of every report."""

ALL_ENVIRONMENTS = "*"
"""The environment of findings that concern the spec as a whole (waivers)."""


def severity_rank(severity: Severity) -> int:
    """0 for info up to 4 for critical."""
    return SEVERITIES.index(severity)


def raised(severity: Severity, steps: int = 1) -> Severity:
    """A severity ``steps`` levels higher, capped at critical."""
    return SEVERITIES[min(severity_rank(severity) + steps, len(SEVERITIES) - 1)]


_FINDING_FIELDS = ("id", "severity", "environment", "address", "spec_path", "line", "message", "waived")
"""A finding's JSON members, in the documented order."""


@dataclass(frozen=True, order=True)
class Finding:
    """A rule that failed on one subject, located in the spec a human edits."""

    environment: str
    spec_path: str
    id: str
    address: str
    severity: Severity
    line: int | None
    message: str
    waived: bool = False
    waiver_reason: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, object]:
        """The JSON form: exactly the documented field names."""
        return {name: getattr(self, name) for name in _FINDING_FIELDS}

    def waive(self, reason: str) -> Finding:
        return replace(self, waived=True, waiver_reason=reason)


@dataclass(frozen=True, order=True)
class Passed:
    """A rule that held on one subject (a JUnit test case without a failure)."""

    environment: str
    id: str
    address: str
    spec_path: str


@dataclass(frozen=True)
class WaiverStatus:
    """One waiver of the spec as the check judged it: what the reports list."""

    index: int
    id: str
    target: str
    reason: str
    expires: str
    line: int | None
    refused: tuple[str, ...] = ()
    """Why it waives nothing, one sentence each; empty when it is accepted."""
    waived: tuple[Finding, ...] = ()
    new_since_base: bool | None = None
    """Whether ``check --base`` found it added (or widened) since the base; None without --base."""

    def as_dict(self) -> dict[str, object]:
        """The JSON form: exactly the documented field names."""
        return {
            "id": self.id,
            "target": self.target,
            "reason": self.reason,
            "expires": self.expires,
            "line": self.line,
            "status": "refused" if self.refused else "accepted",
            "refused_because": list(self.refused),
            "waived": [
                {"id": f.id, "environment": f.environment, "spec_path": f.spec_path, "severity": f.severity}
                for f in self.waived
            ],
            "new_since_base": self.new_since_base,
        }


@dataclass(frozen=True)
class Outcome:
    """Everything one check produced, in a stable order."""

    findings: tuple[Finding, ...] = ()
    passed: tuple[Passed, ...] = ()
    rule_titles: dict[str, str] = field(default_factory=dict)
    waivers: tuple[WaiverStatus, ...] = ()
    """Every waiver of the spec and its verdict (set by the waiver step, which comes last)."""
    dormant_skips: tuple[Finding, ...] = ()
    """Verdicts on modules a root does not instantiate that a reviewed inline skip waives: never
    reported, but a plan that creates such a module anyway (local mode's stand-in network) takes
    its skips from here, as a plan scan cannot read comments."""
    rule_severities: dict[str, Severity] = field(default_factory=dict)
    """Each rule's declared severity, for reports that rate rules (SARIF) even where none failed."""

    def merged(self, other: Outcome) -> Outcome:
        return Outcome(
            tuple(sorted((*self.findings, *other.findings))),
            tuple(sorted((*self.passed, *other.passed))),
            {**self.rule_titles, **other.rule_titles},
            (*self.waivers, *other.waivers),
            (*self.dormant_skips, *other.dormant_skips),
            {**self.rule_severities, **other.rule_severities},
        )

    def summary(self) -> dict[str, int]:
        return {
            "failed": sum(not f.waived for f in self.findings),
            "waived": sum(f.waived for f in self.findings),
            "passed": len(self.passed),
        }

    def blocking(self, fail_on: Severity) -> list[Finding]:
        """Unwaived findings at or above ``fail_on``."""
        floor = severity_rank(fail_on)
        return [f for f in self.findings if not f.waived and severity_rank(f.severity) >= floor]


class PolicyFailedError(BatchplaneError):
    """Unwaived findings at or above the --fail-on severity remain."""

    exit_code = ExitCode.POLICY_FAILED
