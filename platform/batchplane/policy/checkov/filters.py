"""What the Checkov scan keeps of Checkov's verdicts: reviewed inline skips, and only modules that exist.

Checkov judges what it reads; some of its verdicts say nothing about what
Terraform will create (a module instantiated zero times, a job document that
is never built), and a plan scan cannot read the comments that waive a
finding in a reviewed module. These functions adjust a scan's outcome for
exactly those cases, from facts of the root (its values, its files).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from batchplane.policy.checkov.sourcemap import unindexed
from batchplane.policy.findings import Finding, Outcome
from batchplane.policy.integrity.configuration import loads_only_rendered
from batchplane.policy.integrity.modules import reviewed
from batchplane.render.roots import absent_modules, static_main_tf

INLINE_SKIP = "inline skip in modules/: "


def module_file(record: Any, modules: Path) -> Path | None:
    """The file of a Checkov record when it lies inside the repository's ``modules/``."""
    path = Path(getattr(record, "file_abs_path", "") or "")
    try:
        path.resolve().relative_to(modules.resolve())
    except ValueError:
        return None
    return path


def inline_skip(record: Any, modules: Path) -> str | None:
    """The reason of an inline skip that counts as a waiver, else None.

    Reviewed module code may skip a built-in check with a reason (it shows as
    waived): a file of ``modules/`` whose content is on the package's known
    list (:func:`batchplane.policy.integrity.modules.reviewed`). A skip in a new or
    edited module file, in a generated root, in a plan, or of our own checks
    is ignored: those are waived in the spec or not at all.
    """
    if record.check_id.startswith(("CKV_BP_", "CKV2_BP_")):
        return None
    path = module_file(record, modules)
    if path is None or not reviewed(path, modules):
        return None
    reason = (record.check_result or {}).get("suppress_comment") or "no reason given"
    return f"{INLINE_SKIP}{reason}"


def skipped_inline(finding: Finding) -> bool:
    """Whether a finding is waived by a reviewed module's inline skip."""
    return finding.waived and (finding.waiver_reason or "").startswith(INLINE_SKIP)


def plain_address(address: str) -> str:
    """An address without instance keys and data-source prefixes, comparable between HCL and plan scans."""
    return unindexed(address).replace(".data.", ".").removeprefix("data.")


def carry_inline_skips(roots: Outcome, plan: Outcome, environment: str) -> Outcome:
    """Plan scans cannot see comments: apply the module skips the HCL scan of the same root honoured."""
    skips = {
        (f.id, plain_address(f.address)): f.waiver_reason
        for f in (*roots.findings, *roots.dormant_skips)
        if f.environment == environment and skipped_inline(f)
    }
    findings = []
    for finding in plan.findings:
        reason = skips.get((finding.id, plain_address(finding.address)))
        findings.append(finding.waive(reason) if reason and not finding.waived else finding)
    return replace(plan, findings=tuple(findings))


def without_absent_modules(
    outcome: Outcome, root: str, directory: Path, values: dict[str, Any], *, declared: bool = False
) -> Outcome:
    """Drop every verdict on a module call that the root instantiates zero times.

    Checkov evaluates a module called with ``count = 0`` or an empty
    ``for_each`` once anyway, with its variables unresolved: an environment
    that reuses a network got flow-log findings on a VPC it never creates, and
    one without jobs a critical "cannot be evaluated" on a job policy that does
    not exist. Terraform creates nothing there, so there is nothing to judge.
    The instance counts come from the root's own values
    (:func:`~batchplane.render.roots.absent_modules`), and only while its
    ``main.tf`` is batchplane's own, byte for byte, and no other file
    Terraform loads is there: a hand-edited ``count``, an override or
    ``*.auto.tfvars`` file, or any file the spec declares in the root
    (``declared``: ``policy.extra_files``) keeps every verdict.

    Verdicts waived by a reviewed module's inline skip are kept aside
    (``dormant_skips``): a plan scan cannot read comments and takes its skips
    from this scan (:func:`carry_inline_skips`), and local mode does create the
    module of an environment that reuses a real network (its stand-in).
    """
    try:
        own = (directory / "main.tf").read_text(encoding="utf-8") == static_main_tf(root)
    except OSError:
        own = False
    own = own and not declared and loads_only_rendered(directory, root)
    absent = absent_modules(root, values) if own else set()
    if not absent:
        return outcome

    def exists(address: str) -> bool:
        return not any(address.startswith((f"module.{m}.", f"module.{m}[")) for m in absent)

    return replace(
        outcome,
        findings=tuple(f for f in outcome.findings if exists(f.address)),
        dormant_skips=tuple(f for f in outcome.findings if not exists(f.address) and skipped_inline(f)),
        passed=tuple(p for p in outcome.passed if exists(p.address)),
    )


_JOB_DOCUMENT = re.compile(r'^module\.job\["(?P<job>[^"]+)"\]\.(?:data\.)?aws_iam_policy_document\.job(?:\[0\])?$')
_NOTHING_TO_JUDGE = "(no statement could be evaluated)"


def without_grantless_documents(outcome: Outcome, values: dict[str, Any]) -> Outcome:
    """Drop CKV_BP_1's "no statement could be evaluated" on the job policy of a job that grants nothing.

    ``modules/job`` builds that document only when the job has statements
    (``count``), but Checkov evaluates the ``count`` of a module's data
    source as 1 and then sees a dynamic block over an empty list. Whether the
    list is empty is known exactly from the root's own values: the job's
    ``policy_statements`` in ``terraform.tfvars.json``. Any other verdict on
    the document (a wildcard, an unresolved list) stands.
    """
    jobs = values.get("jobs")
    if not isinstance(jobs, dict):
        return outcome

    def grantless(finding: Finding) -> bool:
        match = _JOB_DOCUMENT.match(finding.address)
        if finding.id != "CKV_BP_1" or match is None or _NOTHING_TO_JUDGE not in finding.message:
            return False
        job = jobs.get(match.group("job"))
        return isinstance(job, dict) and job.get("policy_statements") == []

    return replace(outcome, findings=tuple(f for f in outcome.findings if not grantless(f)))
