"""What was last applied to each root: lets ``up`` skip terraform for a root nothing has changed since."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from batchplane import layout
from batchplane.terraform.targets import Target, fingerprint


def applied_record(target: Target) -> Path:
    return layout.applied_record(target.repo, target.root, local=target.local)


def _converged_state(target: Target) -> dict[str, str]:
    state = target.workdir / "terraform.tfstate"
    return {
        "fingerprint": fingerprint(target),
        "instance": target.instance,
        "state": hashlib.sha256(state.read_bytes()).hexdigest() if state.is_file() else "",
    }


def record_converged(target: Target) -> None:
    """Remember that reality matched this root's files right after an apply (or an empty plan)."""
    path = applied_record(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_converged_state(target), sort_keys=True) + "\n", encoding="utf-8")


def unchanged_since_converged(target: Target) -> bool:
    """True when the root's files, the modules, the state and the AWS acted on are as last converged.

    ``up`` skips terraform then (a plan of a Batch root takes 15 s even
    without refresh). It does not look at reality: that is `drift`'s job.
    """
    try:
        recorded = json.loads(applied_record(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == _converged_state(target))
