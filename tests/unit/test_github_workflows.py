"""The GitHub workflows, composite actions and pre-commit hooks: audited, schema-valid, and
calling only commands the CLI accepts.

- zizmor (its default audits, offline, inline ignores not honoured) finds nothing in any
  workflow, composite action or pre-commit file, and loads the pre-commit files strictly (its
  schema of pre-commit hooks: check-jsonschema vendors none);
- check-jsonschema's vendored GitHub schemas accept every workflow and composite action;
- every `batchplane ...` command line in a `run` script, a script under .github/scripts/ or a
  pre-commit `entry` parses with the real CLI (Typer's click command, `make_context`);
- the flow itself: pull-request plans take no lock and are stored per head commit and root, the
  deploys apply those plans in their GitHub environment, one concurrency group per environment.

The tools run as subprocesses. A missing tool fails its tests, never skips them: the dev extra
(which `make test` installs) brings both.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer.core import TyperGroup
from typer.main import get_command

from batchplane.cli.app import app
from tests.conftest import REPO, copy_example

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
SCRIPTS = sorted((GITHUB / "scripts").glob("*.sh"))
HOOKS = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT = REPO / ".pre-commit-config.yaml"

Command = tuple[str, ...]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on: Any = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    return {on: None} if isinstance(on, str) else dict(on)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# --- the tools ---------------------------------------------------------------------


def _tool(name: str) -> str:
    """The tool beside this interpreter (the venv) or on PATH; a failure when it is absent."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS, HOOKS, PRE_COMMIT], ids=_rel)
def test_zizmor_finds_nothing(path: Path) -> None:
    flags = ["--offline", "--no-ignores", "--strict-collection", "--no-progress", "--color=never"]
    done = _run([_tool("zizmor"), *flags, "--", _rel(path)])

    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)],
    ids=["workflows", "actions"],
)
def test_the_github_schemas_accept_them(schema: str, paths: list[Path]) -> None:
    done = _run([_tool("check-jsonschema"), "--builtin-schema", schema, *map(_rel, paths)])

    assert done.returncode == 0, done.stdout + done.stderr


def test_there_is_something_to_audit() -> None:
    names = {p.name for p in WORKFLOWS}

    assert {"policy.yml", "deploy.yml", "deploy-dev.yml", "deploy-test.yml", "deploy-prod.yml"} <= names
    assert {"promote.yml", "drift.yml"} <= names
    assert ACTIONS
    assert SCRIPTS


# --- pinned actions ----------------------------------------------------------------

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$", re.MULTILINE)


def _remote_uses() -> list[tuple[str, str, str]]:
    found = []
    for path in [*WORKFLOWS, *ACTIONS]:
        for match in USES.finditer(path.read_text(encoding="utf-8")):
            ref = match["ref"]
            if not ref.startswith(("$/", "./", "docker://")):
                found.append((_rel(path), ref, match["comment"] or ""))
    return found


def test_remote_actions_are_pinned_to_a_commit_named_by_its_release() -> None:
    uses = _remote_uses()

    assert uses
    for where, ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (where, ref)
        assert re.fullmatch(r"v\d+\.\d+\.\d+", comment), (where, ref, "needs a '# vX.Y.Z' comment")


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for _, ref, comment in _remote_uses():
        action, _, sha = ref.partition("@")
        pins.setdefault(action.split("/")[0] + "/" + action.split("/")[1], set()).add((sha, comment))

    assert {action: pin for action, pin in pins.items() if len(pin) > 1} == {}


# --- pre-commit --------------------------------------------------------------------


def _hooks() -> dict[str, dict[str, Any]]:
    hooks = _load(HOOKS)
    assert isinstance(hooks, list)
    return {hook["id"]: hook for hook in hooks}


def _local_hooks() -> dict[str, dict[str, Any]]:
    repos = _load(PRE_COMMIT)["repos"]
    return {hook["id"]: hook for repo in repos if repo["repo"] == "local" for hook in repo["hooks"]}


def test_the_hook_source_offers_validate_render_and_the_spec_checks() -> None:
    hooks = _hooks()

    assert {i: h["entry"] for i, h in hooks.items()} == {
        "batchplane-validate": "batchplane validate",
        "batchplane-render": "batchplane render",
        "batchplane-check-spec-only": "batchplane check --spec-only",
    }
    assert {h["language"] for h in hooks.values()} == {"python"}  # pre-commit installs the package
    assert not any(h.get("pass_filenames", True) for h in hooks.values())  # they read the repository


