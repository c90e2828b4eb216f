"""plan, apply, drift, destroy and output of rendered roots.

A plan is saved (plan file + its JSON + a fingerprint of everything terraform
read: the root's files and the modules). ``apply`` applies only that saved
plan, and refuses it when the fingerprint no longer matches. Local runs work
on a copy under ``.batchplane/work/`` and never touch ``environments/``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged

from batchplane import layout
from batchplane.errors import ChangesPendingError, StateFileError, ToolError
from batchplane.images.lock import read_lock
from batchplane.policy.findings import Outcome, PolicyFailedError
from batchplane.policy.gate import Request, refuse, run_check, scan_roots, unpinned_images
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec.loader import Spec
from batchplane.terraform.history import record_applied
from batchplane.terraform.records import applied_record, record_converged
from batchplane.terraform.replacements import Replacement, queue_replacements, refuse_queue_replacement
from batchplane.terraform.runner import Result, TerraformRunner
from batchplane.terraform.summary import SUMMARY_FILE, summarize, write_summary
from batchplane.terraform.targets import Target, fingerprint

PLAN_DIR = layout.PLANS_DIR
PLAN_FILE = "batchplane.tfplan"
META_FILE = "plan.meta.json"
PLAN_JSON = "plan.json"
APPLIED_DIR = layout.APPLIED_DIR

LineSink = Callable[[str], None]


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class PlanResult:
    root: str
    local: bool
    changes: list[ResourceChange]
    plan_json: Path
    replacements: tuple[Replacement, ...] = ()
    """Replaced compute environments, queues and scheduling policies (see :mod:`~batchplane.terraform.replacements`)."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per resource type: add, change, destroy (a replacement counts in both)."""
        table: dict[str, Counter[str]] = {}
        for change in self.changes:
            counts = table.setdefault(change.type, Counter())
            if "create" in change.actions:
                counts["add"] += 1
            if "update" in change.actions:
                counts["change"] += 1
            if "delete" in change.actions:
                counts["destroy"] += 1
        return {kind: {k: counts[k] for k in ("add", "change", "destroy")} for kind, counts in sorted(table.items())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.root,
            "local": self.local,
            "has_changes": self.has_changes,
            "summary": self.summary(),
            "changes": [{"address": c.address, "actions": list(c.actions)} for c in self.changes],
            "plan_json": str(self.plan_json),
            "replacements": [asdict(r) for r in self.replacements],
        }


Step = Callable[[str], AbstractContextManager[object]]
"""Wraps a named piece of work (``"dev: plan"``), e.g. to show progress; :func:`no_step` does nothing."""


def no_step(_name: str) -> AbstractContextManager[object]:
    return nullcontext()


# --- terraform errors -------------------------------------------------------

_ERROR = re.compile(r"^(?:│\s*)?Error: (.+)$")
_WITH = re.compile(r"^(?:│\s*)?\s*with (\S+),?$")
_LOCK_FIELD = re.compile(r"^(?:│\s*)?\s*(ID|Path|Who|Created|Operation):\s+(.+)$")


def explain(target: Target, output: str) -> str:
    """One-line cause, the failing resource, then terraform's own words (tail)."""
    lines = output.splitlines()
    errors = [m.group(1).strip() for line in lines if (m := _ERROR.match(line))]
    resources = [m.group(1).rstrip(",") for line in lines if (m := _WITH.match(line))]
    if any("acquiring the state lock" in e for e in errors):
        info = {m.group(1): m.group(2).strip() for line in lines if (m := _LOCK_FIELD.match(line))}
        who = f" by {info['Who']}" if "Who" in info else ""
        since = f" since {info['Created']}" if "Created" in info else ""
        message = f"the state of {target.label} is locked{who}{since}: another terraform run is using it; wait for it"
        if "ID" in info:
            unlock = f"terraform force-unlock {info['ID']}"
            message += f". If that run crashed, release the lock with `{unlock}` in {target.workdir}"
        else:
            message += " (a local state lock is released when the run holding it ends)"
        return message
    cause = errors[0] if errors else "terraform failed"
    parts = [f"{target.label}: {cause}"]
    if resources:
        parts.append(f"failing resource: {resources[0]}")
    if target.local and any(s in output for s in ("connection refused", "connect: connection refused", "dial tcp")):
        parts.append("the local AWS did not answer: is it running? (`batchplane local status`)")
    parts.append("\n".join(lines[-25:]))
    return "\n".join(parts)


def _run(
    runner: TerraformRunner, target: Target, cmd: str, *args: str, allowed: tuple[int, ...] = (0,), **options: Any
) -> Result:
    try:
        return runner.run(cmd, *args, allowed=allowed, **options)
    except ToolError as exc:
        raise ToolError("terraform", exc.command, explain(target, exc.detail)) from None


def _stream(
    runner: TerraformRunner, target: Target, sink: LineSink | None, cmd: str, *args: str, **options: Any
) -> Result:
    try:
        return runner.stream(cmd, *args, sink=sink, **options)
    except ToolError as exc:
        raise ToolError("terraform", exc.command, explain(target, exc.detail)) from None


# --- commands ---------------------------------------------------------------


