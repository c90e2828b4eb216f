"""Root integrity without binaries: file classes, module sources, the known module list, the roots on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from batchplane.images.lock import ImageLock
from batchplane.policy.checkov.filters import INLINE_SKIP, carry_inline_skips, without_absent_modules
from batchplane.policy.findings import Finding, Outcome, Passed
from batchplane.policy.integrity import check_named_roots, check_roots
from batchplane.policy.integrity.configuration import loads_only_rendered, rendered_names, reserved, terraform_loads
from batchplane.policy.integrity.findings import (
    DIFFERS_ID,
    MODULE_SOURCE_ID,
    RESERVED_ID,
    SYMLINK_ID,
    UNDECLARED_ID,
    UNREADABLE_ID,
)
from batchplane.policy.integrity.modules import (
    REGENERATE,
    check_modules,
    known_modules,
    module_digests,
    reviewed,
    write_known_modules,
)
from batchplane.policy.integrity.sources import source_problem
from batchplane.render.roots import render_env_root, render_shared_root, static_main_tf
from batchplane.render.tree import compare, render, write
from batchplane.spec.loader import Spec, load_spec
from tests.conftest import REPO
from tests.unit.policy_support import write_spec


@pytest.mark.parametrize(
    ("name", "loads"),
    [
        ("main.tf", True),
        ("admin.tf.json", True),
        ("main_override.tf", True),
        ("override.tf.json", True),
        ("terraform.tfvars", True),
        ("terraform.tfvars.json", True),
        ("x.auto.tfvars", True),
        ("x.auto.tfvars.json", True),
        (".hidden.tf", False),
        ("main.tf~", False),
        ("#main.tf#", False),
        ("values.tfvars", False),
        (".terraform.lock.hcl", False),
        ("README.md", False),
    ],
)
def test_terraform_loads_the_files_terraform_plan_reads(name: str, loads: bool) -> None:
    assert terraform_loads(name) is loads


@pytest.mark.parametrize(
    "name",
    [
        "main_override.tf",
        "override.tf",
        "providers_override.tf.json",
        "admin.tf.json",
        "terraform.tfvars",
        "terraform.tfvars.json",
        "wide.auto.tfvars",
        "wide.auto.tfvars.json",
        ".terraformrc",
        "terraform.rc",
    ],
)
def test_overrides_values_and_cli_configuration_are_reserved_to_render(name: str) -> None:
    assert reserved(name) is not None


@pytest.mark.parametrize("name", ["budget.tf", "notes.md", "override_budget.tf", ".terraform.lock.hcl"])
def test_plain_files_are_not_reserved(name: str) -> None:
    assert reserved(name) is None


def _modules(tmp_path: Path) -> Path:
    modules = tmp_path / "modules"
    (modules / "job").mkdir(parents=True)
    (tmp_path / "environments" / "dev").mkdir(parents=True)
    return modules


@pytest.mark.parametrize(
    "source",
    [
        "git::https://github.com/evil/modules.git//job?ref=0123456789abcdef0123456789abcdef01234567",
        "github.com/evil/modules//job",
        "evil/job/aws",
        "app.terraform.io/evil/job/aws",
        "s3::https://s3.amazonaws.com/evil/job.zip",
        "https://example.com/job.zip",
        "/abs/modules/job",
        "../../modules/job?ref=abc",
        "../../../elsewhere",
        "../../modules",
        "../../modules/missing",
        "${path.module}/../../modules/job",
        42,
    ],
)
def test_a_module_source_outside_modules_is_a_problem(tmp_path: Path, source: object) -> None:
    modules = _modules(tmp_path)
    assert source_problem(source, tmp_path / "environments" / "dev", modules) is not None


def test_a_module_of_the_repository_is_fine(tmp_path: Path) -> None:
    modules = _modules(tmp_path)
    assert source_problem("../../modules/job", tmp_path / "environments" / "dev", modules) is None
    assert source_problem("./../../modules/job/", tmp_path / "environments" / "dev", modules) is None


def test_a_module_symlinked_out_of_modules_is_a_problem(tmp_path: Path) -> None:
    modules = _modules(tmp_path)
    (tmp_path / "outside").mkdir()
    (modules / "evil").symlink_to(tmp_path / "outside", target_is_directory=True)
    problem = source_problem("../../modules/evil", tmp_path / "environments" / "dev", modules)
    assert "outside the repository's modules/" in (problem or "")


def test_the_known_module_list_matches_modules() -> None:
    """Fails when modules/ changed without a review of the list (or the list without modules/)."""
    assert module_digests(REPO / "modules") == dict(known_modules()), (
        "modules/ and batchplane/policy/known_modules.json disagree: "
        f"review the module change, then run\n  {REGENERATE}"
    )


def test_every_reviewed_module_file_calls_only_modules_of_the_repository() -> None:
    # Files on the known list are not parsed at check time: this is where they are held to the rule.
    assert check_modules(REPO, known={}) == []


def test_a_new_module_file_with_a_remote_source_is_found(tmp_path: Path) -> None:
    modules = _modules(tmp_path)
    (modules / "job" / "nested.tf").write_text('module "x" {\n  source = "git::https://example.com/x.git"\n}\n')
    findings = check_modules(tmp_path, known={})
    assert [(f.id, f.address) for f in findings] == [(MODULE_SOURCE_ID, "modules/job/nested.tf:1")]


def test_a_module_file_that_does_not_parse_is_found(tmp_path: Path) -> None:
    modules = _modules(tmp_path)
    (modules / "job" / "main.tf").write_text('module "x" {\n  source = \n')
    assert [f.id for f in check_modules(tmp_path, known={})] == [UNREADABLE_ID]


def test_the_list_is_written_from_a_modules_folder(tmp_path: Path) -> None:
    modules = _modules(tmp_path)
    (modules / "job" / "main.tf").write_text("# reviewed\r\n")
    known = write_known_modules(modules, tmp_path / "known.json")
    # A CRLF checkout of a reviewed file is the same review.
    assert json.loads(known.read_text())["files"] == {"job/main.tf": hashlib.sha256(b"# reviewed\n").hexdigest()}


def test_a_reviewed_module_file_is_one_of_the_list(tmp_path: Path) -> None:
    assert reviewed(REPO / "modules" / "kms_key" / "main.tf", REPO / "modules")


def test_an_edited_module_file_is_not_reviewed(tmp_path: Path) -> None:
    copy = tmp_path / "modules" / "kms_key"
    copy.mkdir(parents=True)
    (copy / "main.tf").write_bytes((REPO / "modules" / "kms_key" / "main.tf").read_bytes() + b"\n# edited\n")
    assert not reviewed(copy / "main.tf", tmp_path / "modules")


def test_a_reviewed_file_under_another_name_is_not_reviewed(tmp_path: Path) -> None:
    copy = tmp_path / "modules" / "evil"
    copy.mkdir(parents=True)
    (copy / "main.tf").write_bytes((REPO / "modules" / "kms_key" / "main.tf").read_bytes())
    assert not reviewed(copy / "main.tf", tmp_path / "modules")


# --- the roots on disk ----------------------------------------------------------


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    """The small policy spec with its roots rendered to disk."""
    loaded = load_spec(write_spec(tmp_path), check_images=False)
    rendered = render(loaded, ImageLock())
    write(tmp_path, rendered, compare(tmp_path, rendered))
    return loaded


def _found(spec: Spec) -> list[tuple[str, str]]:
    return [(f.id, f.address) for f in check_roots(spec, spec.environments).findings]


def test_freshly_rendered_roots_are_intact(spec: Spec) -> None:
    assert _found(spec) == []


def test_state_lock_file_and_terraform_working_directory_are_tolerated(spec: Spec) -> None:
    root = spec.root / "environments" / "dev"
    (root / "terraform.tfstate").write_text("{}")
    (root / "terraform.tfstate.backup").write_text("{}")
    (root / ".terraform" / "providers").mkdir(parents=True)
    (root / ".terraform" / "modules").mkdir()
    (root / ".terraform" / "modules" / "modules.json").write_text("{}")
    (root / ".terraform.lock.hcl").write_text(
        'provider "registry.terraform.io/hashicorp/aws" {\n  version     = "5.100.0"\n'
        '  constraints = ">= 5.60.0, < 6.0.0"\n  hashes = [\n    "h1:abc=",\n  ]\n}\n'
    )
    assert _found(spec) == []


def test_a_lock_file_that_pins_another_provider_is_found(spec: Spec) -> None:
    lock = spec.root / "environments" / "dev" / ".terraform.lock.hcl"
    lock.write_text('provider "registry.example.com/evil/aws" {\n  version = "1.0.0"\n  hashes = []\n}\n')
    assert _found(spec) == [(UNDECLARED_ID, "environments/dev/.terraform.lock.hcl")]


def test_a_foreign_file_is_found(spec: Spec) -> None:
    (spec.root / "environments" / "dev" / "notes.md").write_text("hello")
    assert _found(spec) == [(UNDECLARED_ID, "environments/dev/notes.md")]


def test_an_extra_file_in_batchplanes_own_directory_is_found(spec: Spec) -> None:
    (spec.root / "environments" / "dev" / ".batchplane" / "extra.json").write_text("{}")
    assert _found(spec) == [(UNDECLARED_ID, "environments/dev/.batchplane/extra.json")]


def test_a_missing_rendered_file_is_found(spec: Spec) -> None:
    (spec.root / "environments" / "prod" / "outputs.tf").unlink()
    assert _found(spec) == [(DIFFERS_ID, "environments/prod/outputs.tf")]


def test_an_edited_sourcemap_is_found(spec: Spec) -> None:
    sourcemap = spec.root / "environments" / "dev" / ".batchplane" / "sourcemap.json"
    sourcemap.write_text(sourcemap.read_text().replace("jobs.ingest", "policy"))
    assert _found(spec) == [(DIFFERS_ID, "environments/dev/.batchplane/sourcemap.json")]


def test_a_symlinked_own_directory_is_one_finding(spec: Spec) -> None:
    own = spec.root / "environments" / "dev" / ".batchplane"
    own.rename(spec.root / "elsewhere")
    own.symlink_to(spec.root / "elsewhere", target_is_directory=True)
    assert _found(spec) == [(SYMLINK_ID, "environments/dev/.batchplane")]


def test_an_override_is_reserved_even_when_declared(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    path.write_text(
        path.read_text()
        + "policy:\n  extra_files:\n    - {path: environments/dev/main_override.tf, reason: swap a module}\n"
    )
    loaded = load_spec(path, check_images=False)
    rendered = render(loaded, ImageLock())
    write(tmp_path, rendered, compare(tmp_path, rendered))
    (tmp_path / "environments" / "dev" / "main_override.tf").write_text('module "job" {\n  count = 1\n}\n')
    findings = check_roots(loaded, ["dev"]).findings
    assert [(f.id, f.spec_path) for f in findings] == [(RESERVED_ID, "policy.extra_files[0]")]


def test_a_declared_file_may_not_configure_providers_or_run_programs(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    path.write_text(
        path.read_text() + "policy:\n  extra_files:\n    - {path: environments/dev/extra.tf, reason: alarms}\n"
    )
    loaded = load_spec(path, check_images=False)
    rendered = render(loaded, ImageLock())
    write(tmp_path, rendered, compare(tmp_path, rendered))
    (tmp_path / "environments" / "dev" / "extra.tf").write_text(
        'provider "aws" {\n  alias = "other"\n}\n\ndata "external" "x" {\n  program = ["sh"]\n}\n'
    )
    findings = check_roots(loaded, ["dev"]).findings
    assert sorted(f.address for f in findings if f.id == RESERVED_ID) == [
        "environments/dev/extra.tf:1",
        "environments/dev/extra.tf:5",
    ]


# --- render and the absent-module shortcut ---------------------------------------


def test_rendered_names_are_the_terraform_files_render_writes(spec: Spec) -> None:
    env = {n for n in render_env_root(spec, ImageLock(), "dev") if terraform_loads(n)}
    shared = {n for n in render_shared_root(spec) if terraform_loads(n)}
    assert (set(rendered_names("dev")), set(rendered_names("shared"))) == (env, shared)


ABSENT = "module.network.aws_cloudwatch_log_group.flow_logs"
NO_NETWORK = {"network": {"create": False}, "jobs": {"a": {}}, "job_queues": {"default": {}}}


def _scanned() -> Outcome:
    finding = Finding("test", "environments.test", "CKV_AWS_338", ABSENT, "medium", None, "retention")
    return Outcome((finding,), (Passed("test", "CKV_AWS_1", ABSENT, "environments.test"),))


def test_the_shortcut_holds_for_a_root_of_rendered_files_alone(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(static_main_tf("test"))
    assert loads_only_rendered(tmp_path, "test")
    assert without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK) == Outcome()


def test_an_absent_modules_inline_skips_stay_for_the_plan_scan(tmp_path: Path) -> None:
    """Local mode creates a stand-in for a reused network: its plan needs the module's skips."""
    (tmp_path / "main.tf").write_text(static_main_tf("test"))
    skipped = _scanned().findings[0].waive(f"{INLINE_SKIP}judged by BP-OPS-003")
    kept = without_absent_modules(Outcome((skipped,), ()), "test", tmp_path, NO_NETWORK)
    assert kept.findings == ()  # never reported
    assert kept.dormant_skips == (skipped,)
    planned = Outcome((_scanned().findings[0],), ())
    assert carry_inline_skips(kept, planned, "test").findings == (skipped,)


