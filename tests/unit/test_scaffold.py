"""`jobs new`: a job image and its spec entry that pass every spec rule, added all or nothing."""

from __future__ import annotations

import difflib
import glob
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.jobs import jobs_new
from batchplane.errors import BatchplaneError, ExitCode
from batchplane.images.lock import read_lock
from batchplane.policy.findings import PolicyFailedError
from batchplane.policy.gate import Request, run_check
from batchplane.render import Changes, compare, render
from batchplane.scaffold import transaction
from batchplane.scaffold.choose import NewJob, ScaffoldError, choose
from batchplane.scaffold.folder import TEMPLATE_DIR, TEMPLATES, image_files
from batchplane.scaffold.new_job import new_job
from batchplane.scaffold.spec_edit import add_job
from batchplane.spec import load_spec, parse_spec
from tests.conftest import REPO

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example repository: spec, images, rendered roots, modules, policies."""
    target = tmp_path / "repo"
    target.mkdir()
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(
            REPO / name,
            target / name,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__", ".pytest_cache"),
        )
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _app() -> typer.Typer:
    """`jobs new` on a bare app, as batchplane.cli.jobs registers it."""
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    jobs = typer.Typer()
    jobs.command("new")(jobs_new)

    @jobs.callback()
    def _jobs() -> None:
        """The jobs group."""

    @app.callback()
    def _main() -> None:
        """The main app."""

    app.add_typer(jobs, name="jobs")
    return app


# --- the acceptance: report-export on the example ---------------------------------


def test_the_new_job_validates_with_its_image_and_passes_the_spec_rules(repo: Path) -> None:
    new_job(repo / "platform.yaml", "report-export")

    spec = load_spec(repo / "platform.yaml")  # also checks job_images/report-export/Dockerfile
    outcome = run_check(spec, Request(spec.environments, spec_only=True))

    assert spec.platform.jobs["report-export"].command == ["python", "-m", "report_export"]
    assert [f for f in outcome.findings if not f.waived] == []


def test_the_spec_only_gains_an_appended_block_after_the_last_job(repo: Path) -> None:
    before = (repo / "platform.yaml").read_text(encoding="utf-8").splitlines(keepends=True)

    new_job(repo / "platform.yaml", "report-export")

    after = (repo / "platform.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    edits = [op for op in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes() if op[0] != "equal"]
    assert len(edits) == 1
    kind, start, end, new_start, new_end = edits[0]
    assert (kind, start, end) == ("insert", start, start)
    assert before[start - 1] == '    schedule: "rate(6 hours)"\n'  # the end of the last job, data-quality
    assert after[new_start] == "  report-export:\n"
    assert all(line.startswith("    ") for line in after[new_start + 1 : new_end])
    assert sum(line.lstrip().startswith("#") for line in after) == sum(line.lstrip().startswith("#") for line in before)


def test_the_rendered_roots_change_and_are_up_to_date(repo: Path) -> None:
    before = snapshot(repo / "environments")

    result = new_job(repo / "platform.yaml", "report-export")

    after = snapshot(repo / "environments")
    spec = load_spec(repo / "platform.yaml")
    assert compare(repo, render(spec, read_lock(repo))).empty  # `render --check` would pass
    changed = sorted(path for path in after if after[path] != before.get(path))
    assert changed == sorted(p.removeprefix("environments/") for p in result.render_changes.changed)
    for env in spec.environments:
        tfvars = json.loads(after[f"{env}/terraform.tfvars.json"])
        assert tfvars["jobs"]["report-export"]["command"] == ["python", "-m", "report_export"]
    assert "report-export" in json.loads(after["shared/terraform.tfvars.json"])["repositories"]


def test_the_scaffolded_image_has_the_shape_of_the_others(repo: Path) -> None:
    result = new_job(repo / "platform.yaml", "report-export")

    image = repo / "job_images" / "report-export"
    assert result.image_dir == image
    assert result.image_files == tuple(
        sorted(
            f"job_images/report-export/{name}"
            for name in (
                ".dockerignore",
                "Dockerfile",
                "README.md",
                "requirements.txt",
                "report_export/__init__.py",
                "report_export/__main__.py",
                "report_export/job.py",
                "tests/test_report_export.py",
                "tests/test_report_export_container.py",
            )
        )
    )
    # One way to build every image: the other images' build files, with the package renamed.
    reference = REPO / "job_images" / "csv-ingest"
    dockerfile = (reference / "Dockerfile").read_text(encoding="utf-8").replace("csv_ingest", "report_export")
    assert (image / "Dockerfile").read_text(encoding="utf-8") == dockerfile
    for name in (".dockerignore", "requirements.txt"):
        assert (image / name).read_bytes() == (reference / name).read_bytes(), name


def _template_files(folder: Traversable, prefix: str = "") -> Iterator[str]:
    for child in folder.iterdir():
        if child.is_dir():
            yield from _template_files(child, f"{prefix}{child.name}/")
        else:
            yield f"{prefix}{child.name}"


def test_every_template_is_named_in_code_and_shipped_as_package_data() -> None:
    named = [template for template, _ in TEMPLATES]
    assert sorted(_template_files(TEMPLATE_DIR)) == sorted(named)
    # What setuptools puts into the wheel: the package-data globs, expanded as it does (recursive glob).
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_root = REPO / "platform" / "batchplane"
    shipped = {
        path
        for pattern in package_data["package-data"]["batchplane"]
        for path in glob.glob(pattern, root_dir=package_root, recursive=True)
    }
    assert {f"scaffold/templates/{template}" for template in named} <= shipped


def test_the_templates_are_filled_with_the_name_and_package() -> None:
    files = image_files(NewJob(name="report-export", queue="q", interruptible=True, fargate=False, spot=True))

    for path, text in files.items():
        assert text == text.rstrip("\n") + "\n", path  # one final newline, as the files were written
        assert not any(marker in text for marker in ("{{", "{%", "__NAME__", "__PACKAGE__")), path
    assert files["README.md"].startswith("# report-export\n")
    main = "import sys\n\nfrom report_export.job import main\n\nsys.exit(main())\n"
    assert files["report_export/__main__.py"] == main
    assert 'LOG = logging.getLogger("report-export")' in files["report_export/job.py"]
    assert "COPY report_export/ /opt/job/report_export/" in files["Dockerfile"]
    assert "from report_export.job import EXIT_AWS" in files["tests/test_report_export.py"]
    container = files["tests/test_report_export_container.py"]
    assert 'JOB = SPEC.platform.jobs["report-export"]' in container
    assert "pytestmark = pytest.mark.integration" in container
    assert 'lines, prefix = finished.output.splitlines(), "INFO report-export: "' in container


def test_the_scaffolded_image_unit_tests_pass(repo: Path) -> None:
    new_job(repo / "platform.yaml", "report-export")

    done = subprocess.run(
        # Not the container tests (integration, Docker): tests/integration/test_job_image_containers.py runs them.
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-m", "not integration"],
        cwd=repo / "job_images" / "report-export",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 2 deselected" in done.stdout  # the container tests are collected: they import


def test_the_longest_name_gives_lint_clean_code(repo: Path) -> None:
    name = "a-job-name-of-thirty-two-chars-x"
    assert len(name) == 32
    new_job(repo / "platform.yaml", name)
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")  # job_images/ruff.toml extends it

    ruff = Path(sys.executable).with_name("ruff")
    for command in ([str(ruff), "check", f"job_images/{name}"], [str(ruff), "format", "--check", f"job_images/{name}"]):
        done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


# --- decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "queue", "interruptible", "fargate", "retry"),
    [
        (
            {},
            "default",
            True,
            False,
            {"attempts": 3, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]},
        ),
        ({"interruptible": False}, "critical", False, False, {"attempts": 1}),
        (
            {"fargate": True},
            "light",
            True,
            True,
            {"attempts": 3, "on_exit": [{"on_status_reason": "Host EC2*", "action": "retry"}]},
        ),
        ({"queue": "critical"}, "critical", False, False, {"attempts": 1}),
        ({"queue": "critical", "interruptible": True}, "critical", True, False, {"attempts": 1}),
    ],
    ids=["defaults", "no-interruptible", "fargate", "queue", "interruptible-without-spot"],
)
def test_queue_and_interruptible_follow_the_options(
    options: dict[str, object], queue: str, interruptible: bool, fargate: bool, retry: dict[str, object]
) -> None:
    spec = load_spec(REPO / "platform.yaml")

    job = choose(spec, "report-export", **options)  # type: ignore[arg-type]

    assert (job.queue, job.interruptible, job.fargate, job.entry()["retry"]) == (queue, interruptible, fargate, retry)


def test_a_fargate_job_gets_a_fargate_size_and_passes(repo: Path) -> None:
    result = new_job(repo / "platform.yaml", "light-export", fargate=True)

    spec = load_spec(repo / "platform.yaml")
    job = spec.platform.jobs["light-export"]
    outcome = run_check(spec, Request(spec.environments, spec_only=True))
    assert (result.job.queue, job.vcpus, job.memory_mib) == ("light", 1.0, 2048)
    assert [f for f in outcome.findings if not f.waived] == []


def test_without_a_default_queue_the_first_that_fits_is_taken() -> None:
    text = (
        (REPO / "platform.yaml")
        .read_text(encoding="utf-8")
        .replace("  default:\n    priority: 10", "  bulk:\n    priority: 10")
    )
    text = text.replace("queue: default", "queue: bulk")
    spec = parse_spec(text, path=REPO / "platform.yaml")

    assert choose(spec, "report-export").queue == "bulk"


def test_a_name_yaml_would_read_as_a_boolean_is_quoted(repo: Path) -> None:
    new_job(repo / "platform.yaml", "yes")

    spec = load_spec(repo / "platform.yaml")
    assert spec.platform.jobs["yes"].image == "yes"
    assert '\n  "yes":\n    image: "yes"\n' in (repo / "platform.yaml").read_text(encoding="utf-8")


# --- all or nothing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("csv-ingest", {}, "job 'csv-ingest' already exists in platform.yaml"),
        ("report", {}, "job_images/report already exists"),  # an image folder without a job of that name
        ("report-export", {"queue": "nope"}, "no queue named 'nope' (the spec has: default, critical, light)"),
        ("report-export", {"queue": "critical", "fargate": True}, "queue 'critical' is not a Fargate queue"),
        ("report-export", {"fargate": True, "interruptible": False}, "no queue in platform.yaml fits --fargate"),
        ("Report_Export", {}, "use lowercase letters, digits and '-'"),
        ("json", {}, "would shadow the Python module"),
        ("tests", {}, "would shadow the Python module"),
        ("a" * 33, {}, "at most 32 characters"),
    ],
    ids=["job", "folder", "queue", "not-fargate", "no-fitting-queue", "pattern", "stdlib", "tests", "too-long"],
)
def test_a_bad_request_is_a_usage_error_and_changes_nothing(
    repo: Path, name: str, options: dict[str, object], message: str
) -> None:
    before = snapshot(repo)

    with pytest.raises(ScaffoldError) as raised:
        new_job(repo / "platform.yaml", name, **options)  # type: ignore[arg-type]

    assert message in str(raised.value)
    assert raised.value.exit_code == ExitCode.USAGE
    assert snapshot(repo) == before


def test_a_job_that_would_fail_the_policy_gate_changes_nothing(repo: Path) -> None:
    before = snapshot(repo)

    with pytest.raises(PolicyFailedError) as raised:
        new_job(repo / "platform.yaml", "report-export", queue="default", interruptible=False)

    assert "BP-SPOT-001 (high) dev: jobs.report-export.interruptible" in str(raised.value)
    assert "queue without Spot compute: critical" in str(raised.value)
    assert snapshot(repo) == before


def test_a_name_too_long_for_iam_names_changes_nothing(repo: Path) -> None:
    text = (
        (repo / "platform.yaml").read_text(encoding="utf-8").replace("name: acme\n", "name: acme-data-platform-team\n")
    )
    (repo / "platform.yaml").write_text(text, encoding="utf-8")
    before = snapshot(repo)

    with pytest.raises(ScaffoldError, match="too long for IAM"):
        new_job(repo / "platform.yaml", "a-rather-long-job-name-of-thirty")

    assert snapshot(repo) == before


def test_a_failure_while_writing_restores_everything(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(repo)

    def fail_half_way(root: Path, rendered: object, changes: Changes) -> None:
        target = root / changes.changed[0]
        target.write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(transaction, "write", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        new_job(repo / "platform.yaml", "report-export")

    assert snapshot(repo) == before


def test_foreign_files_in_a_root_are_refused_before_anything_is_written(repo: Path) -> None:
    tfvars = repo / "environments" / "dev" / "terraform.tfvars.json"
    tfvars.write_text('{"hand": "edited"}\n', encoding="utf-8")
    manifest = repo / "environments" / "dev" / ".batchplane" / "manifest.json"
    manifest.write_text('{"generated": []}\n', encoding="utf-8")
    before = snapshot(repo)

    with pytest.raises(BatchplaneError, match="refusing to overwrite"):
        new_job(repo / "platform.yaml", "report-export")

    assert snapshot(repo) == before


# --- the spec edit on other layouts ---------------------------------------------------

JOB = NewJob(name="etl", queue="q", interruptible=False, fargate=False, spot=False)
HEAD = """\
version: 1
name: acme
region: eu-west-1
environments:
  dev: {account_id: "111111111111", network: {create: true, cidr: 10.0.0.0/16}, max_vcpus: 4}
