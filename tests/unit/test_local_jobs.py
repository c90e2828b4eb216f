"""Local mode for jobs: images from the local registry, emulator credentials, the registry's config."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchplane.local import accounts
from batchplane.local.emulator import EmulatorState
from batchplane.local.registry import registry_config
from batchplane.local.workcopy import LOCAL_VARS_FILE, LocalJobs, job_environment, local_jobs, prepare_workdir
from tests.conftest import REPO

DIGEST = "sha256:" + "ab" * 32
ENDPOINT = "http://127.0.0.1:5055"
LOCAL_REGISTRY = "127.0.0.1:5056"


@pytest.fixture(scope="module")
def dev_jobs() -> dict[str, Any]:
    """The ``jobs`` variable of the example's dev root, as rendered."""
    values = json.loads((REPO / "environments" / "dev" / "terraform.tfvars.json").read_text(encoding="utf-8"))
    jobs: dict[str, Any] = values["jobs"]
    return jobs


def _emulator() -> dict[str, str]:
    return job_environment(ENDPOINT, "eu-west-1", "AKIAEXAMPLE")


def test_a_job_container_reaches_the_emulator_as_its_accounts_user() -> None:
    assert _emulator() == {
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "batchplane-local",
    }


@pytest.mark.parametrize(
    "reference",
    [
        f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@{DIGEST}",
        f"registry.example.com:5000/acme/csv-ingest@{DIGEST}",
        f"registry.example.com/team/data/acme/csv-ingest@{DIGEST}",
    ],
    ids=["ecr", "external", "external-with-path"],
)
def test_images_come_from_the_local_registry_with_the_same_path_and_digest(reference: str) -> None:
    jobs = local_jobs({"csv-ingest": {"image": reference}}, LOCAL_REGISTRY, {})
    # Where `images build` pushes in local mode: <registry>/<platform>/<image>.
    assert jobs["csv-ingest"]["image"] == f"{LOCAL_REGISTRY}/acme/csv-ingest@{DIGEST}"


def test_an_unpinned_image_keeps_its_tag() -> None:
    jobs = local_jobs(
        {"report": {"image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/report:latest"}}, "r:1", {}
    )
    assert jobs["report"]["image"] == "r:1/acme/report:latest"


def test_without_a_local_registry_images_are_left_as_rendered(dev_jobs: dict[str, Any]) -> None:
    jobs = local_jobs(dev_jobs, None, _emulator())
    assert {name: job["image"] for name, job in jobs.items()} == {name: job["image"] for name, job in dev_jobs.items()}


def test_the_emulators_environment_is_added_on_top_of_the_jobs_own(dev_jobs: dict[str, Any]) -> None:
    jobs = local_jobs(dev_jobs, LOCAL_REGISTRY, _emulator())
    assert jobs["csv-ingest"]["environment"] == {"TABLE_NAME": "acme-products", **_emulator()}
    assert all(
        job["environment"] == {**(dev_jobs[name]["environment"] or {}), **_emulator()} for name, job in jobs.items()
    )


def test_the_emulators_environment_wins_over_a_jobs_own_setting() -> None:
    job = {"image": "h/acme/x@" + DIGEST, "environment": {"AWS_REGION": "us-east-1", "MODE": "full"}}
    environment = local_jobs({"x": job}, None, _emulator())["x"]["environment"]
    assert (environment["AWS_REGION"], environment["MODE"]) == ("eu-west-1", "full")


@pytest.mark.parametrize("own", [None, {}], ids=["null", "empty"])
def test_a_job_without_environment_gets_the_emulators(own: dict[str, str] | None) -> None:
    jobs = local_jobs({"x": {"image": "h/acme/x@" + DIGEST, "environment": own}}, None, _emulator())
    assert jobs["x"]["environment"] == _emulator()


def test_everything_else_about_a_job_is_kept_and_the_input_is_not_changed(dev_jobs: dict[str, Any]) -> None:
    before = copy.deepcopy(dev_jobs)
    jobs = local_jobs(dev_jobs, LOCAL_REGISTRY, _emulator())
    assert dev_jobs == before
    assert sorted(jobs) == sorted(dev_jobs)
    for name, job in jobs.items():
        unchanged = {k: v for k, v in job.items() if k not in ("image", "environment")}
        assert unchanged == {k: v for k, v in dev_jobs[name].items() if k not in ("image", "environment")}


def test_the_working_copy_overrides_the_jobs_for_the_emulator(tmp_path: Path, platform_repo: Path) -> None:
    jobs = LocalJobs(LOCAL_REGISTRY, _emulator())
    target = prepare_workdir(platform_repo, "dev", ENDPOINT, "111111111111", work=tmp_path / "work", jobs=jobs)
    written = json.loads((target / LOCAL_VARS_FILE).read_text(encoding="utf-8"))["jobs"]
    assert written["csv-ingest"]["image"] == f"{LOCAL_REGISTRY}/acme/csv-ingest:latest"
    assert written["csv-ingest"]["environment"]["AWS_ENDPOINT_URL"] == ENDPOINT
    committed = json.loads((platform_repo / "environments" / "dev" / "terraform.tfvars.json").read_text())
    assert committed["jobs"]["csv-ingest"]["image"].startswith("111111111111.dkr.ecr.")


def test_without_local_jobs_the_working_copy_leaves_jobs_alone(tmp_path: Path, platform_repo: Path) -> None:
    target = prepare_workdir(platform_repo, "dev", ENDPOINT, "111111111111", work=tmp_path / "work")
    assert "jobs" not in json.loads((target / LOCAL_VARS_FILE).read_text(encoding="utf-8"))


def test_the_registry_listens_on_loopback_and_stores_images_where_asked(tmp_path: Path) -> None:
    storage = tmp_path / "registry" / "data"
    config = yaml.safe_load(registry_config(5056, storage))
    assert config["http"]["addr"] == "127.0.0.1:5056"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(storage)
    assert config["storage"]["delete"]["enabled"] is True
    assert config["version"] == 0.1


@pytest.mark.parametrize("folder", ["my projects", "a: b", "tmp #2"])
def test_the_registrys_storage_path_survives_yaml(tmp_path: Path, folder: str) -> None:
    storage = tmp_path / folder / "data"
    assert yaml.safe_load(registry_config(5056, storage))["storage"]["filesystem"]["rootdirectory"] == str(storage)


def test_an_accounts_key_is_asked_once_per_emulator_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    def bootstrap(endpoint: str, account_id: str, region: str) -> str:
        asked.append((endpoint, account_id))
        return f"AKIA{account_id}{len(asked)}"

    monkeypatch.setattr(accounts, "bootstrap_account", bootstrap)
    first = EmulatorState(pid=100, port=5055, log="")
    key = accounts.account_key(tmp_path, first, "111111111111", "eu-west-1")
    assert accounts.account_key(tmp_path, first, "111111111111", "eu-west-1") == key
    other = accounts.account_key(tmp_path, first, "222222222222", "eu-west-1")
    assert asked == [(ENDPOINT, "111111111111"), (ENDPOINT, "222222222222")]
    assert other != key

    restarted = EmulatorState(pid=101, port=5055, log="")  # a new emulator knows no user yet
    assert accounts.account_key(tmp_path, restarted, "111111111111", "eu-west-1") != key
    assert len(asked) == 3