def test_the_repository_runs_the_same_hooks_with_its_own_batchplane() -> None:
    source, local = _hooks(), _local_hooks()

    assert local.keys() == source.keys()
    for hook_id, hook in local.items():
        assert hook["language"] == "system", hook_id
        assert {k: v for k, v in hook.items() if k != "language"} == {
            k: v for k, v in source[hook_id].items() if k not in ("language", "description")
        }, hook_id


@pytest.mark.parametrize(
    ("path", "hook_id"),
    [
        ("platform.yaml", "batchplane-render"),
        ("images.lock.json", "batchplane-render"),
        ("environments/dev/main.tf", "batchplane-render"),
        ("platform.yaml", "batchplane-validate"),
        ("job_images/report/Dockerfile", "batchplane-validate"),
        ("platform.yaml", "batchplane-check-spec-only"),
    ],
)
def test_a_hook_runs_when_what_it_reads_changes(path: str, hook_id: str) -> None:
    assert re.search(_hooks()[hook_id]["files"], path)


def test_a_rendered_file_edit_does_not_run_the_spec_checks() -> None:
    assert not re.search(_hooks()["batchplane-check-spec-only"]["files"], "environments/dev/main.tf")


# --- the command lines -------------------------------------------------------------

_SEPARATORS = {"|", "||", "&&", ";", ";;", "&", "(", ")", "{", "}", "!", "then", "do", "else", "elif", "if", "while"}
_REDIRECTIONS = {">", ">>", "<", "2>", "&>"}
_CONDITIONAL_FLAG = re.compile(r"^\$\{\w+:\+(?P<flag>-[^}]*)\}$")  # ${APPROVED:+--approve-production}


def batchplane_commands(script: str) -> list[Command]:
    """The arguments of every `batchplane ...` command in a shell script.

    Expressions (${{ }}) and shell variables become "X"; `${VAR:+--flag}` becomes the flag it
    may add; redirections and their targets are dropped.
    """
    script = re.sub(r"\$\{\{.*?\}\}", "X", script).replace("\\\n", " ")
    commands: list[Command] = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:  # a quote that spans lines: message text, not a command
            continue
        words: list[str] | None = []  # None: not at a command's start
        skip = False
        for token in [*tokens, ";"]:
            if skip:
                skip = False
            elif token in _REDIRECTIONS:
                skip = True
            elif token in _SEPARATORS:
                if words and words[0] == "batchplane":
                    commands.append(tuple(words[1:]))
                words = []
            elif words is not None:
                if not words and token != "batchplane":
                    words = None  # another program: its arguments are not ours
                    continue
                conditional = _CONDITIONAL_FLAG.match(token)
                words.append(conditional["flag"] if conditional else "X" if token.startswith("$") else token)
    return commands


def _steps(document: Any) -> list[dict[str, Any]]:
    if "runs" in document:  # a composite action
        return list(document["runs"].get("steps", []))
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def _command_lines() -> list[tuple[str, Command]]:
    found: list[tuple[str, Command]] = []
    for path in [*WORKFLOWS, *ACTIONS]:
        for step in _steps(_load(path)):
            found += [(_rel(path), c) for c in batchplane_commands(step.get("run", ""))]
    for path in SCRIPTS:
        found += [(_rel(path), c) for c in batchplane_commands(path.read_text(encoding="utf-8"))]
    for path, hooks in ((HOOKS, _hooks()), (PRE_COMMIT, _local_hooks())):
        for hook in hooks.values():
            found += [(_rel(path), c) for c in batchplane_commands(hook["entry"])]
    return sorted(set(found))


COMMAND_LINES = _command_lines()


def parse(args: Command) -> Context:
    """Parse a command line as `batchplane` would, without running it; raises UsageError."""
    command = get_command(app)
    context: Context | None = None
    name = "batchplane"
    rest = list(args)
    while isinstance(command, TyperGroup):
        context = command.make_context(name, [], parent=context, resilient_parsing=True)
        if not rest or rest[0].startswith("-"):
            raise UsageError(f"{name}: missing command in {' '.join(args)!r}", context)
        sub = command.get_command(context, rest[0])
        if sub is None:
            raise UsageError(f"{name}: no such command {rest[0]!r}", context)
        name, command, rest = rest[0], sub, rest[1:]
    return command.make_context(name, rest, parent=context)


