"""The whole gate with real Checkov: the example passes, hand edits and every fail-open path fail.

All checks run in this one pytest process, like `batchplane check` does: a
later scan must not see an earlier one's state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group, app
from batchplane.cli.check import check
from tests.conftest import copy_example

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository with its rendered roots, modules and policies."""
    target = copy_example(tmp_path)
    return target


def _run(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.command()(check)

    @app.callback()
    def _main() -> None:
        """Registered like cli.py does."""

    report = repo / "report.json"
    result = runner.invoke(
        app, ["check", "--spec", str(repo / "platform.yaml"), "-f", "json", "-o", str(report), *args]
    )
    document: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, document


def _unwaived(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["id"], f["environment"], f["spec_path"]) for f in document["findings"] if not f["waived"]]


def test_the_example_passes_with_zero_unwaived_findings(repo: Path) -> None:
    code, document = _run(repo)
    assert (code, _unwaived(document)) == (0, [])


def test_a_hand_edited_job_policy_is_caught_though_the_spec_is_clean(repo: Path) -> None:
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    values = json.loads(tfvars.read_text())
    values["jobs"]["csv-ingest"]["policy_statements"][0]["actions"] = ["*"]
    tfvars.write_text(json.dumps(values, indent=2))
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("CKV_BP_1", "dev", "jobs.csv-ingest") in _unwaived(document)


def test_the_spec_rules_alone_do_not_see_the_hand_edit(repo: Path) -> None:
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    tfvars.write_text(tfvars.read_text().replace('"s3:GetObject"', '"*"'))
    code, _ = _run(repo, "--env", "dev", "--spec-only")
    assert code == 0


def test_a_clean_scan_after_a_failing_one_passes_in_the_same_process(repo: Path) -> None:
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    clean = tfvars.read_text()
    tfvars.write_text(clean.replace('"s3:GetObject"', '"*"'))
    first, _ = _run(repo, "--env", "dev")
    tfvars.write_text(clean)
    second, _ = _run(repo, "--env", "dev")
    assert (first, second) == (4, 0)


def test_a_deleted_root_fails(repo: Path) -> None:
    shutil.rmtree(repo / "environments" / "dev")
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("BP-TF-001", "dev", "environments.dev") in _unwaived(document)


def test_a_tf_file_that_does_not_parse_fails(repo: Path) -> None:
    main = repo / "environments" / "dev" / "main.tf"
    main.write_text(main.read_text() + '\nmodule "broken" {\n  source = \n')
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert "BP-TF-001" in {f[0] for f in _unwaived(document)}


def test_an_iam_document_that_cannot_be_evaluated_fails(repo: Path) -> None:
    module = repo / "modules" / "job" / "main.tf"
    text = module.read_text()
    unevaluable = (
        'jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["iam:PassRole"], '
        'Resource = [aws_iam_role.job.arn, "${aws_iam_role.job.arn}/*"] }] })'
    )
    module.write_text(text.replace("policy = data.aws_iam_policy_document.job[0].json", f"policy = {unevaluable}"))
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("CKV_BP_2", "dev", "jobs.csv-ingest") in _unwaived(document)


def test_a_json_file_that_is_not_a_plan_fails(repo: Path) -> None:
    plan = repo / "not-a-plan.json"
    plan.write_text('{"hello": "world"}')
    code, document = _run(repo, "--env", "dev", "--plan", str(plan))
    assert code == 4
    assert ("BP-TF-001", "dev", "environments.dev") in _unwaived(document)


def test_a_plan_is_scanned_with_the_custom_checks(repo: Path) -> None:
    plan = repo / "policies" / "fixtures" / "CKV_BP_2" / "tfplan.json"
    code, document = _run(repo, "--env", "dev", "--plan", str(plan))
    assert code == 4
    failed = {f["address"] for f in document["findings"] if f["id"] == "CKV_BP_2"}
    assert failed == {
        "aws_iam_role.fail_role_inline_policy_wildcard",
        "aws_iam_role_policy.fail_get_object_every_bucket",
        "aws_iam_role_policy.fail_passrole_every_role",
        "aws_iam_role_policy.fail_passrole_star",
        "aws_iam_role_policy.fail_wildcard_action",
    }


