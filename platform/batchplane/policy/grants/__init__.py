"""The plan gate's IAM comparison: every grant a plan would make is one the spec produces.

batchplane renders every IAM grant from the spec, so the expected IAM of an
environment is computed here in Python, mirroring ``modules/`` (one
:class:`Expected` per Terraform address), and compared with the resolved values
of a plan JSON (``terraform show -json``). Pure Python on the JSON: it runs in
every ``plan``.

What is compared (every resource instance the plan keeps or creates):

* Roles: name, trust policy (principals, actions, conditions), ``inline_policy``
  entries (each judged as the inline policy of that name) and
  ``managed_policy_arns``.
* Role policies, role policy attachments, instance profiles: the role they
  attach to and the document or managed policy ARN.
* Resource policies the modules create: the KMS key policies and the ECR
  repository pull policy (principals, actions, resources, conditions).
* Every other IAM-bearing resource: any ``aws_iam_*`` type, any type whose name
  speaks of a policy, permission or grant, any resource with a ``policy``-like
  attribute (:data:`POLICY_ATTRIBUTES`). Where the spec produces none, each
  one is a finding (BP-PLAN-001), whatever it contains.

Containment is judged with IAM glob semantics (``*`` any run, ``?`` one
character; actions case-insensitive): a planned ``s3:Get*`` is not covered by
an expected ``s3:GetObject``, a planned ``a/*`` is covered by ``a/*`` but not
by ``a/b``. ``NotAction``/``NotResource``/``NotPrincipal`` in an Allow are
unbounded. Deny statements only narrow and are not judged; extra conditions
only narrow, a missing expected condition widens.

Unknown values ("known after apply") never widen: an unknown IAM-relevant
value is a finding (BP-PLAN-005), except exactly these, which the spec's own
modules produce on a first plan:

* ``role`` of a role policy, when its configuration references nothing but
  the expected role of the same module instance (``aws_iam_role.<r>.id``).
* ``policy`` of a role policy, when its configuration references nothing but
  the expected ``aws_iam_policy_document`` of the same module instance; the
  document's own planned statements are then judged instead, and must not
  merge other documents (``source_policy_documents``, ...).
* Inside such a document, an unknown element of ``resources`` only in a
  statement whose sid, effect and actions are exactly an expected statement
  that holds as many ARNs created in the same plan (the job's log group, the
  queue and job definition a submitter role submits to, the flow-log group).
* ``inline_policy`` and ``managed_policy_arns`` of a role whose configuration
  does not set them (the provider then manages neither).

What the plan JSON cannot show, and this comparison therefore does not prove:
a function applied to one of those allowed references (``replace(<doc>.json,
...)``) has the same references as the bare reference, and a ``dynamic``
``inline_policy`` block whose ``for_each`` is unknown does not appear in the
plan's configuration at all. Both need module code changed; the HCL scan
(root integrity, Checkov on ``modules/``) and review must catch those. Nor
does it compare which existing role a job definition, schedule or event
target *uses* (``jobRoleArn``, ``role_arn``), only what roles are granted.

- :mod:`.expected`: what the spec produces, per Terraform address (mirrors ``modules/``);
- :mod:`.planned`: the plan's resources, their values and unknowns;
- :mod:`.statements`: statements normalised, and IAM glob containment;
- :mod:`.comparison`: the verdicts (``BP-PLAN-001`` to ``-007``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.images.lock import read_lock
from batchplane.policy.checkov.sourcemap import Location, SourceMap, root_location
from batchplane.policy.findings import Finding, Outcome
from batchplane.policy.grants.comparison import TITLES, UNREADABLE_ID, compare
from batchplane.policy.grants.expected import expected_env, expected_shared
from batchplane.render.roots import SHARED_ROOT
from batchplane.spec.access import partition_of
from batchplane.spec.loader import Spec


def _locator(spec: Spec, root: str) -> Callable[[str], Location]:
    return SourceMap.read(layout.root_dir(spec.root, root), root_location(spec, root)).locate


def _planned_key_arn(document: dict[str, Any]) -> str | None:
    """The ARN of the environment's key where the plan knows it (it exists already)."""
    for change in document.get("resource_changes") or []:
        if isinstance(change, dict) and change.get("address") == "module.logs_key.aws_kms_key.this":
            arn = ((change.get("change") or {}).get("after") or {}).get("arn")
            return arn if isinstance(arn, str) and arn else None
    return None


def check_plan(spec: Spec, root: str, plan: Path) -> Outcome:
    """The plan gate's IAM comparison of one root's plan JSON against the spec (see the module docstring)."""
    locate = _locator(spec, root)
    try:
        document = json.loads(plan.read_text(encoding="utf-8"))
        problem = "" if isinstance(document, dict) and "resource_changes" in document else "not a terraform plan JSON"
    except (OSError, ValueError) as exc:
        document, problem = {}, f"cannot be read as JSON: {exc}"
    if problem:
        spec_path, line = locate("")
        finding = Finding(root, spec_path, UNREADABLE_ID, "", "critical", line, f"plan {plan}: {problem}")
        return Outcome((finding,), (), dict(TITLES))
    if root == SHARED_ROOT:
        expected = expected_shared(spec.platform)
        region = spec.platform.region
    else:
        platform = spec.env(root)
        # The root's network variable as planned: only batchplane's local mode sets it to a
        # created stand-in for an existing network (root integrity keeps values files render's own).
        network = ((document.get("variables") or {}).get("network") or {}).get("value")
        stand_in = isinstance(network, dict) and network.get("create") is True
        expected = expected_env(
            platform, root, read_lock(spec.root), stand_in_network=stand_in, key_arn=_planned_key_arn(document)
        )
        region = platform.region
    return compare(document, root, expected, partition_of(region), locate)