def init(target: Target) -> None:
    runner = TerraformRunner(target.workdir)
    _run(runner, target, "init", input=False, no_color=IsFlagged, lock_timeout="0s")


def plan(
    target: Target,
    sink: LineSink | None = None,
    *,
    purpose: str = "apply",
    on_changes: Callable[[], object] | None = None,
    lock: bool = True,
) -> PlanResult:
    """terraform plan to a saved plan file; its JSON and fingerprint are kept beside it.

    Only plans made for ``apply`` can be applied; a drift check keeps its plan
    apart so that it never replaces a plan someone reviewed. ``on_changes`` is
    called as soon as terraform says the plan changes something, before the
    plan's JSON is made (which takes seconds: the provider loads again).
    ``lock=False`` plans without taking the state lock (``-lock=false``): what a
    pull request's read-only plan role needs, and two pull requests planning one
    environment then do not collide. A reviewable summary (``summary.json``) is
    written beside the plan.
    """
    runner = TerraformRunner(target.workdir)
    directory = target.plan_dir if purpose == "apply" else target.plan_dir / purpose
    directory.mkdir(parents=True, exist_ok=True)
    plan_file = directory / PLAN_FILE
    meta = directory / META_FILE
    meta.unlink(missing_ok=True)
    planned = _stream(
        runner,
        target,
        sink,
        "plan",
        input=False,
        no_color=IsFlagged,
        lock=lock,
        lock_timeout="0s",
        out=str(plan_file),
        detailed_exitcode=IsFlagged,
        allowed=(0, 2),
    )
    if on_changes is not None and planned.returncode == 2:
        on_changes()
    shown = _run(runner, target, "show", "-json", str(plan_file), no_color=IsFlagged)
    document = json.loads(shown.stdout)
    plan_json = directory / PLAN_JSON
    plan_json.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    summary = write_summary(directory, target.root, document)
    meta.write_text(json.dumps({"fingerprint": fingerprint(target), "root": target.root}) + "\n", encoding="utf-8")
    return PlanResult(target.root, target.local, changes_of(document), plan_json, summary.replacements)


def changes_of(document: dict[str, Any]) -> list[ResourceChange]:
    """Resource changes of a plan JSON that are not no-ops (or mere reads)."""
    changes = []
    for change in document.get("resource_changes", []):
        actions = tuple(change.get("change", {}).get("actions", []))
        if actions in ((), ("no-op",), ("read",)):
            continue
        changes.append(ResourceChange(change["address"], change["type"], actions))
    return sorted(changes, key=lambda c: c.address)


def refuse_unpinned(spec: Spec, root: str) -> None:
    """A production tier never plans or applies an image that is not pinned by digest."""
    environment = spec.platform.environments.get(root)
    if environment is None or environment.tier != "production":
        return
    unpinned = unpinned_images(spec, root)
    refuse(
        unpinned,
        spec,
        f"{root} is a production tier and {len(unpinned)} job image(s) have no digest in images.lock.json; "
        f"promote them first (`batchplane promote --to {root}`)",
    )


def check_queue_replacement(spec: Spec, target: Target, *, allowed: bool) -> list[Replacement]:
    """The job queues the saved plan of ``target`` replaces; refused (exit 4) in a production tier unless ``allowed``.

    Read from the saved plan's JSON (a summary written by an older batchplane may lack replacements);
    checked before ``apply`` runs terraform, and the saved plan is kept either way.
    """
    plan_json = target.plan_dir / PLAN_JSON
    saved = (target.plan_dir / PLAN_FILE).is_file() and plan_json.is_file()
    try:
        document = json.loads(plan_json.read_text(encoding="utf-8")) if saved else {}
    except ValueError as exc:
        raise StateFileError(plan_json, None, f"not the JSON of a saved plan ({exc}): plan again") from None
    replacements = summarize(target.root, document).replacements
    environment = spec.platform.environments.get(target.root)
    production = environment is not None and environment.tier == "production"
    refuse_queue_replacement(target.label, replacements, production=production, allowed=allowed)
    return queue_replacements(replacements)


def gate_plan(spec: Spec, target: Target, planned: PlanResult, *, roots: Future[Outcome] | None = None) -> None:
    """The policy gate on a plan: spec rules, Checkov on the root and on the plan JSON, grants ⊆ spec.

    ``roots``: the Checkov scan of the root, started while terraform planned
    (see :func:`plan_and_gate`). A plan that fails the gate is deleted, so
    that ``apply`` cannot use it.
    """
    if target.root in spec.platform.environments:
        scanned = roots.result() if roots is not None else None
        outcome = run_check(spec, Request([target.root], plan=planned.plan_json), roots=scanned)
    else:
        # The shared root (ECR repositories, their key) has no environment's spec rules to run,
        # but its IAM (key and pull policies) is held to what the spec produces all the same.
        from batchplane.policy.grants import check_plan

        outcome = check_plan(spec, target.root, planned.plan_json)
    blocking = outcome.blocking("low")
    try:
        refuse(
            blocking,
            spec,
            f"the plan of {target.label} fails the policy gate ({len(blocking)} unwaived finding(s)); it was discarded",
        )
    except PolicyFailedError:
        (target.plan_dir / META_FILE).unlink(missing_ok=True)
        (target.plan_dir / PLAN_FILE).unlink(missing_ok=True)
        raise


