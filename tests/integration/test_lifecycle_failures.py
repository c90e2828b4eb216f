"""When things go wrong: the emulator dies mid-apply, two applies race, reality drifts."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from batchplane.local.emulator import read_state
from tests.integration.lifecycle_support import LocalRepo, free_port, make_local_repo

DEV_ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRepo]:
    local = make_local_repo(tmp_path_factory.mktemp("lifecycle-failures") / "repo")
    yield local
    local.run("local", "stop")


def test_emulator_killed_mid_apply_fails_clearly_and_a_new_apply_converges(repo: LocalRepo) -> None:
    assert repo.run("plan", "--env", "dev", "--local").returncode == 0
    apply = repo.start("apply", "--env", "dev", "--local")
    time.sleep(20)
    state = read_state(repo.root)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    _, stderr = apply.communicate(timeout=600)
    assert apply.returncode == 5, stderr[-3000:]
    assert "error: terraform:" in stderr
    assert "Traceback" not in stderr

    restarted = repo.run("local", "start", "--port", str(free_port()))
    assert restarted.returncode == 0, restarted.stderr
    converged = repo.run("apply", "--env", "dev", "--local", "--plan-if-missing")
    assert converged.returncode == 0, converged.stderr[-3000:]
    assert repo.plan_json("dev")["has_changes"] is False


def test_drift_is_clean_after_apply(repo: LocalRepo) -> None:
    result = repo.run("drift", "--env", "dev", "--local")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dev: no drift" in result.stdout


def test_drift_names_a_queue_changed_behind_terraforms_back(repo: LocalRepo) -> None:
    repo.client("batch", DEV_ACCOUNT).update_job_queue(jobQueue="acme-dev-critical", priority=7)
    result = repo.run("drift", "--env", "dev", "--local")
    assert result.returncode == 6
    assert 'module.queue["critical"].aws_batch_job_queue.this' in result.stdout


def test_drift_does_not_replace_the_saved_plan(repo: LocalRepo) -> None:
    assert repo.plan_json("dev")["has_changes"] is True
    assert repo.run("drift", "--env", "dev", "--local").returncode == 6
    applied = repo.run("apply", "--env", "dev", "--local")
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert repo.run("drift", "--env", "dev", "--local").returncode == 0


def test_a_second_concurrent_apply_is_refused_by_the_lock_and_state_stays_intact(repo: LocalRepo) -> None:
    repo.client("batch", DEV_ACCOUNT).update_job_queue(jobQueue="acme-dev-critical", priority=8)
    assert repo.plan_json("dev")["has_changes"] is True
    first = repo.start("apply", "--env", "dev", "--local")
    time.sleep(6)
    second = repo.run("apply", "--env", "dev", "--local")
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err[-2000:]
    assert second.returncode == 5
    assert "locked" in second.stderr
    assert repo.plan_json("dev")["has_changes"] is False


def test_ctrl_c_during_apply_stops_terraform_gracefully_and_the_state_stays_consistent(repo: LocalRepo) -> None:
    destroyed = repo.run("destroy", "--env", "dev", "--local")
    assert destroyed.returncode == 0, destroyed.stderr[-2000:]
    assert repo.run("plan", "--env", "dev", "--local").returncode == 0
    apply = repo.start("apply", "--env", "dev", "--local")
    assert apply.stderr is not None
    # Interrupt once terraform is creating resources, as a person pressing Ctrl-C would.
    deadline = time.monotonic() + 300
    seen: list[str] = []
    for line in apply.stderr:
        seen.append(line)
        if "Creation complete" in line or time.monotonic() > deadline:
            break
    apply.send_signal(signal.SIGINT)
    _, rest = apply.communicate(timeout=600)
    stderr = "".join(seen) + rest
    assert apply.returncode == 5, stderr[-3000:]
    assert "interrupted: terraform stopped gracefully and saved its state" in stderr
    assert "Traceback" not in stderr
    # The state was saved and its lock released: a plan runs and still has the rest to create.
    assert repo.plan_json("dev")["has_changes"] is True
    # Consistent: everything the state records exists. (The reverse cannot hold: terraform cancels
    # the calls in flight, and a resource AWS created just then is not in the state; see README.)
    state = json.loads((repo.root / ".batchplane/work/environments/dev/terraform.tfstate").read_text())
    roles = [
        instance["attributes"]["name"]
        for resource in state["resources"]
        if resource["type"] == "aws_iam_role" and resource["mode"] == "managed"
        for instance in resource["instances"]
    ]
    assert state["resources"], "the interrupted apply recorded nothing"
    iam = repo.client("iam", DEV_ACCOUNT)
    for name in roles:
        assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