@pytest.mark.parametrize(("where", "args"), COMMAND_LINES, ids=[f"{w}: {' '.join(a)}" for w, a in COMMAND_LINES])
def test_every_command_line_is_one_the_cli_accepts(where: str, args: Command) -> None:
    parse(args)


def test_the_command_lines_cover_the_flow() -> None:
    used = {args[0] for _, args in COMMAND_LINES}

    assert {"validate", "render", "check", "plan", "apply", "images", "promote", "drift", "report"} <= used


@pytest.mark.parametrize(
    "args",
    [("check", "--spec-only", "--no-such-option"), ("render", "--chek"), ("jobs",), ("plann",), ("up",)],
    ids=" ".join,
)
def test_the_parser_refuses_what_the_cli_refuses(args: Command) -> None:
    with pytest.raises(UsageError):
        parse(args)


# Cheap enough to run here (no Checkov over roots, no terraform, no AWS): run them as CI and
# pre-commit would, in a copy of the example repository.
CHEAP = {("validate",), ("render",), ("render", "--check"), ("check", "--spec-only")}
CHEAP_LINES = sorted({args for _, args in COMMAND_LINES if args in CHEAP})


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("example"))


def test_the_cheap_commands_are_all_there() -> None:
    assert set(CHEAP_LINES) == CHEAP


@pytest.mark.parametrize("args", CHEAP_LINES, ids=" ".join)
def test_the_cheap_commands_pass_on_the_example(example: Path, args: Command) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "batchplane", *args],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_command_lines_are_found_in_scripts() -> None:
    script = (
        'set -e\nbatchplane plan --env "${{ matrix.env }}" --no-lock | tee out.txt\n'
        "batchplane \\\n  render --check > log && echo ok  # a comment\n"
        'echo "batchplane apply is quoted text"; for r in $ROOTS; do batchplane apply --env "$r" '
        "${APPROVED:+--approve-production} || status=$?; done\n"
        "if ! batchplane validate; then exit 3; fi\n"
    )

    assert batchplane_commands(script) == [
        ("plan", "--env", "X", "--no-lock"),
        ("render", "--check"),
        ("apply", "--env", "X", "--approve-production"),
        ("validate",),
    ]


# --- the flow ----------------------------------------------------------------------


def _workflow(name: str) -> dict[Any, Any]:
    document = _load(GITHUB / "workflows" / name)
    assert isinstance(document, dict)
    return document


def _lines_in(name: str) -> set[Command]:
    return {args for where, args in COMMAND_LINES if where == f".github/workflows/{name}"}


def test_pull_requests_are_gated_annotated_planned_without_the_lock_and_commented() -> None:
    lines = _lines_in("policy.yml")

    assert {("render", "--check"), ("check", "--format", "github")} <= lines
    assert ("check", "--format", "sarif", "--output", "batchplane.sarif") in lines
    assert ("plan", "--env", "X", "--no-lock") in lines
    assert ("check", "--format", "json", "--output", "check.json") in lines
    assert ("report", "pr", "--check", "check.json", "--output", "comment.md") in lines
    assert "pull_request" in _triggers(_workflow("policy.yml"))


