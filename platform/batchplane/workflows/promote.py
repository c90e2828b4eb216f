"""``batchplane promote``: move proven image digests from one environment to the next.

Build once, promote the proven digest: promotion copies ``images.lock.json``
entries from the source environment to the target and re-renders the target.
It never builds.

It refuses (exit 4, nothing written) when

* the source has no digest for an image, or no successful apply of that
  digest is recorded for the source (``history.jsonl``; with ``--local``, the
  local AWS's own history);
* the registry does not hold the digest;
* the policy gate fails on the target with the promoted lock (spec rules on
  the lock that would be written; Checkov on the target's rendered root);
* the target needs approval (production tier, or ``approval: required``)
  and ``--approve-production`` was not given.

Every promoted image is recorded in the history (who, when, from, to, digest).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from batchplane import layout
from batchplane.images.lock import read_lock, with_entries, write_lock
from batchplane.images.sources import spec_images
from batchplane.policy.findings import PolicyFailedError
from batchplane.policy.gate import Request, refuse, run_check
from batchplane.render import compare, render, write
from batchplane.terraform import history
from batchplane.terraform.targets import require_approval
from batchplane.workspace import Workspace


class PromotionRefusedError(PolicyFailedError):
    """A promotion that must not happen: unproven, missing, or failing the gate."""


@dataclass(frozen=True)
class Move:
    image: str
    digest: str
    tag: str
    previous: str | None

    @property
    def changes(self) -> bool:
        return self.digest != self.previous

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Promotion:
    source: str
    target: str
    moves: list[Move] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "images": [m.as_dict() for m in self.moves],
            "changed_files": self.files,
            "written": self.written,
        }


def promote(
    workspace: Workspace,
    source: str,
    target: str,
    *,
    images: list[str] | None,
    approved: bool,
    dry_run: bool,
) -> Promotion:
    """Check, then (unless ``dry_run``) pin the source's digests for ``target`` and re-render it."""
    spec, registry, local = workspace.spec, workspace.registry, workspace.local
    platform = spec.platform
    if source == target:
        raise PromotionRefusedError(f"--from and --to are both {source}")
    wanted = list(dict.fromkeys(images)) if images else spec_images(spec)
    unused = sorted(set(wanted) - set(spec_images(spec)))
    if unused:
        raise PromotionRefusedError(f"no job uses image {', '.join(unused)} (known: {', '.join(spec_images(spec))})")
    require_approval(spec, target, approved=approved, action="receive promoted images")
    lock = read_lock(spec.root)
    proven = history.applied_digests(spec.root, source, local=local)
    where = "the local AWS" if local else "AWS"
    problems: list[str] = []
    moves: list[Move] = []
    for image in wanted:
        entry = lock.entry(image, source)
        if entry is None:
            problems.append(f"{image}: {source} has no digest for it in {layout.LOCK_FILE}")
            continue
        if entry.digest not in proven.get(image, set()):
            problems.append(
                f"{image}: no successful apply of {source} with {entry.digest} is recorded on {where} "
                f"({history.history_path(spec.root, local=local).name}); apply {source} first"
            )
            continue
        repository = registry.repository(platform.name, image)
        if not registry.has(repository, entry.digest):
            problems.append(f"{image}: {repository}@{entry.digest} is not in the registry {registry.host}")
            continue
        current = lock.entry(image, target)
        moves.append(Move(image, entry.digest, entry.tag, current.digest if current else None))
    if problems:
        raise PromotionRefusedError(f"promotion {source} → {target} refused:\n  " + "\n  ".join(problems))

    promoted = with_entries(lock, target, {m.image: lock.images[m.image][source] for m in moves})
    outcome = run_check(spec, Request([target], lock=promoted))
    refuse(
        outcome.blocking("low"),
        spec,
        f"promotion {source} → {target} fails the policy gate",
        error=PromotionRefusedError,
    )

    rendered = render(spec, promoted, [target])
    changes = compare(spec.root, rendered)
    result = Promotion(source, target, moves, changes.lines())
    if dry_run or not any(m.changes for m in moves):
        return result
    write_lock(spec.root, promoted)
    write(spec.root, rendered, changes)
    history.append(
        spec.root,
        [
            {"event": "promoted", "from": source, "to": target, "image": m.image, "digest": m.digest, "tag": m.tag}
            for m in moves
            if m.changes
        ],
        local=local,
    )
    result.written = True
    return result
