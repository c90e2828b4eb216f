"""The plan gate refuses grants the spec does not produce, however the Terraform is written.

Each attempt is valid Terraform (`terraform validate` accepts it) brought in
the ways a pull request can: reviewed module code changed (modules/job), a new
module under modules/, or a hand-written file the spec declares in
policy.extra_files (so root integrity lets it through and the plan gate's own
judgement is what is tested). Each runs through `plan --env dev --local` on the
embedded AWS: refused with exit 4, a BP-PLAN finding naming the Terraform
address, and no saved plan. Real terraform, real Checkov, the emulator; one
small repository for every attempt, files restored after each.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.lifecycle_support import LocalRepo, free_port, make_local_repo

JOB = 'module.job["ingest"]'
JOB_ROLE_TAIL = (
    "  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json\n"
    "  tags               = var.tags\n\n  lifecycle"
)
JOB_ROLE_HEAD = (
    '  name               = "${local.name}-job"\n  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json'
)
PASS_ROLE = 'Statement = [{ Effect = "Allow", Action = "iam:PassRole", Resource = "arn:aws:iam::111111111111:role/*" }]'
ROLE = "bp-dev-ingest-job"
ADMIN = 'jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })'
ATTACK_TF = "environments/dev/attack.tf"
ATTACK_JSON = "environments/dev/attack.tf.json"

SPEC = {
    "version": 1,
    "name": "bp",
    "region": "eu-west-1",
    "state": {"backend": "local"},
    "registry": {"type": "ecr"},
    "environments": {
        "dev": {
            "account_id": "111111111111",
            "network": {
                "vpc_id": "vpc-0a1b2c3d4e5f60718",
                "subnet_ids": ["subnet-0a1b2c3d4e5f60719"],
                "security_group_ids": ["sg-0a1b2c3d4e5f6071b"],
            },
            "max_vcpus": 16,
        }
    },
    "compute": {"serverless": {"kind": "fargate", "max_vcpus": 4}},
    "queues": {"default": {"priority": 1, "compute": ["serverless"]}},
    "jobs": {
        "ingest": {
            "image": "csv-ingest",
            "queue": "default",
            "vcpus": 0.5,
            "memory_mib": 1024,
            "command": ["python", "-m", "csv_ingest"],
            "timeout": "15m",
            "interruptible": True,
            "access": [{"service": "s3", "actions": ["read"], "resources": ["bp-input/in/*"]}],
        }
    },
    "policy": {
        "extra_files": [
            {"path": ATTACK_TF, "reason": "the bypass attempt under test"},
            {"path": ATTACK_JSON, "reason": "the bypass attempt under test"},
        ]
    },
}


def make_small_repo(target: Path) -> LocalRepo:
    """One fargate job on an existing network: the fewest resources that still hold every job role."""
    target.mkdir(parents=True)
    (target / "platform.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False), encoding="utf-8")
    for name in ("job_images", "modules", "policies"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    repo = LocalRepo(target)
    rendered = repo.run("render")
    assert rendered.returncode == 0, rendered.stderr
    started = repo.run("local", "start", "--port", str(free_port()), "--registry-port", str(free_port()), timeout=120)
    assert started.returncode == 0, started.stderr
    return repo


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_small_repo(tmp_path_factory.mktemp("bypass-plan") / "repo")
    yield local
    local.run("local", "stop")


@pytest.fixture
def repo(small: LocalRepo) -> Iterator[LocalRepo]:
    """The small repository; modules/job and the attack files are put back after each attempt."""
    module = small.root / "modules" / "job" / "main.tf"
    original = module.read_bytes()
    yield small
    module.write_bytes(original)
    for path in (ATTACK_TF, ATTACK_JSON):
        (small.root / path).unlink(missing_ok=True)
    shutil.rmtree(small.root / "modules" / "evil", ignore_errors=True)


def edit_job_module(repo: LocalRepo, old: str, new: str) -> None:
    module = repo.root / "modules" / "job" / "main.tf"
    text = module.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    module.write_text(text.replace(old, new), encoding="utf-8")


def assert_refused(repo: LocalRepo, finding: str, address: str) -> None:
    """Refused by the plan gate itself: root integrity is switched off for these attempts."""
    refused = repo.run_without_root_integrity("plan", "--env", "dev", "--local")
    assert refused.returncode == 4, refused.stderr[-4000:]
    lines = [line for line in refused.stderr.splitlines() if finding in line]
    assert any(address in line for line in lines), refused.stderr[-4000:]
    assert not list((repo.root / ".batchplane").rglob("*.tfplan"))  # discarded


# --- no false positives ------------------------------------------------------


def test_the_small_spec_passes_the_plan_gate(small: LocalRepo) -> None:
    planned = small.run("plan", "--env", "dev", "--local")
    assert planned.returncode == 0, planned.stderr[-4000:]
    assert "BP-PLAN" not in planned.stderr


def test_the_example_dev_environment_passes_the_plan_gate(tmp_path: Path) -> None:
    example = make_local_repo(tmp_path / "example")
    try:
        planned = example.run("plan", "--env", "dev", "--local")
        assert planned.returncode == 0, planned.stderr[-4000:]
        assert "BP-PLAN" not in planned.stderr
    finally:
        example.run("local", "stop")


# --- attempts, one per class ---------------------------------------------------


def test_an_action_built_by_a_function_is_judged_by_its_value(repo: LocalRepo) -> None:
    edit_job_module(repo, 'actions   = ["ecr:GetAuthorizationToken"]', 'actions   = [join("", ["*"])]')
    assert_refused(repo, "BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")


def test_a_merged_source_document_is_refused(repo: LocalRepo) -> None:
    edit_job_module(
        repo,
        'data "aws_iam_policy_document" "execution" {\n',
        f'data "aws_iam_policy_document" "execution" {{\n  source_policy_documents = [{ADMIN}]\n',
    )
    assert_refused(repo, "BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")


def test_not_actions_are_unbounded(repo: LocalRepo) -> None:
    edit_job_module(repo, 'actions   = ["ecr:GetAuthorizationToken"]', 'not_actions = ["iam:*"]')
    assert_refused(repo, "BP-PLAN-002", f"{JOB}.aws_iam_role_policy.execution")


def test_an_inline_policy_block_on_the_job_role_is_refused(repo: LocalRepo) -> None:
    edit_job_module(
        repo,
        JOB_ROLE_TAIL,
        "  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json\n  tags               = var.tags\n\n"
        f'  inline_policy {{\n    name   = "admin"\n    policy = {ADMIN}\n  }}\n\n  lifecycle',
    )
    assert_refused(repo, "BP-PLAN-004", f"{JOB}.aws_iam_role.job")


def test_power_user_access_in_managed_policy_arns_is_refused(repo: LocalRepo) -> None:
    edit_job_module(
        repo,
        JOB_ROLE_TAIL,
        "  assume_role_policy = data.aws_iam_policy_document.assume_tasks.json\n  tags               = var.tags\n"
        '  managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess"]\n\n  lifecycle',
    )
    assert_refused(repo, "BP-PLAN-004", f"{JOB}.aws_iam_role.job")


def test_an_attachment_of_power_user_access_in_a_declared_file_is_refused(repo: LocalRepo) -> None:
    (repo.root / ATTACK_TF).write_text(
        'resource "aws_iam_role_policy_attachment" "power" {\n'
        f'  role       = "{ROLE}"\n'
        '  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"\n}\n',
        encoding="utf-8",
    )
    assert_refused(repo, "BP-PLAN-001", "aws_iam_role_policy_attachment.power")


def test_a_jsonencode_trust_policy_with_a_foreign_principal_is_refused(repo: LocalRepo) -> None:
    foreign = (
        'jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
        'Principal = { AWS = "arn:aws:iam::999999999999:root" } }] })'
    )
    edit_job_module(
        repo,
        JOB_ROLE_HEAD,
        f'  name               = "${{local.name}}-job"\n  assume_role_policy = {foreign}',
    )
    assert_refused(repo, "BP-PLAN-003", f"{JOB}.aws_iam_role.job")


def test_a_declared_tf_json_file_granting_admin_is_refused(repo: LocalRepo) -> None:
    document = {
        "resource": {
            "aws_iam_role_policy": {
                "admin": {
                    "name": "admin",
                    "role": ROLE,
                    "policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
                }
            }
        }
    }
    (repo.root / ATTACK_JSON).write_text(json.dumps(document, indent=2), encoding="utf-8")
    assert_refused(repo, "BP-PLAN-001", "aws_iam_role_policy.admin")


def test_a_new_module_with_its_own_skips_granting_passrole_on_every_role_is_refused(repo: LocalRepo) -> None:
    evil = repo.root / "modules" / "evil"
    evil.mkdir()
    (evil / "main.tf").write_text(
        'variable "role" {\n  type = string\n}\n\n'
        'resource "aws_iam_role_policy" "pass" {\n'
        "  #checkov:skip=CKV_AWS_286:reviewed\n"
        "  #checkov:skip=CKV_BP_1:reviewed\n"
        '  name = "pass"\n'
        "  role = var.role\n"
        "  policy = jsonencode({\n"
        '    Version   = "2012-10-17"\n'
        f"    {PASS_ROLE}\n"
        "  })\n}\n",
        encoding="utf-8",
    )
    edit_job_module(
        repo,
        "# --- Logs ---",
        'module "evil" {\n  source = "../evil"\n  role   = aws_iam_role.job.name\n}\n\n# --- Logs ---',
    )
    assert_refused(repo, "BP-PLAN-001", f"{JOB}.module.evil.aws_iam_role_policy.pass")


def test_a_queue_policy_open_to_everyone_is_refused(repo: LocalRepo) -> None:
    (repo.root / ATTACK_TF).write_text(
        'resource "aws_sqs_queue" "drop" {\n  name = "bp-dev-drop"\n  sqs_managed_sse_enabled = true\n}\n\n'
        'resource "aws_sqs_queue_policy" "open" {\n'
        "  queue_url = aws_sqs_queue.drop.id\n"
        "  policy = jsonencode({\n"
        '    Version   = "2012-10-17"\n'
        '    Statement = [{ Effect = "Allow", Principal = "*", Action = "sqs:*", Resource = "*" }]\n'
        "  })\n}\n",
        encoding="utf-8",
    )
    assert_refused(repo, "BP-PLAN-001", "aws_sqs_queue_policy.open")


# --- root integrity comes first ------------------------------------------------


def test_root_integrity_refuses_before_terraform_runs(repo: LocalRepo) -> None:
    """With integrity on (the product), a .tf.json file is refused before `terraform init` reads the root."""
    (repo.root / ATTACK_JSON).write_text('{"resource": {}}', encoding="utf-8")
    work = repo.root / ".batchplane" / "work" / "dev"
    before = sorted(p.name for p in work.iterdir()) if work.is_dir() else []
    refused = repo.run("plan", "--env", "dev", "--local")
    assert refused.returncode == 4, refused.stderr[-4000:]
    assert "fails root integrity" in refused.stderr
    assert "terraform was not run" in refused.stderr
    assert any("BP-TF-006" in line and "attack.tf.json" in line for line in refused.stderr.splitlines())
    assert (sorted(p.name for p in work.iterdir()) if work.is_dir() else []) == before
    assert not list((repo.root / ".batchplane").rglob("*.tfplan"))


# --- the shared root ------------------------------------------------------------


def test_an_image_repository_opened_to_everyone_is_refused_in_the_shared_root(small: LocalRepo) -> None:
    module = small.root / "modules" / "ecr_repository" / "main.tf"
    original = module.read_bytes()
    honest = (
        "identifiers = [for id in sort(distinct(var.pull_account_ids)) : "
        '"arn:${data.aws_partition.current.partition}:iam::${id}:root"]'
    )
    text = original.decode("utf-8")
    assert text.count(honest) == 1
    module.write_text(text.replace(honest, 'identifiers = ["*"]'), encoding="utf-8")
    try:
        refused = small.run_without_root_integrity("plan", "--env", "shared", "--local")
    finally:
        module.write_bytes(original)
    assert refused.returncode == 4, refused.stderr[-4000:]
    lines = [line for line in refused.stderr.splitlines() if "BP-PLAN-003" in line]
    assert any('module.repository["csv-ingest"].aws_ecr_repository_policy.this[0]' in line for line in lines), lines
    assert not list((small.root / ".batchplane").rglob("*.tfplan"))


# --- the spec's own grants and waivers, judged again on the plan -----------------


@contextmanager
def spec_edited(repo: LocalRepo, edit: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """The spec changed and the roots rendered for it; both put back afterwards."""
    original = repo.spec.read_bytes()
    document = yaml.safe_load(original)
    edit(document)
    repo.spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    try:
        rendered = repo.run("render")
        assert rendered.returncode == 0, rendered.stderr
        yield
    finally:
        repo.spec.write_bytes(original)
        assert repo.run("render").returncode == 0


def _pass_every_role(document: dict[str, Any]) -> None:
    statement = {"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::111111111111:role/*"]}
    document["jobs"]["ingest"]["statements"] = [statement]


def test_a_narrow_looking_scope_from_the_spec_itself_is_refused_by_plan(repo: LocalRepo) -> None:
    with spec_edited(repo, _pass_every_role):
        refused = repo.run("plan", "--env", "dev", "--local")
    assert refused.returncode == 4, refused.stderr[-4000:]
    assert any("BP-IAM-004" in line and "jobs.ingest.statements[0]" in line for line in refused.stderr.splitlines())
    assert not list((repo.root / ".batchplane").rglob("*.tfplan"))


def test_a_critical_waiver_does_not_let_the_plan_through(repo: LocalRepo) -> None:
    def waived(document: dict[str, Any]) -> None:
        _pass_every_role(document)
        waiver = {"id": "BP-IAM-004", "target": "jobs", "reason": "tmp", "expires": "2099-12-31"}
        document["policy"]["waivers"] = [waiver]

    with spec_edited(repo, waived):
        refused = repo.run("plan", "--env", "dev", "--local")
    assert refused.returncode == 4, refused.stderr[-4000:]
    lines = refused.stderr.splitlines()
    assert any("BP-IAM-004" in line for line in lines)
    refusals = {"BP-POL-003", "BP-POL-004", "BP-POL-005"}
    assert {rule for rule in refusals if any(rule in line for line in lines)} == refusals


def test_an_override_that_swaps_a_module_source_is_judged_by_what_it_plans(repo: LocalRepo) -> None:
    """With integrity off, an override pointing module.job at a copy that grants admin is still refused."""
    evil = repo.root / "modules" / "evil"
    shutil.copytree(repo.root / "modules" / "job", evil)
    grant = (
        'resource "aws_iam_role_policy" "admin" {\n'
        '  name   = "admin"\n'
        "  role   = aws_iam_role.job.id\n"
        f"  policy = {ADMIN}\n"
        "}\n"
    )
    (evil / "admin.tf").write_text(grant, encoding="utf-8")
    override = repo.root / "environments" / "dev" / "main_override.tf"
    override.write_text('module "job" {\n  source = "../../modules/evil"\n}\n', encoding="utf-8")
    try:
        assert_refused(repo, "BP-PLAN-001", f"{JOB}.aws_iam_role_policy.admin")
    finally:
        override.unlink()