def test_the_sarif_upload_survives_a_failed_gate_and_never_runs_for_a_fork() -> None:
    steps = _workflow("policy.yml")["jobs"]["check"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))

    assert "!cancelled()" in upload["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in upload["if"]
    assert upload["continue-on-error"] is True
    assert upload["with"]["sarif_file"] == "batchplane.sarif"


def test_plans_are_stored_per_head_commit_and_root_where_the_deploy_looks_for_them() -> None:
    steps = _workflow("policy.yml")["jobs"]["plan"]["steps"]
    store = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    finder = (GITHUB / "scripts" / "reviewed-plans.sh").read_text(encoding="utf-8")

    assert (
        store["with"]["name"]
        == "batchplane-plan-${{ github.event.pull_request.head.sha || github.sha }}-${{ matrix.root }}"
    )
    assert store["with"]["path"] == ".batchplane/plans/aws/${{ matrix.root }}/"
    assert store["with"]["include-hidden-files"] is True
    assert 'name="batchplane-plan-$head_sha-$root"' in finder
    assert "actions/workflows/policy.yml/runs?event=pull_request&status=success" in finder
    # run by hand, a deploy takes a re-plan of its own commit (policy.yml dispatched on main)
    assert "actions/workflows/policy.yml/runs?event=workflow_dispatch&status=success" in finder
    assert "workflow_dispatch" in _triggers(_workflow("policy.yml"))


def test_unset_aws_variables_skip_the_plans_with_a_notice() -> None:
    script = _workflow("policy.yml")["jobs"]["changes"]["steps"][-1]["run"]

    assert 'if [ -z "$PLAN_ROLES" ]; then' in script
    assert "::notice title=plans skipped::" in script


def test_one_required_check_says_whether_the_gate_and_every_plan_passed() -> None:
    verdict = _workflow("policy.yml")["jobs"]["verdict"]

    assert verdict["name"] == "policy verdict"
    assert set(verdict["needs"]) == {"check", "changes", "plan"}
    assert verdict["if"] == "${{ always() }}"


def test_the_sticky_comment_carries_the_report() -> None:
    steps = _workflow("policy.yml")["jobs"]["comment"]["steps"]
    sticky = next(s for s in steps if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@"))

    assert sticky["with"] == {"header": "batchplane", "path": "comment.md"}


@pytest.mark.parametrize(
    ("caller", "environment"), [("deploy-dev.yml", "dev"), ("deploy-test.yml", "test"), ("deploy-prod.yml", "prod")]
)
def test_each_environment_deploys_its_reviewed_plan_after_a_merge(caller: str, environment: str) -> None:
    workflow = _workflow(caller)
    (job,) = workflow["jobs"].values()

    assert _triggers(workflow)["push"]["branches"] == ["main"]
    assert job["uses"] == "$/.github/workflows/deploy.yml"
    assert job["with"]["environment"] == environment
    assert "inherit" not in str(job.get("secrets"))


def test_the_deploy_applies_the_downloaded_plan_in_the_environment_one_at_a_time() -> None:
    deploy = _workflow("deploy.yml")["jobs"]["deploy"]

    assert deploy["environment"] == "${{ inputs.environment }}"
    assert deploy["concurrency"] == {"group": "batchplane-${{ inputs.environment }}", "cancel-in-progress": False}
    assert ("apply", "--env", "X", "--approve-production") in _lines_in("deploy.yml")
    download = next(s for s in deploy["steps"] if s.get("name") == "Download the reviewed plans")
    assert '--dir ".batchplane/plans/aws/$root"' in download["run"]
    assert ("up", "--env", "dev") not in _lines_in("deploy.yml")  # up would apply what nobody reviewed


def test_dev_also_applies_the_shared_root_and_pins_images_without_applying_them() -> None:
    (job,) = _workflow("deploy-dev.yml")["jobs"].values()

    assert job["with"]["roots"].split() == ["shared", "dev"]
    assert job["with"]["build-images"] is True
    assert ("images", "build", "--push", "--env", "X") in _lines_in("deploy.yml")


def test_what_a_deploy_records_comes_back_as_a_pull_request() -> None:
    steps = _workflow("deploy.yml")["jobs"]["deploy"]["steps"]
    proposal = next(s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request@"))

    # promote copies the pinned digests, and only those an apply recorded in the history proved.
    assert set(proposal["with"]["add-paths"].splitlines()) == {
        "images.lock.json",
        "history.jsonl",
        "environments/${{ inputs.environment }}",
    }
    assert "secrets.BATCHPLANE_PR_TOKEN" in proposal["with"]["token"]


def test_promotion_is_dispatched_and_proposed() -> None:
    workflow = _workflow("promote.yml")

    assert set(_triggers(workflow)) == {"workflow_dispatch"}
    assert ("promote", "--from", "X", "--to", "X", "--approve-production") in _lines_in("promote.yml")


def test_drift_is_scheduled_and_kept_in_one_issue_per_root() -> None:
    workflow = _workflow("drift.yml")
    script = workflow["jobs"]["drift"]["steps"][-1]["run"]

    assert "schedule" in _triggers(workflow)
    assert ("drift", "--env", "X", "--json") in _lines_in("drift.yml")
    assert workflow["jobs"]["drift"]["env"]["TITLE"] == "drift: ${{ matrix.root }}"
    assert all(f"gh issue {verb}" in script for verb in ("list", "create", "edit", "close"))