@pytest.mark.parametrize("name", ["network_override.tf", "extra.tf", "count.auto.tfvars.json", "x.tf.json"])
def test_any_other_file_terraform_loads_keeps_every_verdict(tmp_path: Path, name: str) -> None:
    (tmp_path / "main.tf").write_text(static_main_tf("test"))
    (tmp_path / name).write_text('module "network" {\n  count = 1\n}\n')
    assert without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK) == _scanned()


def test_a_declared_file_keeps_every_verdict(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(static_main_tf("test"))
    assert without_absent_modules(_scanned(), "test", tmp_path, NO_NETWORK, declared=True) == _scanned()


def test_the_shared_root_can_be_checked_by_itself(platform_repo: Path) -> None:
    """`plan --env shared` checks the shared root alone (it has no environment of its own)."""
    spec = load_spec(platform_repo / "platform.yaml")
    rendered = render(spec, ImageLock())
    write(spec.root, rendered, compare(spec.root, rendered))
    assert check_named_roots(spec, ["shared"]).findings == ()
    (platform_repo / "environments" / "shared" / "extra.tf").write_text("# not rendered\n")
    found = check_named_roots(spec, ["shared"]).findings
    assert [(f.id, f.spec_path) for f in found] == [("BP-TF-003", "registry")]
