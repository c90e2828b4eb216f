"""Bypass corpus, HCL scan: IAM written so that a string-pattern scanner reads it as harmless.

Each attempt reaches Checkov the way a pull request can: reviewed module code
changed (``modules/job/main.tf``), a module added under ``modules/``, or a file
the spec declares in ``policy.extra_files``. Each is one test: the full
``check --env dev`` (real Checkov, in this process) exits 4 with a ``CKV_BP_*``
finding naming the Terraform address. Editing a reviewed module may also raise
the root-integrity findings of its own (BP-TF-*); these tests assert on the
custom checks' verdict only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import app
from tests.conftest import copy_example

runner = CliRunner()

JOB = 'module.job["csv-ingest"]'
TASK_TRUST = "  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json\n"
JOB_ROLE_TRUST = '  name               = "${local.name}-job"\n' + TASK_TRUST
EXECUTION_ROLE_TRUST = '  name               = "${local.name}-exec"\n' + TASK_TRUST
EVERYTHING = 'jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })'
JOB_ROLE_TAGS = '  name               = "${local.name}-job"\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository with its rendered roots, modules and policies."""
    target = copy_example(tmp_path)
    return target


def _check(repo: Path) -> tuple[int, list[dict[str, Any]]]:
    report = repo / "report.json"
    result = runner.invoke(
        app, ["check", "--spec", str(repo / "platform.yaml"), "--env", "dev", "-f", "json", "-o", str(report)]
    )
    findings: list[dict[str, Any]] = json.loads(report.read_text())["findings"] if report.exists() else []
    return result.exit_code, [f for f in findings if not f["waived"]]


def _caught(repo: Path, check_ids: set[str], address: str) -> list[dict[str, Any]]:
    """Run check; the unwaived findings of ``check_ids`` at ``address`` (exit code asserted 4)."""
    code, findings = _check(repo)
    assert code == 4, findings
    hits = [f for f in findings if f["id"] in check_ids and f["address"] == address and f["environment"] == "dev"]
    assert hits, sorted((f["id"], f["address"]) for f in findings)
    return hits


def _job_module(repo: Path) -> Path:
    return repo / "modules" / "job" / "main.tf"


def _append(repo: Path, text: str) -> None:
    module = _job_module(repo)
    module.write_text(module.read_text() + "\n" + text)


def _replace(repo: Path, old: str, new: str) -> None:
    module = _job_module(repo)
    text = module.read_text()
    assert text.count(old) == 1, old
    module.write_text(text.replace(old, new))


def _role_policy(name: str, statement: str) -> str:
    """An inline policy on the job's role, written with jsonencode."""
    return f"""
resource "aws_iam_role_policy" "{name}" {{
  name   = "{name}"
  role   = aws_iam_role.job.id
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{statement}] }})
}}
"""


def _document_policy(name: str, document: str) -> str:
    """An aws_iam_policy_document and the inline policy on the job's role that uses it."""
    return f"""
data "aws_iam_policy_document" "{name}" {{
{document}
}}

resource "aws_iam_role_policy" "{name}" {{
  name   = "{name}"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.{name}.json
}}
"""


# --- Actions Checkov cannot evaluate ---------------------------------------------


def test_an_action_built_by_join_is_unevaluable(repo: Path) -> None:
    _append(repo, _role_policy("joined", '{ Effect = "Allow", Action = [join("", ["*"])], Resource = "*" }'))
    hits = _caught(repo, {"CKV_BP_2"}, f"{JOB}.aws_iam_role_policy.joined")
    assert "modules/job/main.tf" in hits[0]["message"]


def test_an_action_built_by_base64decode_is_unevaluable(repo: Path) -> None:
    _replace(
        repo,
        '    sid       = "EcrAuth"\n',
        '    sid       = "EcrAuth"\n  }\n\n  statement {\n    actions   = [base64decode("Kg==")]\n',
    )
    _caught(repo, {"CKV_BP_1", "CKV_BP_6"}, f"{JOB}.aws_iam_policy_document.execution")


def test_passrole_built_by_format_on_every_resource_fails(repo: Path) -> None:
    statement = '{ Effect = "Allow", Action = [format("%s:%s", "iam", "PassRole")], Resource = "*" }'
    _append(repo, _role_policy("formatted", statement))
    _caught(repo, {"CKV_BP_2"}, f"{JOB}.aws_iam_role_policy.formatted")


