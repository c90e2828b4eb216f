"""What render writes for fair share, GPUs, share identifiers and array sizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchplane.images.lock import ImageLock
from batchplane.render import render
from batchplane.render.roots import env_values, weight_factors
from batchplane.spec.loader import Spec
from tests.conftest import REPO
from tests.unit.policy_support import base, spec_from


def capacity_spec(tmp_path: Path, shares: dict[str, float] | None = None) -> Spec:
    """The base spec plus a fair-share queue with a GPU job and an array job on it."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    document = base()
    document["compute"]["gpu"] = {"kind": "ec2", "instance_types": ["g4dn.xlarge"], "max_vcpus": 16}
    document["queues"]["shared"] = {
        "priority": 5,
        "compute": ["gpu"],
        "fair_share": {
            "shares": shares or {"analytics": 3, "adhoc": 1},
            "share_decay_seconds": 3600,
            "compute_reservation": 10,
        },
    }
    ingest = document["jobs"]["ingest"]
    document["jobs"]["frames"] = {
        **ingest,
        "queue": "shared",
        "gpus": 1,
        "share": "analytics",
        "schedule": "rate(1 day)",
    }
    document["jobs"]["tiles"] = {**ingest, "queue": "shared", "share": "adhoc", "array_size": 4}
    return spec_from(document, tmp_path)


def dev_values(spec: Spec) -> dict[str, Any]:
    return env_values(spec.env("dev"), ImageLock(), "dev")


@pytest.mark.parametrize(
    ("shares", "factors"),
    [
        ({"analytics": 3, "adhoc": 1}, {"adhoc": 3, "analytics": 1}),
        ({"a": 3, "b": 2}, {"a": 1, "b": 1.5}),
        ({"a": 7, "b": 3}, {"a": 1, "b": 2.3333}),
        ({"a": 0.5, "b": 0.25}, {"a": 1, "b": 2}),
        ({"a": 999, "b": 1}, {"a": 1, "b": 999}),
        ({"only": 5}, {"only": 1}),
    ],
)
def test_the_largest_weight_gets_factor_one_and_smaller_weights_proportionally_more(
    shares: dict[str, float], factors: dict[str, float]
) -> None:
    assert weight_factors(shares) == factors


def test_weight_factors_are_in_share_identifier_order() -> None:
    assert list(weight_factors({"zeta": 1, "alpha": 2, "mid": 4})) == ["alpha", "mid", "zeta"]


def test_a_fair_share_queue_renders_its_policy(tmp_path: Path) -> None:
    queues = dev_values(capacity_spec(tmp_path))["job_queues"]
    assert queues["shared"] == {
        "priority": 5,
        "compute_environments": ["gpu"],
        "fair_share": {
            "weight_factors": {"adhoc": 3, "analytics": 1},
            "compute_reservation": 10,
            "share_decay_seconds": 3600,
        },
    }


def test_optional_fair_share_settings_are_left_out_when_unset(tmp_path: Path) -> None:
    document = base()
    document["queues"]["default"]["fair_share"] = {"shares": {"ingest": 1}}
    document["jobs"]["ingest"]["share"] = "ingest"
    queues = dev_values(spec_from(document, tmp_path))["job_queues"]
    assert queues["default"]["fair_share"] == {"weight_factors": {"ingest": 1}}


def test_a_queue_without_fair_share_renders_no_policy(tmp_path: Path) -> None:
    queues = dev_values(capacity_spec(tmp_path))["job_queues"]
    assert queues["default"] == {"priority": 1, "compute_environments": ["spot", "ondemand"]}


def test_gpus_share_and_array_size_are_rendered_where_the_spec_sets_them(tmp_path: Path) -> None:
    jobs = dev_values(capacity_spec(tmp_path))["jobs"]
    frames = jobs["frames"]
    assert (frames["gpus"], frames["share"], frames["schedule"]) == (1, "analytics", "rate(1 day)")
    assert "array_size" not in jobs["frames"]
    assert (jobs["tiles"]["share"], jobs["tiles"]["array_size"]) == ("adhoc", 4)
    assert "gpus" not in jobs["tiles"]


def test_jobs_without_them_render_none_of_them(tmp_path: Path) -> None:
    ingest = dev_values(capacity_spec(tmp_path))["jobs"]["ingest"]
    assert not {"gpus", "share", "array_size"} & set(ingest)


def test_the_example_environments_render_no_capacity_fields() -> None:
    # The committed roots of a spec without the new fields keep their values byte for byte.
    for root in ("dev", "test", "prod"):
        values = json.loads((REPO / "environments" / root / "terraform.tfvars.json").read_text())
        assert all("fair_share" not in q for q in values["job_queues"].values())
        assert all(not {"gpus", "share", "array_size"} & set(j) for j in values["jobs"].values())


def test_the_root_hands_the_fields_to_the_modules() -> None:
    main_tf = (REPO / "environments" / "dev" / "main.tf").read_text()
    for line in (
        "fair_share               = each.value.fair_share",
        "gpus                 = each.value.gpus",
        "share_identifier     = each.value.share",
        "array_size           = each.value.array_size",
    ):
        assert line in main_tf


def test_rendering_a_capacity_spec_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = render(capacity_spec(tmp_path / "one"), ImageLock()).tree
    # The same shares written in another order render the same bytes.
    second = render(capacity_spec(tmp_path / "two", {"adhoc": 1, "analytics": 3}), ImageLock()).tree
    assert first == second
    assert "weight_factors" in str(first["environments/dev/terraform.tfvars.json"])
