"""``batchplane check``: the policy gate a pull request relies on.

Register with ``app.command(cls=Command)(check)``; parsing and printing only, the work is
:func:`batchplane.policy.gate.run_check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchplane.cli.options import OutputOption, SpecOption, known_environments, load
from batchplane.policy.emit import Destination, emit_and_enforce
from batchplane.policy.findings import SEVERITIES, Severity
from batchplane.policy.gate import Request, run_check, scan_roots
from batchplane.policy.reports import FORMATS, ReportFormat
from batchplane.progress import tracker

# The choices are the policy's own words (Literal types: findings.SEVERITIES, reports.FORMATS).
CheckEnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", metavar="ENV", help="An environment to check; repeat for several (default: all)."),
]
FormatOption = Annotated[
    ReportFormat,
    typer.Option("--format", "-f", metavar="FORMAT", help=f"Report format: {', '.join(FORMATS)}."),
]
PlanOption = Annotated[
    Path | None,
    typer.Option(
        "--plan", metavar="FILE", help="Also scan this plan JSON (`terraform show -json`) of the one --env given."
    ),
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
    Severity,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help=f"Exit 4 when an unwaived finding at or above this severity ({', '.join(SEVERITIES)}) remains.",
    ),
]


def check(
    env: CheckEnvOption = None,
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
    roots = None
    if not spec_only:
        with tracker() as steps, steps.step(f"Checkov: scanning {', '.join(environments)}"):
            roots = scan_roots(loaded, environments)
    outcome = run_check(loaded, Request(environments, spec_only=spec_only, plan=plan, base=base), roots=roots)
    emit_and_enforce(outcome, Destination(fmt, output, show_waived), loaded.path, fail_on)
