"""The pull-request workflow, command for command, on the local AWS in a temporary git repository.

What `.github/workflows/policy.yml` and `deploy.yml` run, in order: a pull request
changes one job's memory in dev; `changed-roots.sh` names dev alone; `render --check`,
`check`, `plan --env dev --no-lock` and `report pr` make the comment (compared with a
golden file); the plan is kept as the workflow's artifact; after the merge the deploy
restores that artifact and `apply` applies exactly it. A second plan of the same change,
made before that apply, is then stale: `apply` refuses it (exit 6) and changes nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchplane.errors import ExitCode
from tests.conftest import REPO
from tests.integration.lifecycle_support import LocalRepo, make_local_repo

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent / "golden" / "pr_comment_dev_memory.md"
OVERRIDE = """    log_retention_days: 60        # unset: 30 days on development tiers, 365 on production
    overrides:
      jobs:
        csv-ingest:
          memory_mib: 3072
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def memory_of_csv_ingest(repo: LocalRepo) -> int:
    batch = repo.client("batch", "111111111111")
    found = batch.describe_job_definitions(jobDefinitionName="acme-dev-csv-ingest", status="ACTIVE")
    latest = max(found["jobDefinitions"], key=lambda d: d["revision"])
    requirements = {r["type"]: r["value"] for r in latest["containerProperties"]["resourceRequirements"]}
    return int(requirements["MEMORY"])


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path / "repo")
    shutil.copy2(REPO / ".gitignore", local.root / ".gitignore")  # bookkeeping and state stay out, as here
    git(local.root, "init", "-q", "-b", "main")
    git(local.root, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(local.root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "platform")
    yield local
    local.run("local", "stop", timeout=60)


def test_the_reviewed_plan_is_commented_applied_after_merge_and_a_stale_one_refused(
    repo: LocalRepo, tmp_path: Path
) -> None:
    root = repo.root
    plans = root / ".batchplane" / "plans" / "local" / "dev"
    # main as deployed: shared and dev applied
    ok(repo.run("plan", "--env", "shared", "--env", "dev", "--local"))
    ok(repo.run("apply", "--env", "shared", "--local"))
    ok(repo.run("apply", "--env", "dev", "--local"))
    assert memory_of_csv_ingest(repo) == 2048

    # the pull request
    git(root, "switch", "-q", "-c", "more-memory")
    spec = root / "platform.yaml"
    text = spec.read_text()
    assert text.count(OVERRIDE.splitlines()[0]) == 1
    spec.write_text(text.replace(OVERRIDE.splitlines()[0] + "\n", OVERRIDE, 1))
    ok(repo.run("render"))
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "csv-ingest: more memory in dev")

    # policy.yml, job by job
    script = REPO / ".github" / "scripts" / "changed-roots.sh"
    changed = subprocess.run(
        ["bash", str(script), git(root, "rev-parse", "main").strip(), "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert changed == ["dev"]
    ok(repo.run("render", "--check"))
    check = tmp_path / "check.json"
    ok(repo.run("check", "--format", "json", "--output", str(check)))
    ok(repo.run("plan", "--env", "dev", "--local", "--no-lock"))
    reviewed = tmp_path / "artifact-reviewed"
    shutil.copytree(plans, reviewed)
    comment = tmp_path / "comment.md"
    ok(repo.run("report", "pr", "--local", "--output", str(comment)))
    assert comment.read_text() == GOLDEN.read_text()
    with_check = ok(repo.run("report", "pr", "--local", "--check", str(check))).stdout
    assert "Policy gate: passed (0 failed," in with_check

    # the same pull request planned again (a re-run): a second artifact of the same change
    ok(repo.run("plan", "--env", "dev", "--local", "--no-lock"))
    second = tmp_path / "artifact-second"
    shutil.copytree(plans, second)

    # merged: the deploy restores the reviewed artifact and applies exactly it
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "more-memory")
    shutil.rmtree(plans)
    shutil.copytree(reviewed, plans)
    ok(repo.run("apply", "--env", "dev", "--local"))
    assert memory_of_csv_ingest(repo) == 3072
    assert not (plans / "batchplane.tfplan").exists()  # a saved plan applies once

    # the second plan was made before that apply: dev has moved on since, so it is refused
    shutil.rmtree(plans, ignore_errors=True)
    shutil.copytree(second, plans)
    refused = repo.run("apply", "--env", "dev", "--local")
    assert refused.returncode == ExitCode.CHANGES_PENDING, refused.stdout + refused.stderr
    assert "stale" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert memory_of_csv_ingest(repo) == 3072
    assert json.loads(ok(repo.run("report", "pr", "--local", "--json")).stdout)["roots"] == []
