"""``batchplane up``: one environment from spec to running, images included.

validate → render → check → in parallel {apply ``shared``, build images} →
push → pin → plan → check the plan → apply.

Decisions, also in the README:

* Images are built and pushed only for development tiers. A production tier
  runs promoted digests only: ``up`` of one uses the lock as it is and
  refuses (exit 4) while an image is unpinned there.
* A check that passed is remembered under ``.batchplane/cache/check/``,
  keyed by everything it read (spec, rendered roots, policies, tool
  versions, the date: waivers expire). A second ``up`` of an unchanged
  platform therefore skips Checkov; any change runs it again.
* Nothing changed means nothing done: images whose source is unchanged are
  neither built nor pushed, and a root whose files, modules and state are
  exactly as after its last apply (or last empty plan) by batchplane is not
  even planned: reality is compared by ``drift``, not by ``up``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchplane import __version__, images, layout
from batchplane.images.lock import read_lock
from batchplane.policy.findings import PolicyFailedError
from batchplane.policy.gate import Request, run_check
from batchplane.render import compare, render, write
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec.loader import Spec, load_spec
from batchplane.terraform import lifecycle

CHECK_CACHE = layout.CHECK_CACHE_DIR

Say = Callable[[str], None]


@dataclass
class UpResult:
    environment: str
    local: bool
    rendered: int = 0
    check: str = ""
    shared: str = "-"
    images: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    changes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "local": self.local,
            "rendered_files_changed": self.rendered,
            "check": self.check,
            "shared": self.shared,
            "images": self.images,
            "applied": self.applied,
            "changes": self.changes,
            "seconds": round(self.seconds, 1),
        }


def _check_key(spec: Spec, roots: list[str]) -> str:
    """Everything a check of ``roots`` reads, hashed."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(f"batchplane {__version__} checkov {version('checkov')} {dt.date.today()}\0".encode())
    files = [spec.path, spec.root / "images.lock.json"]
    for directory in [spec.root / "policies", *(spec.root / "environments" / r for r in roots)]:
        if directory.is_dir():
            files += sorted(p for p in directory.rglob("*") if p.is_file() and ".terraform" not in p.parts)
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(spec.root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def gate(spec: Spec, environment: str, say: Say) -> str:
    """The policy gate over the environment (spec rules + Checkov); raises when it blocks."""
    roots = [environment] + ([SHARED_ROOT] if (spec.root / "environments" / SHARED_ROOT).is_dir() else [])
    marker = spec.root / CHECK_CACHE / _check_key(spec, roots)
    if marker.is_file():
        say("check: passed (unchanged since the last passing check)")
        return "passed (cached)"
    started = time.monotonic()
    outcome = run_check(spec, Request([environment]))
    blocking = outcome.blocking("low")
    if blocking:
        for finding in blocking:
            say(f"  {finding.id} {finding.severity} {finding.spec_path or finding.address}: {finding.message}")
        raise PolicyFailedError(
            f"{len(blocking)} unwaived finding(s) in {environment}: run `batchplane check --env {environment}`"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    say(f"check: passed in {time.monotonic() - started:.1f} s")
    return "passed"


def _render(spec: Spec) -> int:
    rendered = render(spec, read_lock(spec.root))
    changes = compare(spec.root, rendered)
    write(spec.root, rendered, changes)
    return len(changes.lines())


def _plan(target: lifecycle.Target) -> lifecycle.PlanResult:
    lifecycle.init(target)
    return lifecycle.plan(target, None)


def _converge(target: lifecycle.Target, spec: Spec | None, *, approved: bool, say: Say) -> int:
    """Plan ``target``; when it changes anything, gate the plan and apply it. Returns the change count."""
    if lifecycle.unchanged_since_converged(target):
        say(f"{target.label}: unchanged since its last apply")
        return 0
    planned = lifecycle.plan_and_gate(spec, [target])[0] if spec is not None else _plan(target)
    if not planned.has_changes:
        (target.plan_dir / lifecycle.META_FILE).unlink(missing_ok=True)
        lifecycle.record_converged(target)
        say(f"{target.label}: no changes")
        return 0
    say(f"{target.label}: applying {len(planned.changes)} change(s)")
    lifecycle.apply(target, approved=approved, sink=None)
    say(f"{target.label}: applied")
    return len(planned.changes)


def up(
    spec_path: Path,
    environment: str,
    *,
    emulator: Any,
    registry: images.Registry,
    approved: bool,
    say: Say,
) -> UpResult:
    """Bring ``environment`` up: see the module docstring for the steps and decisions."""
    started = time.monotonic()
    spec = load_spec(spec_path)
    if spec.platform.environments[environment].needs_approval and not approved:
        raise lifecycle.ApprovalRequiredError(
            f"{environment} needs approval to apply (production tier or approval: required): pass --approve-production"
        )
    result = UpResult(environment, emulator is not None)
    result.rendered = _render(spec)
    say(f"render: {result.rendered} file(s) changed")
    spec = load_spec(spec_path)
    result.check = gate(spec, environment, say)
    builds = spec.platform.environments[environment].tier != "production"
    lifecycle.refuse_unpinned(spec, environment)
    lock = threading.Lock()

    def tell(message: str) -> None:
        with lock:
            say(message)

    work = images.plan_images(spec, images.spec_images(spec), registry, environment) if builds else None
    with ThreadPoolExecutor(max_workers=2) as pool:
        shared: Future[int] | None = None
        if SHARED_ROOT in lifecycle.roots_of(spec):
            target = lifecycle.target_for(spec, SHARED_ROOT, emulator)
            shared = pool.submit(_converge, target, None, approved=True, say=lambda m: tell(f"[shared] {m}"))
        built = pool.submit(images.build_all, spec, work, lambda m: tell(f"[images] {m}")) if work else None
        built_images = built.result() if built else []
        if shared is not None:
            result.shared = "applied" if shared.result() else "no changes"
    if work is not None:
        pushed = images.push_all(work, built_images, lambda m: tell(f"[images] {m}"))
        everything = [*work.current, *pushed]
        result.images = [r.as_dict() for r in everything]
        if images.pin(spec.root, environment, everything):
            say(f"pin: images.lock.json updated for {environment}")
            _render(spec)
    target = lifecycle.target_for(spec, environment, emulator)
    result.changes = _converge(target, spec, approved=approved, say=say)
    result.applied = result.changes > 0
    result.seconds = time.monotonic() - started
    return result