def test_missing_custom_checks_are_a_tool_failure(repo: Path) -> None:
    shutil.rmtree(repo / "policies" / "checks")
    code, _ = _run(repo, "--env", "dev")
    assert code == 5


def test_an_inline_skip_comment_does_not_waive(repo: Path) -> None:
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    tfvars.write_text(tfvars.read_text().replace('"s3:GetObject"', '"*"'))
    module = repo / "modules" / "job" / "main.tf"
    module.write_text(
        module.read_text().replace(
            'data "aws_iam_policy_document" "job" {',
            'data "aws_iam_policy_document" "job" {\n  # checkov:skip=CKV_BP_1:hand edit',
        )
    )
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("CKV_BP_1", "dev", "jobs.csv-ingest") in _unwaived(document)


def test_a_hand_edited_trust_policy_is_caught(repo: Path) -> None:
    module = repo / "modules" / "job" / "main.tf"
    text = module.read_text()
    edited = text.replace('identifiers = ["ecs-tasks.amazonaws.com"]', 'identifiers = ["*"]', 1)
    module.write_text(edited.replace('type        = "Service"', 'type        = "AWS"', 1))
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("CKV_BP_4", "dev", "jobs.csv-ingest") in _unwaived(document)


def test_a_job_that_grants_nothing_passes_and_its_document_is_still_judged(repo: Path) -> None:
    spec = repo / "platform.yaml"
    text = spec.read_text()
    grants = (
        "    access:\n"
        '      - {service: dynamodb, actions: [read], resources: ["table/acme-products"]}\n'
        "    statements:\n"
        '      - {effect: Allow, actions: ["cloudwatch:PutMetricData"], resources: ["*"]}\n'
    )
    assert grants in text
    spec.write_text(text.replace(grants, ""))
    rendered = runner.invoke(app, ["render", "--spec", str(spec)])
    assert rendered.exit_code == 0, rendered.output
    code, document = _run(repo, "--env", "dev")
    assert (code, _unwaived(document)) == (0, [])
    # A statement added behind the spec's back to that job is judged as before.
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    values = json.loads(tfvars.read_text())
    values["jobs"]["data-quality"]["policy_statements"] = [
        {"sid": "Sneaky", "effect": "Allow", "actions": ["*"], "resources": ["*"]}
    ]
    tfvars.write_text(json.dumps(values, indent=2))
    code, document = _run(repo, "--env", "dev")
    assert code == 4
    assert ("CKV_BP_1", "dev", "jobs.data-quality") in _unwaived(document)


def test_an_external_registry_and_environments_without_jobs_or_own_network_pass(repo: Path) -> None:
    """No shared root to demand, and no verdicts on modules the roots instantiate zero times."""
    spec = repo / "platform.yaml"
    document = yaml.safe_load(spec.read_text())
    document["registry"] = {"type": "external", "url": "registry.example.com/acme"}
    document["jobs"], document["pipelines"] = {}, {}
    for environment in document["environments"].values():
        environment.get("overrides", {}).pop("jobs", None)
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.rmtree(repo / "environments")
    rendered = runner.invoke(app, ["render", "--spec", str(spec)])
    assert rendered.exit_code == 0, rendered.output
    code, document = _run(repo)
    assert (code, _unwaived(document)) == (0, [])
    addresses = {(f["environment"], f["address"]) for f in document["findings"]}
    assert not {a for a in addresses if a[1].startswith(("module.job.", "module.job["))}
    assert not {a for a in addresses if a[0] == "test" and a[1].startswith("module.network")}
    assert {a for a in addresses if a[0] == "dev" and a[1].startswith("module.network")}, "dev creates its network"
