"""`plan` runs the policy gate on what it planned, and a plan that fails it cannot be applied.

A clean spec and up-to-date rendered roots, but a reviewed module changed to
grant every action: only Checkov, on the root and on the plan's JSON, can see
it. Real terraform, real Checkov, the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.lifecycle_support import LocalRepo, make_local_repo

GRANT_EVERYTHING = """
resource "aws_iam_role_policy" "everything" {
  name = "everything"
  role = aws_iam_role.job.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path_factory.mktemp("plan-gate") / "repo")
    yield local
    local.run("local", "stop")


def test_a_plan_that_fails_the_gate_is_refused_and_cannot_be_applied(repo: LocalRepo) -> None:
    module = repo.root / "modules" / "job" / "main.tf"
    module.write_text(module.read_text() + GRANT_EVERYTHING)
    assert repo.run("check", "--spec-only", "--env", "dev").returncode == 0  # the spec is clean

    refused = repo.run("plan", "--env", "dev", "--local")
    assert refused.returncode == 4, refused.stderr[-3000:]
    assert "fails the policy gate" in refused.stderr
    # Both layers see it, each finding at the job's line of platform.yaml.
    lines = [line.strip() for line in refused.stderr.splitlines() if "CKV_BP_2 (critical) jobs.csv-ingest:" in line]
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["[modules/job/main.tf]", "[plan.json]"]
    assert all(line.startswith("platform.yaml:") for line in lines)
    assert not list((repo.root / ".batchplane").rglob("*.tfplan"))  # discarded

    applied = repo.run("apply", "--env", "dev", "--local")
    assert applied.returncode == 6
    assert "no saved plan" in applied.stderr
