"""Root integrity: what Terraform will read is what batchplane wrote, before any scan trusts it.

Checkov judges the files it is shown, the way it understands them; Terraform
loads more (``*_override.tf`` merged over the rest, ``*.tf.json``,
``*.auto.tfvars``) and fetches remote module sources. So before any scan a
rendered root (``environments/<env>/``, ``environments/shared/``) is compared
with what :func:`batchplane.render.tree.render` produces for the current spec,
byte for byte, and may otherwise hold only:

- ``.terraform.lock.hcl``, and only provider pins (version, constraints,
  hashes) of the providers the rendered ``versions.tf`` requires;
- files declared in ``policy.extra_files`` (path and reason), scanned by
  Checkov like the rest; a declared ``.tf`` file may call modules of the
  repository's ``modules/`` but may not configure Terraform, providers,
  the backend, or run programs;
- what Terraform leaves that it never loads as configuration: local state
  (``terraform.tfstate*``, ``terraform.tfstate.d/``) and its working
  directory ``.terraform/``, which ``terraform init`` rewrites before every
  plan and which must therefore never be committed (a tracked file there,
  such as a provider binary, is a finding).

Module sources, in the roots and in ``modules/`` itself, must resolve (after
``..`` and symlinks) to a directory inside the repository's ``modules/``.
Inline ``#checkov:skip`` comments count only in module files whose content
is listed in the package's ``known_modules.json``.

- :mod:`.roots`: each root's files against what render writes, the lock file;
- :mod:`.sources`: module sources, and what a declared file may hold;
- :mod:`.modules`: the reviewed files of ``modules/`` (the known list, inline skips);
- :mod:`.configuration`: what Terraform loads from a directory, and how it is parsed;
- :mod:`.findings`: the rule ids (``BP-TF-003`` to ``-009``) and how findings are worded.
"""

from __future__ import annotations

from collections.abc import Sequence

from batchplane.policy.findings import Finding, Outcome
from batchplane.policy.integrity.findings import TITLES
from batchplane.policy.integrity.modules import check_modules
from batchplane.policy.integrity.roots import check_root
from batchplane.spec.loader import Spec


def check_roots(spec: Spec, environments: Sequence[str]) -> Outcome:
    """Integrity findings of the roots a full check scans, and of the repository's ``modules/``.

    The roots are those :func:`batchplane.policy.checkov.scan.scan_roots`
    scans: each environment's, plus ``shared`` when every environment is
    checked. A missing root is left to BP-TF-001.
    """
    from batchplane.render.roots import SHARED_ROOT, has_shared_root

    roots = list(environments)
    complete = set(environments) == set(spec.environments)
    if complete and has_shared_root(spec.platform):
        roots.insert(0, SHARED_ROOT)
    return check_named_roots(spec, roots, complete=complete)


def check_named_roots(spec: Spec, roots: Sequence[str], *, complete: bool = False) -> Outcome:
    """Integrity findings of exactly these roots (``shared`` included when named), and of ``modules/``.

    `plan` calls this before `terraform init`, which would fetch a foreign
    module source, and before `terraform plan`, which would run a data source.
    ``complete``: every root is named, so render them all at once.
    """
    from batchplane.images.lock import read_lock  # late: jinja2 (render) is slow to import
    from batchplane.render.roots import SHARED_ROOT
    from batchplane.render.tree import ENVIRONMENTS_DIR, render

    # The shared root is rendered only with every environment (it serves them all).
    everything = complete or SHARED_ROOT in roots
    # The lock on disk, not one a command is about to write: roots are rendered from it.
    rendered = render(spec, read_lock(spec.root), None if everything else list(roots))
    findings: list[Finding] = []
    for root in roots:
        prefix = f"{ENVIRONMENTS_DIR}/{root}/"
        expected = {p.removeprefix(prefix): data for p, data in rendered.tree.items() if p.startswith(prefix)}
        findings += check_root(spec, root, expected)
    findings += check_modules(spec.root)
    return Outcome(tuple(sorted(findings)), (), dict(TITLES))
