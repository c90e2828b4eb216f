"""Rendering: byte-stable, compared with disk first, owns only its own files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.images.lock import ImageLock, LockEntry
from batchplane.render import OwnershipError, compare, render, write
from batchplane.render.roots import SHARED_ROOT, absent_modules, static_main_tf
from batchplane.spec import load_spec, parse_spec
from batchplane.terraform import targets
from tests.conftest import REPO

runner = CliRunner()


def test_rendering_twice_gives_identical_bytes() -> None:
    spec = load_spec(REPO / "platform.yaml")
    first = render(spec, ImageLock()).tree
    second = render(load_spec(REPO / "platform.yaml"), ImageLock()).tree
    assert first == second
    assert list(first) == sorted(first)


def test_committed_environments_match_the_example_spec() -> None:
    result = runner.invoke(app, ["render", "--check", "--spec", str(REPO / "platform.yaml")])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_render_check_exits_6_after_a_one_field_change(platform_repo: Path) -> None:
    spec_file = platform_repo / "platform.yaml"
    spec_file.write_text(spec_file.read_text().replace("priority: 100", "priority: 99"))
    result = runner.invoke(app, ["render", "--check", "--spec", str(spec_file)])
    assert result.exit_code == 6
    assert "~ environments/dev/terraform.tfvars.json" in result.output
    assert "~ environments/prod/terraform.tfvars.json" in result.output
    assert "environments/dev/main.tf" not in result.output


def test_render_check_writes_nothing(platform_repo: Path) -> None:
    spec_file = platform_repo / "platform.yaml"
    before = (platform_repo / "environments/dev/terraform.tfvars.json").read_bytes()
    spec_file.write_text(spec_file.read_text().replace("priority: 100", "priority: 99"))
    runner.invoke(app, ["render", "--check", "--spec", str(spec_file)])
    assert (platform_repo / "environments/dev/terraform.tfvars.json").read_bytes() == before


def test_a_second_render_is_a_no_op(platform_repo: Path) -> None:
    spec_file = str(platform_repo / "platform.yaml")
    runner.invoke(app, ["render", "--spec", spec_file])
    result = runner.invoke(app, ["render", "--json", "--spec", spec_file])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["added"] == report["changed"] == report["removed"] == []
    assert report["written"] is False


def test_files_batchplane_did_not_write_are_left_alone(platform_repo: Path) -> None:
    own = platform_repo / "environments/dev/extra.tf"
    own.write_text('# my own file\noutput "x" {\n  value = 1\n}\n')
    lock_file = platform_repo / "environments/dev/.terraform.lock.hcl"
    lock_file.write_text("# lock\n")
    result = runner.invoke(app, ["render", "--spec", str(platform_repo / "platform.yaml")])
    assert result.exit_code == 0, result.output
    assert own.read_text().startswith("# my own file")
    assert lock_file.read_text() == "# lock\n"


def test_a_removed_environment_loses_its_generated_files_but_keeps_others(
    platform_repo: Path,
) -> None:
    spec_file = platform_repo / "platform.yaml"
    text = spec_file.read_text()
    start = text.index("  test:\n")
    end = text.index("  prod:\n")
    spec_file.write_text(text[:start] + text[end:])
    keep = platform_repo / "environments/test/.terraform.lock.hcl"
    keep.write_text("# lock\n")
    result = runner.invoke(app, ["render", "--spec", str(spec_file)])
    assert result.exit_code == 0, result.output
    assert "- environments/test/main.tf" in result.output
    assert not (platform_repo / "environments/test/main.tf").exists()
    assert not (platform_repo / "environments/test/.batchplane").exists()
    assert keep.exists()


def test_rendering_over_a_hand_written_file_is_refused(platform_repo: Path) -> None:
    spec = load_spec(platform_repo / "platform.yaml")
    main_tf = platform_repo / "environments/dev/main.tf"
    main_tf.write_text("# hand-written\n")
    (platform_repo / "environments/dev/.batchplane/manifest.json").unlink()
    with pytest.raises(OwnershipError, match=r"environments/dev/main\.tf"):
        compare(platform_repo, render(spec, ImageLock()))
    assert main_tf.read_text() == "# hand-written\n"


def test_render_of_one_environment_touches_only_that_root(platform_repo: Path) -> None:
    spec_file = platform_repo / "platform.yaml"
    spec_file.write_text(spec_file.read_text().replace("priority: 100", "priority: 99"))
    result = runner.invoke(app, ["render", "--env", "dev", "--spec", str(spec_file)])
    assert result.exit_code == 0
    assert "environments/dev/terraform.tfvars.json" in result.output
    assert "environments/prod" not in result.output
    values = json.loads((platform_repo / "environments/dev/terraform.tfvars.json").read_text())
    assert values["job_queues"]["critical"]["priority"] == 99


def test_generated_terraform_files_carry_the_header() -> None:
    tree = render(load_spec(REPO / "platform.yaml"), ImageLock()).tree
    for path, data in tree.items():
        if path.endswith(".tf"):
            assert data.startswith(b"# Generated by batchplane"), path


def test_tfvars_hold_the_resolved_values_of_each_environment() -> None:
    spec = load_spec(REPO / "platform.yaml")
    tree = render(spec, ImageLock()).tree
    dev = json.loads(tree["environments/dev/terraform.tfvars.json"])
    prod = json.loads(tree["environments/prod/terraform.tfvars.json"])
    assert dev["jobs"]["csv-ingest"]["vcpus"] == 1
    assert prod["jobs"]["csv-ingest"]["vcpus"] == 2
    assert prod["compute_environments"]["spot"]["max_vcpus"] == 256
    assert dev["compute_environments"]["spot"]["max_vcpus"] == 64
    assert prod["tags"] == {
        "cost-center": "4711",
        "environment": "prod",
        "managed-by": "batchplane",
        "owner": "data-platform",
        "platform": "acme",
    }
    assert dev["jobs"]["data-quality"]["platform"] == "FARGATE"
    assert dev["jobs"]["csv-ingest"]["timeout_seconds"] == 3600


def test_jobs_are_pinned_to_the_digest_in_the_lock() -> None:
    spec = load_spec(REPO / "platform.yaml")
    digest = "sha256:" + "a" * 64
    lock = ImageLock(images={"csv-ingest": {"test": LockEntry(digest=digest, tag="git-1", source_hash="x")}})
    tree = render(spec, lock).tree
    test_values = json.loads(tree["environments/test/terraform.tfvars.json"])
    dev_values = json.loads(tree["environments/dev/terraform.tfvars.json"])
    assert test_values["jobs"]["csv-ingest"]["image"] == (
        f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@{digest}"
    )
    assert dev_values["jobs"]["csv-ingest"]["image"].endswith("acme/csv-ingest:latest")


def test_sourcemap_points_at_spec_lines() -> None:
    spec = load_spec(REPO / "platform.yaml")
    tree = render(spec, ImageLock()).tree
    sourcemap = json.loads(tree["environments/dev/.batchplane/sourcemap.json"])
    entry = sourcemap["addresses"]['module.job["csv-ingest"]']
    assert entry["spec_path"] == "jobs.csv-ingest"
    lines = (REPO / "platform.yaml").read_text().splitlines()
    assert lines[entry["line"] - 1].strip() == "csv-ingest:"


def test_s3_backend_is_rendered_with_native_locking(platform_repo: Path) -> None:
    spec_file = platform_repo / "platform.yaml"
    spec_file.write_text(
        spec_file.read_text().replace(
            "state:\n  backend: local\n",
            "state:\n  backend: s3\n  s3: {bucket: acme-tfstate, key_prefix: platform}\n",
        )
    )
    tree = render(load_spec(spec_file), ImageLock()).tree
    backend = tree["environments/prod/backend.tf"].decode()
    assert 'backend "s3"' in backend
    assert 'bucket       = "acme-tfstate"' in backend
    assert 'key          = "platform/acme/prod/terraform.tfstate"' in backend
    assert "use_lockfile = true" in backend


def test_write_then_compare_is_empty(platform_repo: Path) -> None:
    spec = load_spec(platform_repo / "platform.yaml")
    rendered = render(spec, ImageLock())
    write(platform_repo, rendered, compare(platform_repo, rendered))
    assert compare(platform_repo, rendered).empty


def test_lock_written_atomically_reads_back_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    from batchplane.images.lock import read_lock, write_lock

    digest = "sha256:" + "b" * 64
    lock = ImageLock(images={"report": {"dev": LockEntry(digest=digest, tag="git-2", source_hash="h")}})
    write_lock(tmp_path, lock)
    assert read_lock(tmp_path) == lock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.lock.json"]


def test_an_external_registry_renders_no_shared_root() -> None:
    text = (REPO / "platform.yaml").read_text()
    assert "registry:\n  type: ecr\n" in text
    external = text.replace("type: ecr\n", "type: external\n  url: registry.example.com/acme\n")
    spec = parse_spec(external, path=REPO / "platform.yaml")
    assert render(spec, ImageLock()).roots == ("environments/dev", "environments/test", "environments/prod")
    assert targets.roots_of(spec) == ["dev", "test", "prod"]
    assert targets.roots_of(load_spec(REPO / "platform.yaml")) == [SHARED_ROOT, "dev", "test", "prod"]


def _instance_counts(main_tf: str) -> dict[str, str]:
    """module name -> its count or for_each expression, read from a rendered main.tf."""
    counts = {}
    for name, body in re.findall(r'^module "([a-z_]+)" \{\n(.*?)^\}', main_tf, re.MULTILINE | re.DOTALL):
        meta = re.search(r"^  (?:count|for_each) += (.+)$", body, re.MULTILINE)
        if meta:
            counts[name] = meta.group(1)
    return counts


def test_absent_modules_mirrors_the_count_and_for_each_of_the_rendered_roots() -> None:
    assert _instance_counts(static_main_tf("dev")) == {
        "network": "var.network.create ? 1 : 0",
        "compute": "var.compute_environments",
        "queue": "var.job_queues",
        "job": "var.jobs",
        "pipeline": "var.pipelines",
    }
    assert _instance_counts(static_main_tf(SHARED_ROOT)) == {"repository": "var.repositories"}
    nothing = {
        "network": {"create": False},
        "compute_environments": {},
        "job_queues": {},
        "jobs": {},
        "pipelines": {},
    }
    assert absent_modules("dev", nothing) == {"network", "compute", "queue", "job", "pipeline"}
    some = {**nothing, "network": {"create": True}, "jobs": {"a": {}}}
    assert absent_modules("dev", some) == {"compute", "queue", "pipeline"}
    assert absent_modules("dev", {**some, "pipelines": {"p": {}}}) == {"compute", "queue"}
    assert absent_modules(SHARED_ROOT, {"repositories": {}}) == {"repository"}
    assert absent_modules(SHARED_ROOT, {"repositories": {"a": {}}}) == set()
