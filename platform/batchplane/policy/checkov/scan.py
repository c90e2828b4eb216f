"""Checkov over the rendered roots (and a plan JSON), in this one process, failing closed.

Checkov fails open in several ways (see the README's policy catalogue): a
missing directory, a file that does not parse, a non-plan JSON file, an IAM
document it cannot evaluate all come back as a pass. Each becomes a finding
here (BP-TF-001, BP-TF-002, and the custom checks CKV_BP_1/2 fail what they
cannot evaluate). State that Checkov keeps between scans in one process (the
IAM policy cache) is cleared before every scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.policy.checkov import patches
from batchplane.policy.checkov.filters import (
    carry_inline_skips,
    inline_skip,
    module_file,
    without_absent_modules,
    without_grantless_documents,
)
from batchplane.policy.checkov.runtime import SCANS, ready
from batchplane.policy.checkov.severity import severity_of
from batchplane.policy.checkov.sourcemap import Location, SourceMap, root_location, unindexed
from batchplane.policy.findings import Finding, Outcome, Passed
from batchplane.policy.integrity.findings import UNREVIEWED_SKIP_ID, unreviewed_skip
from batchplane.policy.integrity.modules import reviewed
from batchplane.render.roots import SHARED_ROOT, has_shared_root
from batchplane.spec.loader import Spec

ROOT_SCAN_ID = "BP-TF-001"
IAM_COVERAGE_ID = "BP-TF-002"
TITLES = {
    ROOT_SCAN_ID: "Every rendered root is present and parses",
    IAM_COVERAGE_ID: "Every IAM document was evaluated",
}

# Roles carry inline and managed policies; attachments grant managed ones (CKV_BP_2 and CKV_BP_7 judge them).
_IAM_POLICY_TYPES = (
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_role_policy_attachments_exclusive",
)
_IAM_COVERAGE_CHECKS = ("CKV_BP_1", "CKV_BP_2", "CKV_BP_7")


def scan_roots(spec: Spec, environments: Sequence[str]) -> Outcome:
    """Checkov over the shared root (when every environment is checked) and each environment's root."""
    with SCANS:
        runner_filter = ready(spec)
        roots = list(environments)
        if set(environments) == set(spec.environments) and has_shared_root(spec.platform):
            roots.insert(0, SHARED_ROOT)
        outcome = Outcome(rule_titles=dict(TITLES))
        for root in roots:
            outcome = outcome.merged(_scan_root(spec, root, runner_filter(framework=["terraform"])))
        return outcome


def scan_plan(spec: Spec, environment: str, plan: Path, roots: Outcome) -> Outcome:
    """Checkov over a plan JSON of ``environment``; ``roots`` is the scan of its root (for inline skips).

    Split from :func:`scan_roots` so that the root can be scanned while terraform is still planning.
    """
    with SCANS:
        runner_filter = ready(spec)
        scanned = _scan_plan(spec, environment, plan, runner_filter(framework=["terraform_plan"]))
        return carry_inline_skips(roots, scanned, environment)


def _scan_root(spec: Spec, root: str, runner_filter: Any) -> Outcome:
    from checkov.terraform.runner import Runner

    directory = layout.root_dir(spec.root, root)
    where = root_location(spec, root)
    if not directory.is_dir() or not any(directory.glob("*.tf")):
        return _broken(root, where, f"rendered root environments/{root} is missing: run `batchplane render`")
    patches.clear_caches()
    command = ["checkov", "-d", str(directory), "--framework", "terraform"]
    try:
        report = Runner().run(root_folder=str(directory), runner_filter=runner_filter)
    except Exception as exc:  # Checkov's own failures come as any exception
        raise ToolError("checkov", command, f"{type(exc).__name__}: {exc}") from None
    modules = spec.root / layout.MODULES_DIR
    outcome = _outcome(root, report, SourceMap.read(directory, where), where, f"environments/{root}", modules)
    values = _root_values(directory)
    declared = any(e.path.startswith(f"environments/{root}/") for e in spec.platform.policy.extra_files)
    pruned = without_absent_modules(outcome, root, directory, values, declared=declared)
    return without_grantless_documents(pruned, values)