def test_an_action_from_an_unresolved_local_is_unevaluable(repo: Path) -> None:
    document = '  statement {\n    actions   = [lower(local.name)]\n    resources = ["*"]\n  }'
    _append(repo, _document_policy("lowered", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.lowered")


def test_a_policy_arn_built_by_a_function_is_unevaluable(repo: Path) -> None:
    _append(
        repo,
        """
resource "aws_iam_role_policy_attachment" "built" {
  role       = aws_iam_role.job.name
  policy_arn = join("", ["arn:aws:iam::aws:policy/", "Administrator", "Access"])
}
""",
    )
    _caught(repo, {"CKV_BP_7"}, f"{JOB}.aws_iam_role_policy_attachment.built")


# --- Documents that merge, and negations --------------------------------------------


def test_source_policy_documents_merging_a_wildcard_document_fail(repo: Path) -> None:
    document = (
        f"  source_policy_documents = [{EVERYTHING}]\n\n"
        '  statement {\n    actions   = ["s3:GetObject"]\n    resources = ["arn:aws:s3:::acme-input/incoming/*"]\n  }'
    )
    _append(repo, _document_policy("merged", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.merged")


def test_override_policy_documents_fail(repo: Path) -> None:
    document = (
        f"  override_policy_documents = [{EVERYTHING}]\n\n"
        '  statement {\n    actions   = ["s3:GetObject"]\n    resources = ["arn:aws:s3:::acme-input/incoming/*"]\n  }'
    )
    _append(repo, _document_policy("overridden", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.overridden")


def test_not_actions_fail(repo: Path) -> None:
    document = '  statement {\n    not_actions = ["iam:DeleteRole"]\n    resources   = ["*"]\n  }'
    _append(repo, _document_policy("negated_actions", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.negated_actions")


def test_not_resources_fail(repo: Path) -> None:
    document = (
        '  statement {\n    actions       = ["s3:GetObject"]\n    not_resources = ["arn:aws:s3:::acme-private/*"]\n  }'
    )
    _append(repo, _document_policy("negated_resources", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.negated_resources")


# --- Policies a role carries itself ---------------------------------------------------


def test_an_inline_policy_block_on_the_job_role_fails(repo: Path) -> None:
    narrow = (
        '  inline_policy {\n    name = "extra"\n    policy = jsonencode({ Version = "2012-10-17", Statement = [{ '
        'Effect = "Allow", Action = ["sqs:SendMessage"], Resource = ["arn:aws:sqs:eu-west-1:111111111111:q"] }] })\n'
        "  }\n"
    )
    _replace(repo, JOB_ROLE_TAGS, JOB_ROLE_TAGS + narrow)
    _caught(repo, {"CKV_BP_2"}, f"{JOB}.aws_iam_role.job")


def test_managed_policy_arns_power_user_access_fail(repo: Path) -> None:
    power = '  managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess"]\n'
    _replace(repo, JOB_ROLE_TAGS, JOB_ROLE_TAGS + power)
    _caught(repo, {"CKV_BP_7"}, f"{JOB}.aws_iam_role.job")


def test_an_attachment_of_administrator_access_fails(repo: Path) -> None:
    _append(
        repo,
        """
resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.job.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}
""",
    )
    _caught(repo, {"CKV_BP_7"}, f"{JOB}.aws_iam_role_policy_attachment.admin")


def test_a_module_added_in_the_pull_request_attaching_admin_fails(repo: Path) -> None:
    added = repo / "modules" / "helper"
    added.mkdir()
    (added / "main.tf").write_text(
        """variable "role_name" {
  type = string
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = var.role_name
  policy_arn = "arn:aws:iam::aws:policy/IAMFullAccess"
}
"""
    )
    _append(repo, 'module "helper" {\n  source    = "../helper"\n  role_name = aws_iam_role.job.name\n}\n')
    hits = _caught(repo, {"CKV_BP_7"}, f"{JOB}.module.helper.aws_iam_role_policy_attachment.this")
    assert "modules/helper/main.tf" in hits[0]["message"]


# --- Trust policies written as JSON ----------------------------------------------------


def test_a_jsonencode_trust_policy_with_a_foreign_account_fails(repo: Path) -> None:
    trust = (
        '  name               = "${local.name}-job"\n  assume_role_policy = jsonencode({ Version = "2012-10-17", '
        'Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
        'Principal = { AWS = "arn:aws:iam::999999999999:root" } }] })\n'
    )
    _replace(repo, JOB_ROLE_TRUST, trust)
    _caught(repo, {"CKV_BP_4"}, f"{JOB}.aws_iam_role.job")


def test_a_heredoc_trust_policy_with_principal_star_fails(repo: Path) -> None:
    trust = (
        '  name               = "${local.name}-exec"\n  assume_role_policy = <<-EOT\n'
        '    {"Version": "2012-10-17", "Statement": [\n'
        '      {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}]}\n'
        "  EOT\n"
    )
    _replace(repo, EXECUTION_ROLE_TRUST, trust)
    _caught(repo, {"CKV_BP_4"}, f"{JOB}.aws_iam_role.execution")


def test_a_trust_document_with_a_wildcard_action_and_foreign_principal_fails(repo: Path) -> None:
    _append(
        repo,
        """
data "aws_iam_policy_document" "assume_anyone" {
  statement {
    actions = ["sts:*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::999999999999:root"]
    }
  }
}
""",
    )
    _replace(
        repo,
        JOB_ROLE_TRUST,
        JOB_ROLE_TRUST.replace("assume_tasks", "assume_anyone"),
    )
    _caught(repo, {"CKV_BP_4"}, f"{JOB}.aws_iam_policy_document.assume_anyone")


def test_a_service_trust_guarded_only_if_the_key_exists_fails(repo: Path) -> None:
    # ...IfExists holds when the key is absent: the task trust of any account's caller.
    module = _job_module(repo)
    text = module.read_text()
    guard = '      test     = "StringEquals"\n'
    assert guard in text
    module.write_text(text.replace(guard, '      test     = "StringEqualsIfExists"\n', 1))
    _caught(repo, {"CKV_BP_4"}, f"{JOB}.aws_iam_policy_document.assume_tasks")


# --- Scopes that look narrow but are not ------------------------------------------------


def test_passrole_on_every_role_of_the_account_fails(repo: Path) -> None:
    statement = '{ Effect = "Allow", Action = "iam:PassRole", Resource = "arn:aws:iam::111111111111:role/*" }'
    _append(repo, _role_policy("pass_any_role", statement))
    _caught(repo, {"CKV_BP_2"}, f"{JOB}.aws_iam_role_policy.pass_any_role")


def test_get_object_on_every_bucket_fails(repo: Path) -> None:
    document = (
        '  statement {\n    actions   = ["s3:GetObject"]\n    resources = ["arn:${local.partition}:s3:::*/*"]\n  }'
    )
    _append(repo, _document_policy("every_object", document))
    _caught(repo, {"CKV_BP_1"}, f"{JOB}.aws_iam_policy_document.every_object")


def test_run_instances_on_every_ec2_resource_fails(repo: Path) -> None:
    statement = '{ Effect = "Allow", Action = "ec2:RunInstances", Resource = "arn:aws:ec2:eu-west-1:111111111111:*/*" }'
    _append(repo, _role_policy("run_anything", statement))
    _caught(repo, {"CKV_BP_2"}, f"{JOB}.aws_iam_role_policy.run_anything")


def test_secrets_on_every_secret_in_the_execution_document_fail(repo: Path) -> None:
    _replace(
        repo,
        '    sid       = "EcrAuth"\n',
        '    sid       = "EcrAuth"\n  }\n\n  statement {\n    actions   = ["secretsmanager:GetSecretValue"]\n'
        '    resources = ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:*"]\n',
    )
    _caught(repo, {"CKV_BP_6"}, f"{JOB}.aws_iam_policy_document.execution")


# --- A declared extra file is scanned like the rest -------------------------------------


def test_a_declared_extra_file_granting_power_user_fails(repo: Path) -> None:
    path = "environments/dev/finance.tf"
    spec = repo / "platform.yaml"
    document = yaml.safe_load(spec.read_text())
    document.setdefault("policy", {}).setdefault("extra_files", []).append(
        {"path": path, "reason": "owned by finance, reviewed by the platform team"}
    )
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    rendered = runner.invoke(app, ["render", "--spec", str(spec)])
    assert rendered.exit_code == 0, rendered.output
    (repo / path).write_text(
        """resource "aws_iam_role_policy_attachment" "finance" {
  role       = "acme-dev-finance"
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
}
"""
    )
    hits = _caught(repo, {"CKV_BP_7"}, "aws_iam_role_policy_attachment.finance")
    assert "finance.tf" in hits[0]["message"]


# --- No false positives -------------------------------------------------------------------


def test_the_example_gets_no_custom_check_finding(repo: Path) -> None:
    code, findings = _check(repo)
    assert (code, [f for f in findings if f["id"].startswith(("CKV_BP_", "CKV2_BP_"))]) == (0, [])
