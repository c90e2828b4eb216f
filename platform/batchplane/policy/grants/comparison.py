"""The plan gate's verdicts: each IAM-bearing resource of a plan against what the spec produces."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from batchplane.policy.checkov.sourcemap import Location
from batchplane.policy.findings import Finding, Outcome, Passed
from batchplane.policy.grants.expected import Expected
from batchplane.policy.grants.planned import (
    POLICY_ATTRIBUTES,
    MergedDocumentError,
    Planned,
    document_statements,
    is_iam_bearing,
    is_unknown,
    module_prefix,
    planned_resources,
    references_only,
)
from batchplane.policy.grants.statements import Statement, parse_policy, uncovered

EXTRA_RESOURCE_ID = "BP-PLAN-001"
EXTRA_GRANT_ID = "BP-PLAN-002"
EXTRA_PRINCIPAL_ID = "BP-PLAN-003"
EXTRA_ATTACHMENT_ID = "BP-PLAN-004"
UNKNOWN_ID = "BP-PLAN-005"
WRONG_TARGET_ID = "BP-PLAN-006"
UNREADABLE_ID = "BP-PLAN-007"
TITLES = {
    EXTRA_RESOURCE_ID: "Every IAM-bearing resource in the plan is one the spec produces",
    EXTRA_GRANT_ID: "Every grant in the plan is one the spec produces",
    EXTRA_PRINCIPAL_ID: "Every trusted or resource-policy principal is one the spec produces",
    EXTRA_ATTACHMENT_ID: "Every managed or inline policy of a role is one the spec produces",
    UNKNOWN_ID: "No IAM-relevant value is unknown at plan time",
    WRONG_TARGET_ID: "Every policy, attachment and profile targets the role the spec names",
    UNREADABLE_ID: "The plan JSON can be read",
}


@dataclass
class _Judge:
    root: str
    partition: str
    expected: dict[str, Expected]
    resources: dict[str, Planned]
    locate: Callable[[str], Location]
    findings: list[Finding] = field(default_factory=list)

    def finding(self, rule: str, address: str, message: str) -> None:
        spec_path, line = self.locate(address)
        # The address leads the message: the text report names the spec path, the address says where in Terraform.
        self.findings.append(Finding(self.root, spec_path, rule, address, "critical", line, f"{address}: {message}"))

    def unknown(self, resource: Planned, attribute: str) -> bool:
        if is_unknown(resource.unknown.get(attribute)):
            self.finding(
                UNKNOWN_ID,
                resource.address,
                f"{attribute} is unknown at plan time: an unknown value never widens what the spec grants",
            )
            return True
        return False

    def document(self, resource: Planned, attribute: str, text: Any) -> list[Statement] | None:
        try:
            return parse_policy(str(text), self.partition)
        except ValueError as exc:
            self.finding(UNREADABLE_ID, resource.address, f"{attribute} is not a JSON policy document: {exc}")
            return None

    def statements(
        self, address: str, planned: list[Statement], expected: Iterable[Statement], what: str, *, principals: bool
    ) -> None:
        wanted = list(expected)
        for statement in planned:
            if statement.effect == "Deny":
                continue  # only narrows
            if statement.effect != "Allow":
                self.finding(EXTRA_GRANT_ID, address, f"{what}: a statement with effect {statement.effect!r}")
                continue
            extra = uncovered(statement, wanted, resource_policy=principals)
            if not extra:
                continue
            grants = [e for e in extra if not e.startswith("principal ")]
            people = [e for e in extra if e.startswith("principal ")]
            if people:
                self.finding(EXTRA_PRINCIPAL_ID, address, f"{what} trusts what the spec does not: {'; '.join(people)}")
            if grants:
                self.finding(EXTRA_GRANT_ID, address, f"{what} grants what the spec does not: {'; '.join(grants)}")

    # -- per type --

    def role(self, resource: Planned, want: Expected) -> None:
        after = resource.after
        if not self.unknown(resource, "name") and after.get("name") != want.name:
            self.finding(
                WRONG_TARGET_ID, resource.address, f"role name {after.get('name')!r}, the spec names {want.name!r}"
            )
        if not self.unknown(resource, "assume_role_policy"):
            trust = self.document(resource, "assume_role_policy", after.get("assume_role_policy"))
            if trust is not None:
                self.statements(resource.address, trust, want.statements, "trust policy", principals=True)
        config = resource.config or {}
        for attribute in ("inline_policy", "managed_policy_arns"):
            if is_unknown(resource.unknown.get(attribute)) and attribute in config:
                self.unknown(resource, attribute)
        for entry in after.get("inline_policy") or []:
            name = entry.get("name")
            if name not in want.inline:
                self.finding(EXTRA_ATTACHMENT_ID, resource.address, f"inline policy {name!r} the spec does not produce")
                continue
            statements = self.document(resource, f"inline policy {name!r}", entry.get("policy"))
            if statements is not None:
                self.statements(
                    resource.address, statements, want.inline[name], f"inline policy {name!r}", principals=False
                )
        for arn in after.get("managed_policy_arns") or []:
            if arn not in want.managed:
                self.finding(EXTRA_ATTACHMENT_ID, resource.address, f"managed policy {arn} the spec does not attach")

    def role_target(self, resource: Planned, want: Expected) -> None:
        if is_unknown(resource.unknown.get("role")):
            if want.role_reference and references_only(resource.config, "role", want.role_reference):
                return  # the expected role of this module instance: its id is its name, created here
            self.unknown(resource, "role")
        elif resource.after.get("role") != want.role:
            self.finding(
                WRONG_TARGET_ID,
                resource.address,
                f"attached to role {resource.after.get('role')!r}, the spec names {want.role!r}",
            )

    def role_policy(self, resource: Planned, want: Expected) -> None:
        self.role_target(resource, want)
        statements: list[Statement] | None
        if is_unknown(resource.unknown.get("policy")):
            statements = self.deferred(resource, want)
        else:
            statements = self.document(resource, "policy", resource.after.get("policy"))
        if statements is not None:
            self.statements(resource.address, statements, want.statements, "policy", principals=False)

    def deferred(self, resource: Planned, want: Expected) -> list[Statement] | None:
        """The statements of the expected document, when ``policy`` is a bare reference to it."""
        if want.document is None or not references_only(resource.config, "policy", want.document):
            self.unknown(resource, "policy")
            return None
        data = self.resources.get(module_prefix(resource.address) + want.document)
        if data is None:
            self.unknown(resource, "policy")
            return None
        try:
            return document_statements(data, self.partition)
        except ValueError as exc:
            rule = EXTRA_GRANT_ID if isinstance(exc, MergedDocumentError) else UNKNOWN_ID
            self.finding(rule, resource.address, f"policy from {data.address}: {exc}")
            return None

    def attachment(self, resource: Planned, want: Expected) -> None:
        self.role_target(resource, want)
        if not self.unknown(resource, "policy_arn") and resource.after.get("policy_arn") not in want.managed:
            self.finding(
                EXTRA_ATTACHMENT_ID,
                resource.address,
                f"attaches {resource.after.get('policy_arn')} the spec does not attach",
            )

    def resource_policy(self, resource: Planned, want: Expected) -> None:
        repository = want.type == "aws_ecr_repository_policy" and not self.unknown(resource, "repository")
        if repository and resource.after.get("repository") != want.name:
            self.finding(
                WRONG_TARGET_ID,
                resource.address,
                f"policy of repository {resource.after.get('repository')!r}, the spec names {want.name!r}",
            )
        if not self.unknown(resource, "policy"):
            statements = self.document(resource, "policy", resource.after.get("policy"))
            if statements is not None:
                self.statements(resource.address, statements, want.statements, "resource policy", principals=True)

    def judge(self, resource: Planned) -> bool:
        """Judge one managed resource; True when it is IAM-bearing."""
        want = self.expected.get(resource.address)
        if want is None or want.type != resource.type:
            if not is_iam_bearing(resource):
                return False
            keys = sorted((set(resource.after) | set(resource.config or {})) & POLICY_ATTRIBUTES)
            carried = f" (carries {', '.join(keys)})" if keys else ""
            self.finding(
                EXTRA_RESOURCE_ID,
                resource.address,
                f"{resource.type} the spec does not produce{carried}: batchplane renders every grant from the spec",
            )
            return True
        if want.type == "aws_iam_role":
            self.role(resource, want)
        elif want.type == "aws_iam_role_policy":
            self.role_policy(resource, want)
        elif want.type == "aws_iam_role_policy_attachment":
            self.attachment(resource, want)
        elif want.type == "aws_iam_instance_profile":
            self.role_target(resource, want)
        else:
            self.resource_policy(resource, want)
        return True


def compare(
    document: dict[str, Any],
    root: str,
    expected: dict[str, Expected],
    partition: str,
    locate: Callable[[str], Location],
) -> Outcome:
    """Findings for every IAM-bearing resource of a plan JSON that goes beyond ``expected``."""
    resources = {r.address: r for r in planned_resources(document)}
    judge = _Judge(root, partition, expected, resources, locate)
    passed: list[Passed] = []
    for resource in resources.values():
        if resource.mode != "managed":
            continue
        before = len(judge.findings)
        if judge.judge(resource) and len(judge.findings) == before:
            spec_path, _ = locate(resource.address)
            passed.append(Passed(root, EXTRA_GRANT_ID, resource.address, spec_path))
    return Outcome(tuple(sorted(judge.findings)), tuple(sorted(passed)), dict(TITLES))
