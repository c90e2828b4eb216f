"""Root integrity's rule ids and titles, and how its findings are worded."""

from __future__ import annotations

from dataclasses import dataclass

from batchplane.policy.findings import Finding, Severity

UNDECLARED_ID = "BP-TF-003"
DIFFERS_ID = "BP-TF-004"
SYMLINK_ID = "BP-TF-005"
RESERVED_ID = "BP-TF-006"
MODULE_SOURCE_ID = "BP-TF-007"
UNREADABLE_ID = "BP-TF-008"
UNREVIEWED_SKIP_ID = "BP-TF-009"
TITLES = {
    UNDECLARED_ID: "A rendered root holds only files batchplane wrote or the spec declares",
    DIFFERS_ID: "Files batchplane renders are present and unchanged",
    SYMLINK_ID: "No symlink in a rendered root, none out of modules/",
    RESERVED_ID: "Overrides, values and Terraform settings come from render alone",
    MODULE_SOURCE_ID: "Module sources resolve inside the repository's modules/",
    UNREADABLE_ID: "Every file the gate must read parses",
    UNREVIEWED_SKIP_ID: "Inline skips count only in reviewed module files",
}


@dataclass(frozen=True)
class Where:
    """Where findings of one root are shown in the spec."""

    environment: str
    spec_path: str
    line: int | None


def finding(where: Where, rule: str, address: str, message: str, severity: Severity = "critical") -> Finding:
    """A finding on ``address`` (a file, ``file:line``), its message led by the address."""
    return Finding(where.environment, where.spec_path, rule, address, severity, where.line, f"{address} {message}")


def reason(exc: BaseException) -> str:
    """The first line of why a file does not parse, at most 200 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def unreviewed_skip(environment: str, spec_path: str, line: int | None, address: str, check: str, file: str) -> Finding:
    """BP-TF-009: an inline skip in a module file batchplane does not know, reported and not honoured."""
    return Finding(
        environment,
        spec_path,
        UNREVIEWED_SKIP_ID,
        address,
        "high",
        line,
        f"inline skip of {check} in {file} is not honoured: that module file is not on batchplane's reviewed "
        f"list (new or edited); the finding stands until the module is reviewed and the list regenerated",
    )
