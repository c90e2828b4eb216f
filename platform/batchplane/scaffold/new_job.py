"""``jobs new``: decide, edit, check and render in memory, then write all or nothing.

The steps, each in its own module: :mod:`~batchplane.scaffold.choose` names the job and
picks its queue, :mod:`~batchplane.scaffold.spec_edit` adds its entry to the spec text,
the edited spec is parsed and judged by the spec rules of the policy gate here, the roots
are rendered and compared with disk (which refuses foreign files),
:mod:`~batchplane.scaffold.folder` fills the image folder from the templates, and
:mod:`~batchplane.scaffold.transaction` writes it all or restores what was there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.errors import SpecError
from batchplane.images.lock import read_lock
from batchplane.policy.findings import Finding, PolicyFailedError
from batchplane.policy.gate import Request, run_check
from batchplane.render import Changes, compare, render
from batchplane.scaffold.choose import NewJob, ScaffoldError, choose, on_demand_queues
from batchplane.scaffold.folder import image_files
from batchplane.scaffold.spec_edit import add_job
from batchplane.scaffold.transaction import write_all
from batchplane.spec import Spec, parse_spec


@dataclass(frozen=True)
class Scaffolded:
    """What ``new_job`` wrote."""

    job: NewJob
    spec_path: Path
    image_dir: Path
    image_files: tuple[str, ...]
    """Paths relative to the repository, sorted."""
    render_changes: Changes

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.name,
            "package": self.job.package,
            "queue": self.job.queue,
            "interruptible": self.job.interruptible,
            "fargate": self.job.fargate,
            "spec": str(self.spec_path),
            "entry": self.job.entry(),
            "image_files": list(self.image_files),
            "rendered": {
                "added": self.render_changes.added,
                "changed": self.render_changes.changed,
                "removed": self.render_changes.removed,
            },
        }


def new_job(
    spec_path: Path,
    name: str,
    *,
    queue: str | None = None,
    interruptible: bool | None = None,
    fargate: bool = False,
    today: dt.date | None = None,
) -> Scaffolded:
    """Scaffold job_images/NAME and its spec entry, check both, write them, render. Nothing on failure."""
    original = spec_path.read_bytes()
    text = original.decode("utf-8")
    spec = parse_spec(text, path=spec_path)
    job = choose(spec, name, queue, interruptible, fargate)
    edited = add_job(text, job)
    try:
        new_spec = parse_spec(edited, path=spec_path, check_images=False)  # the image folder comes below
    except SpecError as exc:
        problems = "\n".join(f"  {p.path}: {p.message}" for p in exc.problems)
        raise ScaffoldError(f"the new job would make {spec_path.name} invalid:\n{problems}") from None
    _gate(spec, new_spec, today)
    rendered = render(new_spec, read_lock(spec.root))
    changes = compare(spec.root, rendered)  # refuses foreign files before anything is written

    files = image_files(job)
    image_dir = layout.image_dir(spec.root, name)
    write_all(
        root=spec.root,
        image_dir=image_dir,
        files=files,
        spec_path=spec_path,
        original=original,
        edited=edited,
        rendered=rendered,
        changes=changes,
    )
    prefix = image_dir.relative_to(spec.root).as_posix()
    return Scaffolded(
        job=job,
        spec_path=spec_path,
        image_dir=image_dir,
        image_files=tuple(sorted(f"{prefix}/{path}" for path in files)),
        render_changes=changes,
    )


def _gate(before: Spec, after: Spec, today: dt.date | None) -> None:
    """The spec rules on the edited spec: refuse when it has a blocking finding the current spec lacks."""

    def key(finding: Finding) -> tuple[str, str, str, str, str]:
        return finding.id, finding.environment, finding.spec_path, finding.address, finding.message

    known = {
        key(f) for f in run_check(before, Request(before.environments, spec_only=True, today=today)).blocking("low")
    }
    outcome = run_check(after, Request(after.environments, spec_only=True, today=today))
    new = [f for f in outcome.blocking("low") if key(f) not in known]
    if new:
        listed = "\n".join(f"  {f.id} ({f.severity}) {f.environment}: {f.spec_path}: {f.message}" for f in new)
        hint = ""
        if any(f.id == "BP-SPOT-001" for f in new):
            calm = on_demand_queues(after)
            hint = f"\na job that is not interruptible needs a queue without Spot compute: {', '.join(calm) or 'none'}"
        raise PolicyFailedError(f"the new job would fail the policy gate, so nothing was written:\n{listed}{hint}")
