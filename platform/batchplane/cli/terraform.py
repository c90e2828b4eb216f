"""``plan``, ``apply``, ``destroy``, ``drift`` and ``output``: Terraform over the rendered roots.

Parsing and printing only; the work is in :mod:`batchplane.terraform.lifecycle`, imported on
first use (terraform, the renderer and the gate take a while to load, and ``check --spec-only``,
a pre-commit hook, needs none of them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchplane import console
from batchplane.cli.options import ApproveOption, JsonOption, LocalOption, SpecOption, load
from batchplane.errors import ChangesPendingError
from batchplane.local.emulator import require_emulator
from batchplane.progress import Tracker, tracker
from batchplane.spec import Spec
from batchplane.spec.names import did_you_mean
from batchplane.terraform.replacements import ALLOW_FLAG

if TYPE_CHECKING:
    from types import ModuleType

    from batchplane.terraform import lifecycle
    from batchplane.terraform.targets import Target


def _target_module() -> ModuleType:
    """The targets module, imported on first use (it loads the renderer)."""
    import batchplane.terraform.targets

    return batchplane.terraform.targets


def _lifecycle() -> ModuleType:
    """The lifecycle module, imported on first use."""
    import batchplane.terraform.lifecycle

    return batchplane.terraform.lifecycle


AllOption = Annotated[bool, typer.Option("--all", help="Every environment (and the shared root), in parallel.")]


def _roots_option(verb: str, default: str) -> Any:
    return typer.Option(
        "--env", "-e", metavar="ENV", help=f"An environment (or shared) to {verb}; repeat for several ({default})."
    )


PlanEnvOption = Annotated[list[str] | None, _roots_option("plan", "default: every root")]
DriftEnvOption = Annotated[list[str] | None, _roots_option("compare", "default: every root")]
ApplyEnvOption = Annotated[list[str] | None, _roots_option("apply", "required")]
DestroyEnvOption = Annotated[list[str] | None, _roots_option("destroy", "required")]
OutputEnvOption = Annotated[list[str] | None, _roots_option("read", "required")]
AllowQueueReplacementOption = Annotated[
    bool,
    typer.Option(
        ALLOW_FLAG,
        help="Apply a plan that replaces a job queue in a production tier (AWS terminates the queue's jobs).",
    ),
]
PlanIfMissingOption = Annotated[
    bool,
    typer.Option(
        "--plan-if-missing",
        help="Without a saved plan, plan (and gate) first, then apply it: one step instead of `plan` and `apply`.",
    ),
]


def _roots(spec: Spec, envs: list[str] | None, every: bool, *, default_all: bool) -> list[str]:
    known: list[str] = _target_module().roots_of(spec)
    if envs:
        unknown = sorted(set(envs) - set(known))
        if unknown:
            hints = "".join(did_you_mean(name, known) for name in unknown)
            raise typer.BadParameter(f"{', '.join(unknown)}{hints} (known: {', '.join(known)})", param_hint="--env")
        return list(dict.fromkeys(envs))
    if every or default_all:
        return known
    raise typer.BadParameter("name the environment with --env ENV (or --all)", param_hint="--env")


def _targets(spec: Spec, envs: list[str] | None, every: bool, use_local: bool, *, default_all: bool) -> list[Target]:
    """The roots asked for, each prepared (a local working copy with --local)."""
    emulator = require_emulator(spec.root) if use_local else None
    return [
        _target_module().target_for(spec, root, emulator) for root in _roots(spec, envs, every, default_all=default_all)
    ]


def _sink(as_json: bool) -> lifecycle.LineSink | None:
    if as_json:
        return None
    return console.progress_line


def _confirm(target: Target, action: str) -> bool:
    if not target.needs_approval or not console.interactive():
        return False
    return typer.confirm(f"{target.root} needs approval. Really {action} it?", default=False)


LockOption = Annotated[
    bool,
    typer.Option(
        "--lock/--no-lock",
        help="Take the state lock (--no-lock: for read-only pull-request plans; apply always locks).",
    ),
]


def plan(
    env: PlanEnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    lock: LockOption = True,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """terraform plan to a saved plan file, with a summary per resource type."""
    loaded = load(spec)
    targets = _targets(loaded, env, every, use_local, default_all=True)
    for target in targets:
        _lifecycle().refuse_unpinned(loaded, target.root)
    with tracker() as steps:
        results = _lifecycle().plan_and_gate(loaded, targets, _sink(as_json), lock=lock, step=steps.step)
    if as_json:
        console.print_json({"plans": [r.as_dict() for r in results]})
        return
    for result in results:
        console.out.print(console.plan_table(result.root, result.summary(), local=result.local))
        for line in _replacement_lines(loaded, result):
            console.out.print(line, markup=False, highlight=False)


def _replacement_lines(spec: Spec, result: lifecycle.PlanResult) -> list[str]:
    """The block after a plan's table: each replaced Batch resource, why, and what it does to jobs."""
    if not result.replacements:
        return []
    label = f"{result.root} (local)" if result.local else result.root
    lines = [f"{label}: {len(result.replacements)} replacement(s) of compute environments, queues or policies"]
    for replaced in result.replacements:
        lines += [
            f"  -/+ {replaced.address} ({replaced.kind})",
            f"      forced by: {replaced.reason()}",
            f"      how: {replaced.steps}",
            f"      queued jobs: {replaced.queued_jobs}",
            f"      running jobs: {replaced.running_jobs}",
        ]
    environment = spec.platform.environments.get(result.root)
    if environment is not None and environment.tier == "production" and any(r.is_queue for r in result.replacements):
        lines.append(f"  {result.root} is a production tier: `apply` refuses this plan without {ALLOW_FLAG}")
    return lines