compute:
  c: {kind: ec2, instance_types: [optimal], max_vcpus: 4}
queues:
  q: {priority: 1, compute: [c]}
"""
ENTRY = """\
    image: etl
    queue: q
    vcpus: 1
    memory_mib: 2048
    command: [python, -m, etl]
    timeout: 1h
    retry: {attempts: 1}
    interruptible: false
    statements:
      - {effect: Allow, actions: ["sts:GetCallerIdentity"], resources: ["*"]}
"""


FOUR_SPACES = """\
jobs:
    a:
        on_exit:
        -   {action: exit}
    etl:
        image: etl
        queue: q
        vcpus: 1
        memory_mib: 2048
        command: [python, -m, etl]
        timeout: 1h
        retry: {attempts: 1}
        interruptible: false
        statements:
        - {effect: Allow, actions: ["sts:GetCallerIdentity"], resources: ["*"]}
"""


def _loads(text: str) -> object:
    return yaml.safe_load(text)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (HEAD, HEAD + "jobs:\n  etl:\n" + ENTRY),
        (HEAD.rstrip("\n"), HEAD + "jobs:\n  etl:\n" + ENTRY),
        (
            HEAD + "jobs:\n  a:\n    image: a  # the first\n    # secrets: later\n\n# policy next\npolicy: {}\n",
            HEAD
            + "jobs:\n  a:\n    image: a  # the first\n    # secrets: later\n  etl:\n"
            + ENTRY
            + "\n# policy next\npolicy: {}\n",
        ),
        (HEAD + "jobs:\n    a:\n        on_exit:\n        -   {action: exit}\n", HEAD + FOUR_SPACES),
        (
            HEAD + "jobs:\n  a: {image: a}\n\n  b: {image: b}\n",
            HEAD + "jobs:\n  a: {image: a}\n\n  b: {image: b}\n\n  etl:\n" + ENTRY,
        ),
    ],
    ids=["no-jobs", "no-final-newline", "comments-stay-with-their-job", "four-space-indent", "blank-lines-between"],
)
def test_the_entry_is_inserted_as_text(before: str, after: str) -> None:
    edited = add_job(before, JOB)

    assert edited == after


def test_crlf_files_keep_their_line_breaks() -> None:
    before = (HEAD + "jobs:\n  a: {image: a}\n").replace("\n", "\r\n")

    edited = add_job(before, JOB)

    assert edited == before + ("  etl:\n" + ENTRY).replace("\n", "\r\n")


@pytest.mark.parametrize("jobs", ["jobs: {}\n", "jobs:\n", "jobs: ~  # none yet\n"])
def test_an_empty_jobs_section_falls_back_to_a_round_trip(jobs: str) -> None:
    edited = add_job(HEAD + jobs, JOB)

    document = _loads(edited)
    assert isinstance(document, dict)
    assert document["jobs"] == {"etl": JOB.entry()}
    assert edited.startswith(HEAD)


# --- the command line -------------------------------------------------------------


def test_the_command_prints_what_it_created(repo: Path) -> None:
    result = runner.invoke(_app(), ["jobs", "new", "report-export", "--spec", str(repo / "platform.yaml")])

    assert result.exit_code == 0, result.output
    assert "+ job_images/report-export/Dockerfile\n" in result.stdout
    assert (
        "~ platform.yaml: jobs.report-export on queue default (EC2, interruptible (may run on Spot))" in result.stdout
    )
    assert "~ environments/dev/terraform.tfvars.json\n" in result.stdout
    assert "next:" in result.stderr


def test_the_command_json(repo: Path) -> None:
    result = runner.invoke(
        _app(), ["jobs", "new", "report-export", "--fargate", "--json", "--spec", str(repo / "platform.yaml")]
    )

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["queue"], document["fargate"], document["package"]) == ("light", True, "report_export")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["csv-ingest"], 2, "error: job 'csv-ingest' already exists"),
        (["report-export", "--queue", "nope"], 2, "error: no queue named 'nope'"),
        (["report-export", "--no-interruptible", "--queue", "default"], 4, "would fail the policy gate"),
    ],
)
def test_the_command_exit_codes(repo: Path, args: list[str], code: int, message: str) -> None:
    before = snapshot(repo)

    result = runner.invoke(_app(), ["jobs", "new", *args, "--spec", str(repo / "platform.yaml")])

    assert (result.exit_code, result.stdout) == (code, "")
    assert message in result.stderr
    assert snapshot(repo) == before