def _root_values(directory: Path) -> dict[str, Any]:
    """A root's terraform.tfvars.json; empty when it is missing or not an object (Checkov judges that)."""
    try:
        values = json.loads((directory / "terraform.tfvars.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def _scan_plan(spec: Spec, environment: str, plan: Path, runner_filter: Any) -> Outcome:
    from checkov.terraform.plan_runner import Runner as PlanRunner

    where = root_location(spec, environment)
    try:
        document = json.loads(plan.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _broken(environment, where, f"plan {plan} cannot be read as JSON: {exc}")
    if not isinstance(document, dict) or "format_version" not in document or "planned_values" not in document:
        return _broken(environment, where, f"{plan} is not a terraform plan JSON (terraform show -json PLANFILE)")
    patches.clear_caches()
    command = ["checkov", "-f", str(plan), "--framework", "terraform_plan"]
    try:
        report = PlanRunner().run(root_folder=None, files=[str(plan)], runner_filter=runner_filter)
    except Exception as exc:
        raise ToolError("checkov", command, f"{type(exc).__name__}: {exc}") from None
    sourcemap = SourceMap.read(layout.root_dir(spec.root, environment), where)
    modules = spec.root / layout.MODULES_DIR
    return _outcome(environment, report, sourcemap, where, str(plan), modules, unknown=known_after_apply(document))


def known_after_apply(document: dict[str, Any]) -> dict[str, set[str]]:
    """Per resource address: the top-level attributes a plan cannot know yet ("known after apply")."""
    unknown: dict[str, set[str]] = {}
    for change in document.get("resource_changes", []):
        after = (change.get("change") or {}).get("after_unknown") or {}
        if isinstance(after, dict):
            unknown[str(change.get("address", ""))] = {key for key, value in after.items() if value}
    return unknown


def _judged_on_unknowns(record: Any, unknown: dict[str, set[str]] | None) -> bool:
    """A plan verdict that rests only on values known after apply (e.g. a KMS key ARN of a new key).

    Checkov reads an unknown value as absent; such a verdict says nothing. The
    HCL scan of the same root judges the configuration that sets the value,
    and its verdict stands.
    """
    if unknown is None:
        return False
    keys = (record.check_result or {}).get("evaluated_keys") or []
    missing = unknown.get(record.resource, set())
    tops = {str(key).split("/")[0].split("[")[0] for key in keys}
    return bool(tops) and tops <= missing


def _broken(root: str, where: Location, message: str) -> Outcome:
    return Outcome((_root_finding(root, where, message),), (), dict(TITLES))


def _reports(report: Any) -> Iterable[Any]:
    return report if isinstance(report, list) else [report]


def _outcome(
    root: str,
    report: Any,
    sourcemap: SourceMap,
    where: Location,
    label: str,
    modules: Path,
    *,
    unknown: dict[str, set[str]] | None = None,
) -> Outcome:
    findings: list[Finding] = []
    passed: list[Passed] = []
    titles = dict(TITLES)
    evaluated: set[str] = set()
    resources: set[str] = set()
    for single in _reports(report):
        for error in single.parsing_errors:
            findings.append(_root_finding(root, where, f"{label}: {error} does not parse"))
        resources |= {r.split(":", 1)[-1] for r in single.resources}
        for record in single.passed_checks:
            spec_path, _ = sourcemap.locate(record.resource)
            passed.append(Passed(root, record.check_id, record.resource, spec_path))
            titles[record.check_id] = record.check_name
            if record.check_id in _IAM_COVERAGE_CHECKS:
                evaluated.add(record.resource)
        failed = [r for r in single.failed_checks if not _judged_on_unknowns(r, unknown)]
        judged = [(False, r) for r in failed] + [(True, r) for r in single.skipped_checks]
        for skipped, record in judged:
            spec_path, line = sourcemap.locate(record.resource)
            titles[record.check_id] = record.check_name
            if record.check_id in _IAM_COVERAGE_CHECKS:
                evaluated.add(record.resource)
            details = f" ({'; '.join(record.details)})" if getattr(record, "details", None) else ""
            reason = inline_skip(record, modules) if skipped else None
            unreviewed = module_file(record, modules) if skipped and reason is None else None
            if unreviewed is not None and not reviewed(unreviewed, modules):
                file = f"modules/{unreviewed.resolve().relative_to(modules.resolve()).as_posix()}"
                details += f" (inline skip ignored: {file} is not a reviewed module file, see {UNREVIEWED_SKIP_ID})"
                findings.append(unreviewed_skip(root, spec_path, line, record.resource, record.check_id, file))
            elif skipped and reason is None:
                details += " (inline skip ignored: waive it in the spec)"
            finding = Finding(
                environment=root,
                spec_path=spec_path,
                id=record.check_id,
                address=record.resource,
                severity=severity_of(record.check_id),
                line=line,
                message=f"{record.check_name}{details} [{_short(record.file_path)}]",
            )
            findings.append(finding.waive(reason) if reason else finding)
    if not resources and not findings:
        findings.append(_root_finding(root, where, f"{label}: Checkov found no resources to scan"))
    for address in sorted(resources):
        kind = address.split(".")[-2] if "." in address else ""
        if kind in _IAM_POLICY_TYPES and unindexed(address) not in {unindexed(a) for a in evaluated}:
            spec_path, line = sourcemap.locate(address)
            findings.append(
                Finding(root, spec_path, IAM_COVERAGE_ID, address, "critical", line, "IAM policy was not evaluated")
            )
    severities = {rule: severity_of(rule) for rule in titles}
    return Outcome(tuple(sorted(findings)), tuple(sorted(passed)), titles, rule_severities=severities)


def _root_finding(root: str, where: Location, message: str) -> Finding:
    return Finding(root, where[0], ROOT_SCAN_ID, "", "critical", where[1], message)


def _short(file_path: str) -> str:
    return file_path.lstrip("/").replace("../", "")