def plan_all(
    targets: list[Target],
    sink: LineSink | None = None,
    *,
    purpose: str = "apply",
    on_changes: Callable[[Target], object] | None = None,
    workers: int = 4,
    lock: bool = True,
    step: Step = no_step,
) -> list[PlanResult]:
    """Init one by one (terraform's plugin cache is not safe for concurrent installs), then plan in parallel.

    ``sink`` gets terraform's output when there is one target; ``on_changes``
    is called with a target as soon as its plan is known to change something.
    """
    for target in targets:
        with step(f"{target.label}: init"):
            init(target)
    progress = sink if len(targets) == 1 else None

    def one(target: Target) -> PlanResult:
        changed = (lambda: on_changes(target)) if on_changes is not None else None
        with step(f"{target.label}: plan"):
            return plan(target, progress, purpose=purpose, on_changes=changed, lock=lock)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        return list(pool.map(one, targets))


def plan_and_gate(
    spec: Spec,
    targets: list[Target],
    sink: LineSink | None = None,
    *,
    workers: int = 4,
    lock: bool = True,
    step: Step = no_step,
) -> list[PlanResult]:
    """Init one by one, plan in parallel, then gate every plan that changes something.

    The gate's Checkov scan of a root does not need the plan's JSON: it starts
    as soon as terraform says the plan changes something and runs while
    `terraform show -json` loads the provider again (one scan at a time:
    Checkov is not thread-safe), so the gate adds little more than the scan of
    the plan JSON. A plan without changes needs no gate and scans nothing.
    (Measured on a fresh dev root: scanning during init or during plan costs
    as much, the CPU being taken by the provider's hash or the emulator.)
    ``step`` wraps each root's init, plan and gate (``"dev: plan"``), e.g. to show progress.
    """
    scanner = ThreadPoolExecutor(max_workers=1)
    try:
        scans: dict[str, Future[Outcome]] = {}

        def scan(target: Target) -> None:
            if target.root in spec.platform.environments:
                scans[target.root] = scanner.submit(scan_roots, spec, [target.root])

        results = plan_all(targets, sink, on_changes=scan, workers=workers, lock=lock, step=step)
        for target, result in zip(targets, results, strict=True):
            if result.has_changes:
                with step(f"{target.label}: gate"):
                    gate_plan(spec, target, result, roots=scans.get(target.root))
        return results
    finally:
        scanner.shutdown(wait=False, cancel_futures=True)


def apply(target: Target, *, sink: LineSink | None = None) -> None:
    """Apply the saved plan of ``target`` if it is still what was planned (approval: see :func:`require_approval`)."""
    meta_path = target.plan_dir / META_FILE
    plan_file = target.plan_dir / PLAN_FILE
    if not meta_path.is_file() or not plan_file.is_file():
        raise ChangesPendingError(f"no saved plan for {target.label}: run `batchplane plan --env {target.root}` first")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("fingerprint") != fingerprint(target):
        raise ChangesPendingError(
            f"the saved plan of {target.label} is stale: the rendered root or the modules changed since; "
            f"run `batchplane plan --env {target.root}` again"
        )
    runner = TerraformRunner(target.workdir)
    applied_record(target).unlink(missing_ok=True)
    try:
        _stream(runner, target, sink, "apply", str(plan_file), input=False, no_color=IsFlagged, lock_timeout="0s")
    except ToolError as exc:
        if "Saved plan is stale" in exc.detail:
            raise ChangesPendingError(
                f"the saved plan of {target.label} is stale: {target.root} changed since it was planned "
                f"(another apply ran); nothing was applied. Plan again: `batchplane plan --env {target.root}`"
            ) from None
        raise
    finally:
        # A saved plan applies at most once: terraform refuses it afterwards anyway.
        meta_path.unlink(missing_ok=True)
        plan_file.unlink(missing_ok=True)
        (target.plan_dir / SUMMARY_FILE).unlink(missing_ok=True)
    record_converged(target)
    if target.root != SHARED_ROOT:
        # The digests this root was rendered with (target_for checked it matches the lock): promote's evidence.
        pinned = {
            image: entries[target.root].digest
            for image, entries in read_lock(target.repo).images.items()
            if target.root in entries
        }
        record_applied(target.repo, target.root, pinned, local=target.local)


def outputs(target: Target) -> dict[str, Any]:
    runner = TerraformRunner(target.workdir)
    shown = _run(runner, target, "output", "-json", no_color=IsFlagged)
    values = json.loads(shown.stdout or "{}")
    return {name: entry.get("value") for name, entry in sorted(values.items())}


def destroy(target: Target, *, sink: LineSink | None = None) -> None:
    """Destroy everything terraform manages in ``target`` (approval: see :func:`require_approval`)."""
    runner = TerraformRunner(target.workdir)
    _stream(runner, target, sink, "destroy", "-auto-approve", input=False, no_color=IsFlagged, lock_timeout="0s")
