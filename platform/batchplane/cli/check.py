"""``batchplane check``: the policy gate a pull request relies on.

Register with ``app.command()(check)``; parsing and printing only, the work is
:func:`batchplane.policy.gate.run_check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchplane.cli.options import EnvOption, SpecOption, known_environments, load
from batchplane.policy.emit import Destination, emit_and_enforce
from batchplane.policy.findings import Severity
from batchplane.policy.gate import Request, run_check
from batchplane.policy.reports import ReportFormat

# The choices are the policy's own words (Literal types: findings.SEVERITIES, report.FORMATS).
FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")
]
PlanOption = Annotated[
    Path | None,
    typer.Option("--plan", help="Also scan this plan JSON (`terraform show -json`) of the one --env given."),
]
SpecOnlyOption = Annotated[
    bool, typer.Option("--spec-only", help="Spec rules only (milliseconds, no Checkov): for pre-commit hooks.")
]
BaseOption = Annotated[
    str | None,
    typer.Option(
        "--base",
        metavar="REF",
        help="Git revision to compare waivers with: each waiver added or widened since REF is a finding.",
    ),
]
ShowWaivedOption = Annotated[
    bool,
    typer.Option("--show-waived", help="List waived findings too (text, github, markdown hide them by default)."),
]
FailOnOption = Annotated[
    Severity, typer.Option("--fail-on", help="Exit 4 when an unwaived finding at or above this severity remains.")
]


def check(
    env: EnvOption = None,
    fmt: FormatOption = "text",
    output: OutputOption = None,
    plan: PlanOption = None,
    spec_only: SpecOnlyOption = False,
    fail_on: FailOnOption = "low",
    base: BaseOption = None,
    show_waived: ShowWaivedOption = False,
    spec: SpecOption = None,
) -> None:
    """Policy gate: spec rules and Checkov over the rendered roots. Exit 4 on unwaived findings."""
    loaded = load(spec)
    known_environments(loaded, env)
    if plan is not None and len(env or []) != 1:
        raise typer.BadParameter("name the plan's environment with exactly one --env", param_hint="--plan")
    if plan is not None and spec_only:
        raise typer.BadParameter("--plan needs Checkov: drop --spec-only", param_hint="--plan")
    environments = list(dict.fromkeys(env)) if env else loaded.environments
    outcome = run_check(loaded, Request(environments, spec_only=spec_only, plan=plan, base=base))
    emit_and_enforce(outcome, Destination(fmt, output, show_waived), loaded.path, fail_on)
