"""`batchplane diff`: two environments compared as a user cares about them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.diff import diff
from batchplane.images.lock import ImageLock, LockEntry, write_lock
from batchplane.spec import load_spec, parse_spec
from batchplane.views.envdiff import environment_diff
from tests.conftest import REPO

runner = CliRunner()

# The command as cli.py registers it, with the main app's error handling (exit codes).
app = typer.Typer(cls=_Group)


@app.callback()
def _main() -> None:
    """A group, so that `diff` is invoked by name as on the real app."""


app.command()(diff)

EXAMPLE = load_spec(REPO / "platform.yaml")


def _pin(digit: str, tag: str = "git-1") -> LockEntry:
    return LockEntry(digest="sha256:" + digit * 64, tag=tag, source_hash="sha256:" + "0" * 64)


# test and prod run different builds of csv-ingest and report, and the same data-quality (tagged differently).
LOCK = ImageLock(
    images={
        "csv-ingest": {"test": _pin("a"), "prod": _pin("b", "git-2")},
        "report": {"test": _pin("c"), "prod": _pin("d", "git-2")},
        "data-quality": {"test": _pin("e"), "prod": _pin("e", "git-2")},
    }
)

# What environments.prod.overrides changes compared with test, and nothing else.
PROD_OVERRIDES_OVER_TEST = {
    "compute.spot.max_vcpus": (64, 256),
    "jobs.csv-ingest.vcpus": (1, 2),
    "jobs.csv-ingest.memory_mib": (2048, 4096),
    "jobs.csv-ingest.secrets.DB_PASSWORD": (
        "arn:aws:secretsmanager:eu-west-1:222222222222:secret:acme/db-password",
        "arn:aws:secretsmanager:eu-west-1:333333333333:secret:acme/db-password",
    ),
}
ENVIRONMENT_SETTINGS_TEST_TO_PROD = {
    "tier": ("development", "production"),
    "approval": ("none", "required"),
    "max_vcpus": (128, 512),
    "log_retention_days": (30, 365),
    "network": ("existing, 2 subnets", "created, 3 AZs"),
}


def _invoke(*args: str) -> Any:
    return runner.invoke(app, ["diff", *args])


def _diff_json(spec: Path, source: str = "test", target: str = "prod") -> dict[str, Any]:
    result = _invoke("--from", source, "--to", target, "--json", "--spec", str(spec))
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _spec_changes(document: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        change["path"]: (change["from"], change["to"])
        for section in ("compute", "queues", "jobs")
        for entry in document[section].values()
        for change in entry["changes"]
    }


def _terraform_lines(document: dict[str, Any]) -> list[str]:
    groups = [document["environment"]] + [e for s in ("compute", "queues", "jobs") for e in document[s].values()]
    return [line for group in groups for line in group["terraform"]] + [
        line for lines in document["files"].values() for line in lines
    ]


# --- the acceptance statement -------------------------------------------------


def test_test_to_prod_lists_the_prod_overrides_and_the_digests_that_differ(platform_repo: Path) -> None:
    write_lock(platform_repo, LOCK)
    document = _diff_json(platform_repo / "platform.yaml")

    assert _spec_changes(document) == PROD_OVERRIDES_OVER_TEST
    assert {
        change["path"]: (change["from"], change["to"]) for change in document["environment"]["changes"]
    } == ENVIRONMENT_SETTINGS_TEST_TO_PROD
    assert document["images"] == {
        "csv-ingest": {
            "jobs": ["csv-ingest"],
            "from": {"digest": "sha256:" + "a" * 64, "tag": "git-1"},
            "to": {"digest": "sha256:" + "b" * 64, "tag": "git-2"},
        },
        "report": {
            "jobs": ["nightly-report"],
            "from": {"digest": "sha256:" + "c" * 64, "tag": "git-1"},
            "to": {"digest": "sha256:" + "d" * 64, "tag": "git-2"},
        },
    }
    assert document["queues"] == {}
    assert set(document["compute"]) == {"spot"}
    # nightly-report is listed for its digest only.
    assert set(document["jobs"]) == {"csv-ingest", "nightly-report"}
    assert document["jobs"]["nightly-report"]["changes"] == []
    assert document["files"] == {}


def test_test_to_prod_terraform_diff_changes_only_overridden_values_and_images(platform_repo: Path) -> None:
    write_lock(platform_repo, LOCK)
    document = _diff_json(platform_repo / "platform.yaml")

    changed = [line for line in _terraform_lines(document) if re.match(r"^[+-](?![+-]{2} )", line)]
    keys = {re.match(r'^[+-]\s*"([A-Za-z_]+)":', line).group(1) for line in changed}  # type: ignore[union-attr]
    assert keys == {"max_vcpus", "vcpus", "memory_mib", "DB_PASSWORD", "image", "log_retention_days"}
    # Account ids and environment names are normalised away; only the secret ARNs the user wrote keep theirs.
    for line in changed:
        if "DB_PASSWORD" not in line:
            assert not re.search(r"222222222222|333333333333|\"(test|prod)\"", line), line
    images = sorted(line for line in changed if '"image"' in line)
    assert images == [
        '+  "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@sha256:' + "b" * 64 + '",',
        '+  "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/report@sha256:' + "d" * 64 + '",',
        '-  "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@sha256:' + "a" * 64 + '",',
        '-  "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/report@sha256:' + "c" * 64 + '",',
    ]


def test_text_report_groups_by_environment_compute_job_and_images(platform_repo: Path) -> None:
    write_lock(platform_repo, LOCK)
    result = _invoke("--from", "test", "--to", "prod", "--spec", str(platform_repo / "platform.yaml"))
    assert result.exit_code == 0, result.output
    headings = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert headings == [
        "test (222222222222) → prod (333333333333)",
        "environment",
        "compute spot",
        "job csv-ingest",
        "job nightly-report",
        "images",
    ]
    assert "  jobs.csv-ingest.vcpus: 1 → 2" in result.stdout
    assert "  compute.spot.max_vcpus: 64 → 256" in result.stdout
    assert "  tier: development → production" in result.stdout
    assert "  csv-ingest: sha256:aaaaaaaaaaaa (git-1) → sha256:bbbbbbbbbbbb (git-2) (jobs: csv-ingest)" in result.stdout
    assert "data-quality" not in result.stdout
    assert "9 spec value(s), 2 image digest(s) differ" in result.stderr


# --- images --------------------------------------------------------------------


def test_an_image_pinned_on_one_side_only_is_unpinned_on_the_other() -> None:
    lock = ImageLock(images={"report": {"test": _pin("c")}})
    images = environment_diff(EXAMPLE, lock, "test", "prod").images
    assert [(i.image, i.before, i.after) for i in images] == [("report", _pin("c"), None)]


def test_a_different_tag_of_the_same_digest_is_no_difference() -> None:
    lock = ImageLock(images={"report": {"test": _pin("c", "git-1"), "prod": _pin("c", "git-9")}})
    result = environment_diff(EXAMPLE, lock, "test", "prod")
    assert result.images == ()
    assert "nightly-report" not in {g.name for g in result.groups}


def test_unpinned_text_says_so(platform_repo: Path) -> None:
    write_lock(platform_repo, ImageLock(images={"report": {"prod": _pin("d")}}))
    result = _invoke("--from", "dev", "--to", "prod", "--spec", str(platform_repo / "platform.yaml"))
    assert result.exit_code == 0, result.output
    assert "  report: unpinned → sha256:dddddddddddd (git-1) (jobs: nightly-report)" in result.stdout


# --- normalisation ---------------------------------------------------------------


def test_the_registry_account_is_not_normalised_with_the_first_environment() -> None:
    # The registry defaults to dev's account: dev's image references must not change with dev's account.
    result = environment_diff(EXAMPLE, ImageLock(), "dev", "prod")
    assert [(g.kind, g.name) for g in result.groups] == [("compute", "spot"), ("job", "csv-ingest")]
    changed = [
        line for g in result.groups for line in g.terraform if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ]
    assert changed
    assert not any('"image' in line for line in changed)


def test_an_s3_state_key_differs_only_by_environment_name_so_no_file_differs(tmp_path: Path) -> None:
    text = (REPO / "platform.yaml").read_text(encoding="utf-8")
    text = text.replace("state:\n  backend: local", "state:\n  backend: s3\n  s3: {bucket: acme-tfstate}")
    spec = parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    assert spec.platform.state.backend == "s3"
    assert environment_diff(spec, ImageLock(), "dev", "prod").files == ()


def test_same_environment_has_no_differences() -> None:
    result = environment_diff(EXAMPLE, LOCK, "prod", "prod")
    assert result.empty
    assert result.as_dict()["differs"] is False


def test_dev_to_test_differs_in_the_secret_and_environment_settings_only() -> None:
    result = environment_diff(EXAMPLE, ImageLock(), "dev", "test")
    assert [c.path for g in result.groups for c in g.changes] == ["jobs.csv-ingest.secrets.DB_PASSWORD"]
    assert [(c.path, c.before, c.after) for c in result.environment.changes] == [
        ("log_retention_days", 60, 30),
        ("network", "created, 2 AZs", "existing, 2 subnets"),
    ]


# --- field paths -------------------------------------------------------------------


def test_list_items_and_queue_overrides_are_reported_at_their_dotted_paths(tmp_path: Path) -> None:
    text = (REPO / "platform.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "      compute:\n        spot: {max_vcpus: 256}",
        "      compute:\n        spot: {max_vcpus: 256, instance_types: [c6i.large, c6a.large, m6i.xlarge]}\n"
        "      queues:\n        default: {priority: 20}",
    )
    spec = parse_spec(text, path=tmp_path / "platform.yaml", check_images=False)
    document = environment_diff(spec, ImageLock(), "test", "prod").as_dict()
    assert document["queues"]["default"]["changes"] == [{"path": "queues.default.priority", "from": 10, "to": 20}]
    assert {"path": "compute.spot.instance_types[2]", "from": "m6i.large", "to": "m6i.xlarge"} in document["compute"][
        "spot"
    ]["changes"]
    assert '+  "priority": 20' in document["queues"]["default"]["terraform"]


def test_json_keys_are_stable_when_nothing_differs() -> None:
    document = environment_diff(EXAMPLE, ImageLock(), "test", "test").as_dict()
    assert document == {
        "from": {"environment": "test", "account_id": "222222222222"},
        "to": {"environment": "test", "account_id": "222222222222"},
        "differs": False,
        "environment": {"changes": [], "terraform": []},
        "compute": {},
        "queues": {},
        "jobs": {},
        "pipelines": {},
        "images": {},
        "files": {},
    }


# --- the command line ----------------------------------------------------------------


def test_no_differences_exits_0() -> None:
    result = _invoke("--from", "prod", "--to", "prod", "--spec", str(REPO / "platform.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "prod → prod: no differences\n"


@pytest.mark.parametrize(
    ("args", "option"), [(["--from", "staging", "--to", "prod"], "--from"), (["--from", "dev", "--to", "qa"], "--to")]
)
def test_unknown_environment_exits_2(args: list[str], option: str) -> None:
    result = _invoke(*args, "--spec", str(REPO / "platform.yaml"))
    assert result.exit_code == 2
    assert option in result.stderr
    assert "dev, test, prod" in result.stderr


def test_invalid_spec_exits_3(tmp_path: Path) -> None:
    broken = tmp_path / "platform.yaml"
    broken.write_text((REPO / "platform.yaml").read_text(encoding="utf-8").replace("priority: 100", "priorty: 100"))
    result = _invoke("--from", "test", "--to", "prod", "--spec", str(broken))
    assert result.exit_code == 3
    assert "queues.critical.priorty" in result.stderr
    assert "Traceback" not in result.output


def test_a_pipeline_that_differs_is_diffed_as_json_without_the_environment_names(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "platform.yaml").read_text(encoding="utf-8"))
    spec_path = tmp_path / "platform.yaml"
    spec_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    same = environment_diff(load_spec(spec_path, check_images=False), ImageLock(), "dev", "prod").as_dict()
    assert same["pipelines"] == {}
    # Pipelines are not overridable, but the queue of a job they run is.
    document["environments"]["prod"]["overrides"]["jobs"]["csv-ingest"]["queue"] = "critical"
    spec_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    found = environment_diff(load_spec(spec_path, check_images=False), ImageLock(), "dev", "prod").as_dict()
    lines = found["pipelines"]["nightly"]["terraform"]
    changed = [line for line in lines if re.match(r"^[+-](?![+-]{2} )", line)]
    assert changed
    assert any("job-queue/acme-<env>-critical" in line for line in changed if line.startswith("+"))
    assert any("job-queue/acme-<env>-default" in line for line in changed if line.startswith("-"))
    assert not [line for line in lines if "acme-dev" in line or "acme-prod" in line]
    assert found["pipelines"]["nightly"]["changes"] == []
