"""Which roots terraform acts on, where it runs for each, and whether a change needs approval.

A :class:`Target` is one rendered root prepared for terraform: the committed
``environments/<root>`` for real AWS, or a working copy pointed at the embedded
AWS. :func:`target_for` refuses a root that is out of date with the spec or
fails root integrity before terraform reads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from batchplane import layout
from batchplane.errors import BatchplaneError, ChangesPendingError, ExitCode
from batchplane.images.lock import read_lock
from batchplane.local.accounts import S3Backend, account_key, ensure_state_bucket
from batchplane.local.emulator import EmulatorState
from batchplane.local.registry import running_registry
from batchplane.local.workcopy import LocalJobs, job_environment, prepare_workdir
from batchplane.policy.gate import refuse
from batchplane.render import compare, render
from batchplane.render.roots import SHARED_ROOT, has_shared_root, state_key
from batchplane.spec.loader import Spec


@dataclass(frozen=True)
class Target:
    """One root, where terraform runs for it, and how careful to be."""

    repo: Path
    root: str
    workdir: Path
    local: bool
    needs_approval: bool
    instance: str = "aws"
    """Which AWS the root acts on: ``aws``, or the emulator process (local state dies with it)."""

    @property
    def plan_dir(self) -> Path:
        return layout.plan_dir(self.repo, self.root, local=self.local)

    @property
    def label(self) -> str:
        return f"{self.root} (local)" if self.local else self.root


def roots_of(spec: Spec) -> list[str]:
    """Every root terraform can act on: the shared registry root first."""
    shared = [SHARED_ROOT] if has_shared_root(spec.platform) else []
    return shared + list(spec.environments)


def ensure_rendered(spec: Spec, root: str) -> None:
    """Refuse to act on a root that is not what the spec renders today."""
    environments = None if root == SHARED_ROOT else [root]
    rendered = render(spec, read_lock(spec.root), environments)
    if root == SHARED_ROOT:
        rendered = type(rendered)(
            tree={k: v for k, v in rendered.tree.items() if k.startswith(f"environments/{SHARED_ROOT}/")},
            roots=(f"environments/{SHARED_ROOT}",),
            complete=False,
        )
    changes = compare(spec.root, rendered)
    if not changes.empty:
        listed = "\n".join(changes.lines())
        raise ChangesPendingError(
            f"environments/{root} is out of date with {spec.path.name}: run `batchplane render`\n{listed}"
        )


def target_for(spec: Spec, root: str, emulator: EmulatorState | None) -> Target:
    """Prepare where terraform runs for ``root`` (a local working copy with ``emulator``)."""
    ensure_rendered(spec, root)
    refuse_broken_root(spec, root)
    platform = spec.platform
    account = platform.registry_account_id if root == SHARED_ROOT else platform.environments[root].account_id
    approval = needs_approval(spec, root)
    if emulator is None:
        repo = spec.root.resolve()
        return Target(repo, root, repo / "environments" / root, local=False, needs_approval=approval)
    access_key = account_key(spec.root, emulator, account, platform.region)
    registry = running_registry(spec.root)
    jobs = LocalJobs(
        registry.host if registry is not None else None,
        job_environment(emulator.endpoint, platform.region, access_key),
    )
    s3 = None
    if platform.state.backend == "s3" and platform.state.s3 is not None:
        s3 = S3Backend(platform.state.s3.bucket, state_key(platform, root), platform.state.s3.region or platform.region)
        ensure_state_bucket(emulator.endpoint, s3)
    workdir = prepare_workdir(spec.root, root, emulator.endpoint, account, s3=s3, jobs=jobs)
    instance = f"local:{emulator.port}:{emulator.pid}"
    return Target(spec.root.resolve(), root, workdir, local=True, needs_approval=approval, instance=instance)


def fingerprint(target: Target) -> str:
    """Hash of everything a plan was made from: the root's files and the modules."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in target.workdir.iterdir() if p.is_file() and p.name.endswith((".tf", ".tf.json", ".tfvars.json"))
    )
    modules = target.repo / "modules"
    if modules.is_dir():
        files += sorted(p for p in modules.rglob("*.tf") if ".terraform" not in p.parts and "examples" not in p.parts)
    for path in files:
        digest.update(
            path.relative_to(target.repo if path.is_relative_to(target.repo) else target.workdir).as_posix().encode()
        )
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def refuse_broken_root(spec: Spec, root: str) -> None:
    """Root integrity before terraform, or a working copy, touches a root.

    `terraform init` downloads module sources and `terraform plan` runs data
    sources, so a root holding a file render did not write is refused before
    either starts, whatever the command. Integrity findings cannot be waived.
    """
    from batchplane.policy import integrity  # late: render's templates are slow to import

    found = integrity.check_named_roots(spec, [root]).findings
    refuse(
        found,
        spec,
        f"environments/{root} fails root integrity ({len(found)} finding(s)); terraform was not run",
    )


class ApprovalRequiredError(BatchplaneError):
    """A production tier was asked to change without explicit approval."""

    exit_code = ExitCode.POLICY_FAILED


def needs_approval(spec: Spec, root: str) -> bool:
    """Whether changing ``root`` needs --approve-production: a production tier or ``approval: required``."""
    environment = spec.platform.environments.get(root)
    return environment is not None and environment.needs_approval


def require_approval(spec: Spec, root: str, *, approved: bool, action: str) -> None:
    """The one approval check: refuse (exit 4) to ``action`` a root that needs approval without it.

    Every command checks once, before it changes anything: ``apply``,
    ``destroy``, ``up`` and ``promote``. :func:`apply` and :func:`destroy`
    trust their caller to have asked.
    """
    if needs_approval(spec, root) and not approved:
        raise ApprovalRequiredError(
            f"{root} needs approval to {action} (production tier or approval: required): pass --approve-production"
        )
