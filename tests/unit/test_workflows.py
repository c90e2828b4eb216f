"""CI files run real batchplane commands: every command line parses with the CLI, the cheap ones pass.

The command lines are taken from the workflows' `run` scripts and the pre-commit hooks'
`entry`, and parsed by the CLI itself (Typer's click command, `make_context`): a renamed option
or command fails here instead of on the first pull request.
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
from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PRE_COMMIT = REPO / ".pre-commit-config.yaml"
# Cheap enough to run here: no Checkov, no terraform, no AWS.
CHEAP = (("validate",), ("render", "--check"), ("check", "--spec-only"))

Command = tuple[str, ...]


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    return {on: None} if isinstance(on, str) else dict(on)


def batchplane_commands(script: str) -> list[Command]:
    """The arguments of every `batchplane ...` command in a shell script (expressions as X)."""
    script = re.sub(r"\$\{\{.*?\}\}", "X", script).replace("\\\n", " ")
    commands: list[Command] = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        skip = False
        for token in [*lexer, ";"]:
            if skip:
                skip = False
            elif token in (">", ">>", "<", "2>"):
                skip = True  # a redirection's target is not an argument
            elif token in ("|", "||", "&&", ";", "&", "(", ")"):
                if words and words[0] == "batchplane":
                    commands.append(tuple(words[1:]))
                words = []
            else:
                words.append(token)
    return commands


def workflow_commands(path: Path) -> list[Command]:
    found = []
    for job in _load(path)["jobs"].values():
        for step in job.get("steps", []):
            found += batchplane_commands(step.get("run", ""))
    return found


def pre_commit_commands() -> list[Command]:
    return [
        command
        for repo in _load(PRE_COMMIT)["repos"]
        for hook in repo["hooks"]
        for command in batchplane_commands(hook["entry"])
    ]


ALL_COMMANDS = sorted({c for path in WORKFLOWS for c in workflow_commands(path)} | set(pre_commit_commands()))


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


# --- the files ------------------------------------------------------------------


@pytest.mark.parametrize("path", [*WORKFLOWS, PRE_COMMIT], ids=lambda p: p.name)
def test_the_file_parses(path: Path) -> None:
    document = _load(path)

    if path == PRE_COMMIT:
        hooks = [hook for repo in document["repos"] for hook in repo["hooks"]]
        assert all({"id", "name", "entry", "language"} <= set(hook) for hook in hooks)
        return
    assert _triggers(document)
    for name, job in document["jobs"].items():
        assert "runs-on" in job, name
        assert all(("run" in step) != ("uses" in step) for step in job["steps"]), name


def test_pull_requests_render_check_and_plan_and_main_brings_up_dev() -> None:
    on_pull_request = {c for p in WORKFLOWS if "pull_request" in _triggers(_load(p)) for c in workflow_commands(p)}
    on_main = {
        c
        for p in WORKFLOWS
        if "main" in (_triggers(_load(p)).get("push") or {}).get("branches", [])
        for c in workflow_commands(p)
    }

    assert {("render", "--check"), ("check", "--format", "sarif", "--output", "batchplane.sarif")} <= on_pull_request
    assert ("plan", "--env", "$BATCHPLANE_ENV") in on_pull_request
    assert ("up", "--env", "dev") in on_main
    assert set(pre_commit_commands()) == {("validate",), ("check", "--spec-only")}


def test_the_sarif_report_is_uploaded_even_when_the_gate_fails() -> None:
    steps = _load(REPO / ".github" / "workflows" / "policy.yml")["jobs"]["check"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif"))

    assert "always()" in upload["if"]
    assert upload["with"]["sarif_file"] == "batchplane.sarif"


def test_what_up_records_in_dev_comes_back_as_a_pull_request() -> None:
    steps = _load(REPO / ".github" / "workflows" / "deploy-dev.yml")["jobs"]["up"]["steps"]
    proposal = next(s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request"))

    # promote copies the pinned digests, and only those an apply recorded in the history proved.
    assert set(proposal["with"]["add-paths"].split()) == {"images.lock.json", "history.jsonl", "environments/dev"}


# --- the commands -----------------------------------------------------------------


@pytest.mark.parametrize("args", ALL_COMMANDS, ids=" ".join)
def test_every_command_is_one_the_cli_accepts(args: Command) -> None:
    parse(args)


@pytest.mark.parametrize(
    "args",
    [("check", "--spec-only", "--no-such-option"), ("render", "--chek"), ("jobs",), ("plann",), ("up",)],
    ids=" ".join,
)
def test_the_parser_refuses_what_the_cli_refuses(args: Command) -> None:
    with pytest.raises(UsageError):
        parse(args)


def test_command_lines_are_found_in_scripts() -> None:
    script = (
        'set -e\nbatchplane plan --env "${{ matrix.env }}" | tee out.txt\n'
        "batchplane \\\n  render --check > log && echo ok  # a comment\n"
    )

    assert batchplane_commands(script) == [("plan", "--env", "X"), ("render", "--check")]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example repository: the commands run in it as in a checkout."""
    target = tmp_path_factory.mktemp("example") / "repo"
    target.mkdir()
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(
            REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__")
        )
    return target


def _cheap(args: Command) -> bool:
    return any(args[0] == cheap[0] and set(cheap[1:]) <= set(args[1:]) for cheap in CHEAP)


CHEAP_COMMANDS = [c for c in ALL_COMMANDS if _cheap(c)]


def test_the_cheap_commands_are_among_them() -> None:
    assert {c[0] for c in CHEAP_COMMANDS} == {"validate", "render", "check"}


@pytest.mark.parametrize("args", CHEAP_COMMANDS, ids=" ".join)
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