def _each_root(
    spec: Spec,
    env: list[str] | None,
    use_local: bool,
    approve_production: bool,
    as_json: bool,
    *,
    action: str,
    done: str,
    act: Callable[[Target, bool, Tracker], None],
    report: Callable[[Target], dict[str, Any]],
) -> None:
    """``act`` on each root of --env in turn, once approved; then one line, or one JSON entry, per root."""
    finished = []
    for target in _targets(spec, env, False, use_local, default_all=False):
        approved = approve_production or _confirm(target, action)  # asked before any progress is drawn
        with tracker() as steps:
            act(target, approved, steps)
        if as_json:
            finished.append(report(target))
        else:
            console.out.print(f"{target.label}: {done}")
    if as_json:
        console.print_json({done: finished})


def apply(
    env: ApplyEnvOption = None,
    use_local: LocalOption = False,
    plan_if_missing: PlanIfMissingOption = False,
    approve_production: ApproveOption = False,
    allow_queue_replacement: AllowQueueReplacementOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the saved plan of an environment (from `batchplane plan`)."""
    loaded = load(spec)

    def act(target: Target, approved: bool, steps: Tracker) -> None:
        _target_module().require_approval(loaded, target.root, approved=approved, action="apply")
        _lifecycle().refuse_unpinned(loaded, target.root)
        if plan_if_missing and not (target.plan_dir / _lifecycle().META_FILE).is_file():
            _lifecycle().plan_and_gate(loaded, [target], _sink(as_json), step=steps.step)
        queues = _lifecycle().check_queue_replacement(loaded, target, allowed=allow_queue_replacement)
        for replaced in queues:
            console.note(
                f"warning: {target.label}: this apply replaces job queue {replaced.address} "
                f"(forced by {replaced.reason()}): AWS terminates every job of the deleted queue"
            )
        with steps.step(f"{target.label}: apply"):
            _lifecycle().apply(target, sink=_sink(as_json))

    def report(target: Target) -> dict[str, Any]:
        return {"environment": target.root, "local": target.local, "outputs": _lifecycle().outputs(target)}

    _each_root(
        loaded, env, use_local, approve_production, as_json, action="apply", done="applied", act=act, report=report
    )


def destroy(
    env: DestroyEnvOption = None,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Destroy everything terraform manages in an environment."""
    loaded = load(spec)

    def act(target: Target, approved: bool, steps: Tracker) -> None:
        _target_module().require_approval(loaded, target.root, approved=approved, action="destroy")
        with steps.step(f"{target.label}: init and destroy"):
            _lifecycle().init(target)
            _lifecycle().destroy(target, sink=_sink(as_json))

    def report(target: Target) -> dict[str, Any]:
        return {"environment": target.root, "local": target.local}

    _each_root(
        loaded,
        env,
        use_local,
        approve_production,
        as_json,
        action="destroy",
        done="destroyed",
        act=act,
        report=report,
    )


def drift(
    env: DriftEnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare reality with the rendered roots; exit 6 and list addresses when they differ."""
    targets = _targets(load(spec), env, every, use_local, default_all=True)
    with tracker() as steps:
        results: list[lifecycle.PlanResult] = _lifecycle().plan_all(targets, purpose="drift", step=steps.step)
    drifted = {r.root: [c.address for c in r.changes] for r in results}
    if as_json:
        console.print_json({"drift": drifted})
    else:
        for root, addresses in drifted.items():
            console.out.print(f"{root}: " + ("no drift" if not addresses else f"{len(addresses)} drifted"))
            for address in addresses:
                console.out.print(f"  ~ {address}")
    if any(drifted.values()):
        raise ChangesPendingError("reality differs from the rendered Terraform")


def output(
    env: OutputEnvOption = None,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an environment's Terraform outputs (NAME = VALUE; JSON with --json)."""
    values = {}
    for target in _targets(load(spec), env, False, use_local, default_all=False):
        _lifecycle().init(target)
        values[target.root] = _lifecycle().outputs(target)
    if as_json:
        console.print_json(values if len(values) > 1 else next(iter(values.values())))
        return
    for root, outputs in values.items():
        if len(values) > 1:
            console.out.print(f"{root}:", markup=False)
        for name, value in sorted(outputs.items()):
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            console.out.print(f"{'  ' if len(values) > 1 else ''}{name} = {shown}", markup=False)
