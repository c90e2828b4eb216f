"""``plan``, ``apply``, ``destroy``, ``drift`` and ``output``: Terraform over the rendered roots.

Parsing and printing only; the work is in :mod:`batchplane.terraform.lifecycle`, imported on
first use (terraform, the renderer and the gate take a while to load, and ``check --spec-only``,
a pre-commit hook, needs none of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from batchplane import console
from batchplane.cli.options import ApproveOption, EnvOption, JsonOption, LocalOption, SpecOption, load
from batchplane.errors import ChangesPendingError
from batchplane.local.emulator import EmulatorState, require_emulator
from batchplane.spec import Spec
from batchplane.spec.checks import did_you_mean

if TYPE_CHECKING:
    from types import ModuleType

    from batchplane.terraform import lifecycle


def _lifecycle() -> ModuleType:
    """The lifecycle module, imported on first use."""
    import batchplane.terraform.lifecycle

    return batchplane.terraform.lifecycle


AllOption = Annotated[bool, typer.Option("--all", help="Every environment (and the shared root), in parallel.")]


def _roots(spec: Spec, envs: list[str] | None, every: bool, *, default_all: bool) -> list[str]:
    known: list[str] = _lifecycle().roots_of(spec)
    if envs:
        unknown = sorted(set(envs) - set(known))
        if unknown:
            hints = "".join(did_you_mean(name, known) for name in unknown)
            raise typer.BadParameter(f"{', '.join(unknown)}{hints} (known: {', '.join(known)})", param_hint="--env")
        return list(dict.fromkeys(envs))
    if every or default_all:
        return known
    raise typer.BadParameter("name the environment with --env ENV (or --all)", param_hint="--env")


def _emulator(spec: Spec, use_local: bool) -> EmulatorState | None:
    return require_emulator(spec.root) if use_local else None


def _targets(
    spec: Spec, envs: list[str] | None, every: bool, use_local: bool, *, default_all: bool
) -> list[lifecycle.Target]:
    """The roots asked for, each prepared (a local working copy with --local)."""
    emulator = _emulator(spec, use_local)
    return [
        _lifecycle().target_for(spec, root, emulator) for root in _roots(spec, envs, every, default_all=default_all)
    ]


def _sink(as_json: bool) -> lifecycle.LineSink | None:
    if as_json:
        return None
    return console.progress_line


def _print_plan(result: lifecycle.PlanResult) -> None:
    console.out.print(console.plan_table(result.root, result.summary(), local=result.local))


def plan(
    env: EnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    lock: Annotated[
        bool,
        typer.Option(
            "--lock/--no-lock",
            help="Take the state lock (--no-lock: for read-only pull-request plans; apply always locks).",
        ),
    ] = True,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """terraform plan to a saved plan file, with a summary per resource type."""
    loaded = load(spec)
    targets = _targets(loaded, env, every, use_local, default_all=True)
    for target in targets:
        _lifecycle().refuse_unpinned(loaded, target.root)
    results = _lifecycle().plan_and_gate(loaded, targets, _sink(as_json), lock=lock)
    for result in results:
        if not as_json:
            _print_plan(result)
    if as_json:
        console.print_json({"plans": [r.as_dict() for r in results]})


def apply(
    env: EnvOption = None,
    use_local: LocalOption = False,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Plan and apply in one step when there is no saved plan.")
    ] = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the saved plan of an environment (from `batchplane plan`)."""
    results = []
    loaded = load(spec)
    for target in _targets(loaded, env, False, use_local, default_all=False):
        approved = approve_production or _confirm(target, "apply")
        _lifecycle().require_approval(loaded, target.root, approved=approved, action="apply")
        _lifecycle().refuse_unpinned(loaded, target.root)
        if auto_approve and not (target.plan_dir / _lifecycle().META_FILE).is_file():
            _lifecycle().plan_and_gate(loaded, [target], _sink(as_json))
        _lifecycle().apply(target, sink=_sink(as_json))
        if as_json:
            results.append({"environment": target.root, "local": target.local, "outputs": _lifecycle().outputs(target)})
        if not as_json:
            console.out.print(f"{target.label}: applied")
    if as_json:
        console.print_json({"applied": results})


def _confirm(target: lifecycle.Target, action: str) -> bool:
    if not target.needs_approval or not console.interactive():
        return False
    return typer.confirm(f"{target.root} needs approval. Really {action} it?", default=False)


def destroy(
    env: EnvOption = None,
    use_local: LocalOption = False,
    approve_production: ApproveOption = False,
    spec: SpecOption = None,
) -> None:
    """Destroy everything terraform manages in an environment."""
    loaded = load(spec)
    for target in _targets(loaded, env, False, use_local, default_all=False):
        approved = approve_production or _confirm(target, "destroy")
        _lifecycle().require_approval(loaded, target.root, approved=approved, action="destroy")
        _lifecycle().init(target)
        _lifecycle().destroy(target, sink=_sink(False))
        console.out.print(f"{target.label}: destroyed")


def drift(
    env: EnvOption = None,
    every: AllOption = False,
    use_local: LocalOption = False,
    spec: SpecOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare reality with the rendered roots; exit 6 and list addresses when they differ."""
    targets = _targets(load(spec), env, every, use_local, default_all=True)
    results: list[lifecycle.PlanResult] = _lifecycle().plan_all(targets, purpose="drift")
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
    env: EnvOption = None,
    use_local: LocalOption = False,
    spec: SpecOption = None,
) -> None:
    """Print an environment's Terraform outputs as JSON."""
    values = {}
    for target in _targets(load(spec), env, False, use_local, default_all=False):
        _lifecycle().init(target)
        values[target.root] = _lifecycle().outputs(target)
    console.print_json(values if len(values) > 1 else next(iter(values.values())))
