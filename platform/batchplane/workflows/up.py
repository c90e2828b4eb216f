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
from dataclasses import asdict, dataclass, field
from typing import Any

from batchplane import __version__, layout
from batchplane.images.lock import ImageLock, read_lock
from batchplane.images.pipeline import build_all, pin, plan_images, push_all
from batchplane.images.sources import spec_images
from batchplane.policy.gate import Request, refuse, run_check
from batchplane.render import compare, render, write
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec.loader import Spec
from batchplane.terraform import lifecycle, records, targets
from batchplane.workspace import Workspace

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
        document = asdict(self)
        document["rendered_files_changed"] = document.pop("rendered")
        document["seconds"] = round(self.seconds, 1)
        return document


def checked_roots(spec: Spec, environment: str) -> list[str]:
    """The rendered roots ``up``'s check of ``environment`` reads: it, and the shared root when the spec has one."""
    return [environment] + ([SHARED_ROOT] if SHARED_ROOT in targets.roots_of(spec) else [])


def check_key(spec: Spec, environment: str, today: dt.date | None = None) -> str:
    """Everything a check of ``environment`` reads, hashed: a passing check is remembered under it."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    stamp = f"batchplane {__version__} checkov {version('checkov')} {today or dt.date.today()}\0"
    digest.update(stamp.encode())
    files = [spec.path, layout.lock_path(spec.root)]
    roots = [layout.root_dir(spec.root, r) for r in checked_roots(spec, environment)]
    for directory in [spec.root / layout.POLICIES_DIR, *roots]:
        if directory.is_dir():
            files += sorted(p for p in directory.rglob("*") if p.is_file() and layout.TERRAFORM_WORK_DIR not in p.parts)
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(spec.root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def gate(spec: Spec, environment: str, say: Say) -> str:
    """The policy gate over the environment (spec rules + Checkov); raises when it blocks."""
    marker = spec.root / layout.CHECK_CACHE_DIR / check_key(spec, environment)
    if marker.is_file():
        say("check: passed (unchanged since the last passing check)")
        return "passed (cached)"
    started = time.monotonic()
    outcome = run_check(spec, Request([environment]))
    blocking = outcome.blocking("low")
    refuse(
        blocking,
        spec,
        f"{len(blocking)} unwaived finding(s) in {environment}: run `batchplane check --env {environment}`",
    )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    say(f"check: passed in {time.monotonic() - started:.1f} s")
    return "passed"


def _render(spec: Spec, lock: ImageLock) -> int:
    rendered = render(spec, lock)
    changes = compare(spec.root, rendered)
    write(spec.root, rendered, changes)
    return len(changes.lines())


def _converge(target: targets.Target, spec: Spec | None, *, say: Say) -> int:
    """Plan ``target``; when it changes anything, gate the plan and apply it. Returns the change count."""
    if records.unchanged_since_converged(target):
        say(f"{target.label}: unchanged since its last apply")
        return 0
    planned = (lifecycle.plan_and_gate(spec, [target]) if spec is not None else lifecycle.plan_all([target]))[0]
    if not planned.has_changes:
        (target.plan_dir / lifecycle.META_FILE).unlink(missing_ok=True)
        records.record_converged(target)
        say(f"{target.label}: no changes")
        return 0
    if spec is not None:  # up has no --allow-queue-replacement: a production queue replacement is apply's
        lifecycle.check_queue_replacement(spec, target, allowed=False)
    say(f"{target.label}: applying {len(planned.changes)} change(s)")
    lifecycle.apply(target)
    say(f"{target.label}: applied")
    return len(planned.changes)


def up(workspace: Workspace, environment: str, *, approved: bool, say: Say) -> UpResult:
    """Bring ``environment`` up: see the module docstring for the steps and decisions."""
    started = time.monotonic()
    spec = workspace.spec
    targets.require_approval(spec, environment, approved=approved, action="apply")
    result = UpResult(environment, workspace.local)
    lock = read_lock(spec.root)
    result.rendered = _render(spec, lock)
    say(f"render: {result.rendered} file(s) changed")
    result.check = gate(spec, environment, say)
    builds = spec.platform.environments[environment].tier != "production"
    lifecycle.refuse_unpinned(spec, environment)
    tell_lock = threading.Lock()

    def tell(message: str) -> None:
        with tell_lock:
            say(message)

    work = plan_images(spec, spec_images(spec), workspace.registry, environment, lock) if builds else None
    with ThreadPoolExecutor(max_workers=2) as pool:
        shared: Future[int] | None = None
        if SHARED_ROOT in targets.roots_of(spec):
            target = targets.target_for(spec, SHARED_ROOT, workspace.emulator)
            shared = pool.submit(_converge, target, None, say=lambda m: tell(f"[shared] {m}"))
        built = pool.submit(build_all, spec, work, lambda m: tell(f"[images] {m}")) if work else None
        built_images = built.result() if built else []
        if shared is not None:
            result.shared = "applied" if shared.result() else "no changes"
    if work is not None:
        pushed = push_all(work, built_images, lambda m: tell(f"[images] {m}"))
        everything = [*work.current, *pushed]
        result.images = [r.as_dict() for r in everything]
        if pin(spec.root, environment, everything, lock):
            say(f"pin: {layout.LOCK_FILE} updated for {environment}")
            _render(spec, read_lock(spec.root))
    target = targets.target_for(spec, environment, workspace.emulator)
    result.changes = _converge(target, spec, say=say)
    result.applied = result.changes > 0
    result.seconds = time.monotonic() - started
    return result
