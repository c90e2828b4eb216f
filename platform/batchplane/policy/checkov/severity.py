"""Severities of Checkov's checks: without an API key Checkov has none, so these are batchplane's.

Its own module, importing nothing of the Checkov layer: waivers read it on
``check --spec-only`` to refuse waivers of the critical custom checks.
"""

from __future__ import annotations

from batchplane.policy.findings import Severity

_HIGH = {"CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_286"}
_HIGH |= {"CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355", "CKV_AWS_210", "CKV_AWS_274"}
CUSTOM_SEVERITY: dict[str, Severity] = {
    "CKV_BP_1": "critical",
    "CKV_BP_2": "critical",
    "CKV_BP_3": "medium",
    "CKV_BP_4": "critical",
    "CKV_BP_5": "critical",
    "CKV_BP_6": "high",
    "CKV_BP_7": "critical",
    "CKV2_BP_1": "low",
}
"""batchplane's own checks (``policies/checks/``)."""

CRITICAL_CHECKOV_IDS = frozenset(check for check, severity in CUSTOM_SEVERITY.items() if severity == "critical")
"""Their waivers are refused like those of critical spec rules (:mod:`batchplane.policy.waivers`)."""


def severity_of(check_id: str) -> Severity:
    """A custom check's own severity; ``high`` for built-in IAM and privileged-container checks, else ``medium``."""
    if check_id in CUSTOM_SEVERITY:
        return CUSTOM_SEVERITY[check_id]
    return "high" if check_id in _HIGH else "medium"
