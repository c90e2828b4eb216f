"""Checkov over the rendered roots (and a plan JSON), in this one process, failing closed.

Checkov fails open in several ways (see the README's policy catalogue): a
missing directory, a file that does not parse, a non-plan JSON file, an IAM
document it cannot evaluate all come back as a pass. Each becomes a finding
here (BP-TF-001, BP-TF-002, and the custom checks CKV_BP_1/2 fail what they
cannot evaluate). State that Checkov keeps between scans in one process (the
IAM policy cache) is cleared before every scan.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.policy.findings import Finding, Outcome, Passed, Severity
from batchplane.policy.integrity import UNREVIEWED_SKIP_ID, loads_only_rendered, reviewed, unreviewed_skip
from batchplane.render.roots import SHARED_ROOT, SOURCEMAP, absent_modules, has_shared_root, static_main_tf
from batchplane.spec.loader import Spec

CHECKS_DIR = Path(layout.CHECKS_DIR)
ROOT_SCAN_ID = "BP-TF-001"
IAM_COVERAGE_ID = "BP-TF-002"
TITLES = {
    ROOT_SCAN_ID: "Every rendered root is present and parses",
    IAM_COVERAGE_ID: "Every IAM document was evaluated",
}

# Without an API key Checkov has no severities: these are ours.
_HIGH = {"CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_286"}
_HIGH |= {"CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355", "CKV_AWS_210", "CKV_AWS_274"}
_CUSTOM_SEVERITY: dict[str, Severity] = {
    "CKV_BP_1": "critical",
    "CKV_BP_2": "critical",
    "CKV_BP_3": "medium",
    "CKV_BP_4": "critical",
    "CKV_BP_5": "critical",
    "CKV_BP_6": "high",
    "CKV_BP_7": "critical",
    "CKV2_BP_1": "low",
}
# Roles carry inline and managed policies; attachments grant managed ones (CKV_BP_2 and CKV_BP_7 judge them).
_IAM_POLICY_TYPES = (
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_iam_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_role_policy_attachments_exclusive",
)
_IAM_COVERAGE_CHECKS = ("CKV_BP_1", "CKV_BP_2", "CKV_BP_7")
_INDEX = re.compile(r"\[[^\]]*\]")
INLINE_SKIP = "inline skip in modules/: "

_loaded_checks: set[Path] = set()


def severity_of(check_id: str) -> Severity:
    if check_id in _CUSTOM_SEVERITY:
        return _CUSTOM_SEVERITY[check_id]
    return "high" if check_id in _HIGH else "medium"


@dataclass(frozen=True)
class SourceMap:
    """Terraform address -> (spec path, line), from a root's .batchplane/sourcemap.json."""

    fallback: tuple[str, int | None]
    addresses: dict[str, tuple[str, int | None]]

    @classmethod
    def read(cls, root: Path, fallback: tuple[str, int | None]) -> SourceMap:
        path = root / SOURCEMAP
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"addresses": {}}
        entries = {k: (v["spec_path"], v.get("line")) for k, v in data.get("addresses", {}).items()}
        return cls(fallback, entries)

    def locate(self, address: str) -> tuple[str, int | None]:
        """The entry of the longest address prefix; indices are ignored when nothing matches exactly."""
        for normalize in (lambda a: a, lambda a: _INDEX.sub("", a)):
            target = normalize(address)
            best = None
            for key, entry in self.addresses.items():
                prefix = normalize(key)
                if (target == prefix or target.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), entry)
            if best is not None:
                return best[1]
        return self.fallback


def prepare_environment() -> None:
    # Without these Checkov reaches the network at start-up.
    os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
    os.environ.setdefault("CKV_SKIP_PACKAGE_UPDATE_CHECK", "TRUE")
    os.environ.setdefault("LOG_LEVEL", "ERROR")


def _checks_dir(spec: Spec) -> Path:
    directory = spec.root / CHECKS_DIR
    if not (directory / "__init__.py").is_file():
        raise ToolError("checkov", [], f"custom checks directory {directory} is missing (or has no __init__.py)")
    return directory


def expected_custom_ids(directory: Path) -> set[str]:
    """The ids our check files declare, to prove every one was loaded."""
    ids: set[str] = set()
    for path in sorted(directory.iterdir()):
        text = path.read_text(encoding="utf-8") if path.suffix in (".py", ".yaml", ".yml") else ""
        ids |= set(re.findall(r'id="(CKV2?_BP_[0-9]+)"', text)) | set(re.findall(r"\bid: (CKV2?_BP_[0-9]+)", text))
    return ids


def load_custom_checks(directory: Path) -> None:
    """Load our checks once per process and prove they are all registered (a bad file is skipped silently)."""
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    if directory in _loaded_checks:
        return
    resource_registry.load_external_checks(str(directory))
    data_registry.load_external_checks(str(directory))
    graph = get_graph_checks_registry("terraform")
    graph.load_external_checks(str(directory))
    registered = {c.id for checks in resource_registry.checks.values() for c in checks}
    registered |= {c.id for checks in data_registry.checks.values() for c in checks}
    registered |= {c.id for c in graph.checks}
    missing = sorted(expected_custom_ids(directory) - registered)
    if missing:
        raise ToolError("checkov", [], f"custom checks failed to load: {', '.join(missing)} (see {directory})")
    _loaded_checks.add(directory)


_parsed: dict[tuple[str, bool, str], Any] = {}


def _memoize_hcl_parsing() -> None:
    """Parse each file once per process: the four roots share the same modules.

    Keyed by the file's content hash (not its path, the mistake of Checkov's
    IAM cache), and handing out copies, so a later scan never sees stale or
    mutated definitions. Failures are not cached: Checkov records them.
    """
    from checkov.terraform import tf_parser

    namespace = vars(tf_parser)  # the name tf_parser looks up; patched there, not in parser_utils
    original = namespace["load_or_die_quietly"]
    if getattr(original, "batchplane_memoized", False):
        return

    def load(file: Any, parsing_errors: dict[str, Exception], clean_definitions: bool = True) -> Any:
        path = os.fspath(file)
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return original(file, parsing_errors, clean_definitions)
        key = (path, clean_definitions, digest)
        if key not in _parsed:
            result = original(file, parsing_errors, clean_definitions)
            if result is None:
                return None
            _parsed[key] = result
        return copy.deepcopy(_parsed[key])

    load.batchplane_memoized = True  # type: ignore[attr-defined]
    namespace["load_or_die_quietly"] = load


def _render_values_of_any_length() -> None:
    """Let Checkov render variable values of any length (its default stops at 10,000 characters).

    Past the limit Checkov leaves a value unrendered: the ``jobs`` map of a
    root with ten or more jobs is longer, so ``module.job``'s for_each was
    never expanded and every job was judged as one unresolved template
    (CKV_BP_1 then failed it, other checks judged nothing real). The limit is
    read from the environment when Checkov is imported, so it is set on the
    modules that hold it.
    """
    from checkov.terraform.graph_builder import utils
    from checkov.terraform.graph_builder.variable_rendering import evaluate_terraform, renderer

    for module in (utils, evaluate_terraform, renderer):
        vars(module)["CHECKOV_RENDER_MAX_LEN"] = 0  # 0: no limit


_interpreters = threading.local()
_MAX_EXPRESSION = 100_000_000
"""Characters of one expression asteval may evaluate (its own ceiling)."""


def _reuse_expression_interpreter() -> None:
    """One asteval interpreter per thread instead of one per expression (~14,000 a root).

    Checkov already shares its symbol table between all of them, and asteval
    resets its errors on every evaluation, so reuse changes no result.
    """
    from checkov.terraform.graph_builder.variable_rendering import safe_eval_functions

    namespace = vars(safe_eval_functions)
    original = namespace["get_asteval"]
    if getattr(original, "batchplane_reused", False):
        return

    def get_asteval() -> Any:
        interpreter = getattr(_interpreters, "value", None)
        if interpreter is None:
            interpreter = _interpreters.value = original()
            # asteval refuses expressions over 50,000 characters: the jobs map of a root with ~45
            # jobs is longer, and module.job's for_each would stay unexpanded (see _render_values_of_any_length).
            interpreter.max_statement_length = _MAX_EXPRESSION
        return interpreter

    get_asteval.batchplane_reused = True  # type: ignore[attr-defined]
    namespace["get_asteval"] = get_asteval


_evaluated: dict[str, tuple[bool, Any]] = {}


def _memoize_expression_evaluation() -> None:
    """Evaluate each distinct Terraform expression text once per process.

    The four roots instantiate the same modules, so most of the ~14,000
    expressions of a root repeat. The evaluation is a function of the text
    (its symbols are Checkov's fixed function table); results are handed out
    as copies, and errors are replayed as the same ValueError.
    """
    from checkov.terraform.graph_builder.variable_rendering import evaluate_terraform

    namespace = vars(evaluate_terraform)
    original = namespace["evaluate"]
    if getattr(original, "batchplane_memoized", False):
        return

    def evaluate(input_str: Any) -> Any:
        if not isinstance(input_str, str):
            return original(input_str)
        if input_str not in _evaluated:
            try:
                _evaluated[input_str] = (True, original(input_str))
            except ValueError as exc:
                _evaluated[input_str] = (False, str(exc))
        ok, value = _evaluated[input_str]
        if not ok:
            raise ValueError(value)
        return copy.deepcopy(value)

    evaluate.batchplane_memoized = True  # type: ignore[attr-defined]
    namespace["evaluate"] = evaluate


def _clear_caches() -> None:
    from checkov.terraform.checks.utils.base_cloudsplaining_iam_scanner import BaseTerraformCloudsplainingIAMScanner

    BaseTerraformCloudsplainingIAMScanner.policy_document_cache.clear()


_SCANS = threading.Lock()  # Checkov keeps global state: one scan at a time in this process


def _ready(spec: Spec) -> Any:
    """Checkov imported, configured and loaded with our checks; returns its RunnerFilter class."""
    prepare_environment()
    try:
        from checkov.runner_filter import RunnerFilter
    except ImportError as exc:
        raise ToolError("checkov", [], f"cannot import checkov: {exc} (pip install checkov)") from None
    load_custom_checks(_checks_dir(spec))
    _render_values_of_any_length()
    _memoize_hcl_parsing()
    _reuse_expression_interpreter()
    _memoize_expression_evaluation()
    return RunnerFilter


def scan_roots(spec: Spec, environments: Sequence[str]) -> Outcome:
    """Checkov over the shared root (when every environment is checked) and each environment's root."""
    with _SCANS:
        runner_filter = _ready(spec)
        roots = list(environments)
        if set(environments) == set(spec.environments) and has_shared_root(spec.platform):
            roots.insert(0, SHARED_ROOT)
        outcome = Outcome(rule_titles=dict(TITLES))
        for root in roots:
            outcome = outcome.merged(_scan_root(spec, root, runner_filter(framework=["terraform"])))
        return outcome


def scan_plan(spec: Spec, environment: str, plan: Path, roots: Outcome) -> Outcome:
    """Checkov over a plan JSON of ``environment``; ``roots`` is the scan of its root (for inline skips).

    Split from :func:`scan_roots` so that the root can be scanned while terraform is still planning.
    """
    with _SCANS:
        runner_filter = _ready(spec)
        scanned = _scan_plan(spec, environment, plan, runner_filter(framework=["terraform_plan"]))
        return carry_inline_skips(roots, scanned, environment)


def check(spec: Spec, environments: Sequence[str], plan: Path | None) -> Outcome:
    """Checkov findings of the roots (see :func:`scan_roots`) and, given one, of a plan JSON."""
    outcome = scan_roots(spec, environments)
    if plan is not None:
        outcome = outcome.merged(scan_plan(spec, environments[0], plan, outcome))
    return outcome


def plain_address(address: str) -> str:
    """An address without instance keys and data-source prefixes, comparable between HCL and plan scans."""
    return _INDEX.sub("", address).replace(".data.", ".").removeprefix("data.")


def carry_inline_skips(roots: Outcome, plan: Outcome, environment: str) -> Outcome:
    """Plan scans cannot see comments: apply the module skips the HCL scan of the same root honoured."""
    skips = {
        (f.id, plain_address(f.address)): f.waiver_reason
        for f in (*roots.findings, *roots.dormant_skips)
        if f.environment == environment and _skipped_inline(f)
    }
    findings = []
    for finding in plan.findings:
        reason = skips.get((finding.id, plain_address(finding.address)))
        findings.append(finding.waive(reason) if reason and not finding.waived else finding)
    return replace(plan, findings=tuple(findings))


def _fallback(spec: Spec, root: str) -> tuple[str, int | None]:
    loc: tuple[str, ...] = ("registry",) if root == SHARED_ROOT else ("environments", root)
    return ".".join(loc), spec.locations.line(loc)


def _scan_root(spec: Spec, root: str, runner_filter: Any) -> Outcome:
    from checkov.terraform.runner import Runner

    directory = spec.root / "environments" / root
    where = _fallback(spec, root)
    if not directory.is_dir() or not any(directory.glob("*.tf")):
        return _broken(root, where, f"rendered root environments/{root} is missing: run `batchplane render`")
    _clear_caches()
    command = ["checkov", "-d", str(directory), "--framework", "terraform"]
    try:
        report = Runner().run(root_folder=str(directory), runner_filter=runner_filter)
    except Exception as exc:  # Checkov's own failures come as any exception
        raise ToolError("checkov", command, f"{type(exc).__name__}: {exc}") from None
    modules = spec.root / "modules"
    outcome = _outcome(root, report, SourceMap.read(directory, where), where, f"environments/{root}", modules)
    values = _root_values(directory)
    declared = any(e.path.startswith(f"environments/{root}/") for e in spec.platform.policy.extra_files)
    pruned = without_absent_modules(outcome, root, directory, values, declared=declared)
    return without_grantless_documents(pruned, values)


def _root_values(directory: Path) -> dict[str, Any]:
    """A root's terraform.tfvars.json; empty when it is missing or not an object (Checkov judges that)."""
    try:
        values = json.loads((directory / "terraform.tfvars.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def without_absent_modules(
    outcome: Outcome, root: str, directory: Path, values: dict[str, Any], *, declared: bool = False
) -> Outcome:
    """Drop every verdict on a module call that the root instantiates zero times.

    Checkov evaluates a module called with ``count = 0`` or an empty
    ``for_each`` once anyway, with its variables unresolved: an environment
    that reuses a network got flow-log findings on a VPC it never creates, and
    one without jobs a critical "cannot be evaluated" on a job policy that does
    not exist. Terraform creates nothing there, so there is nothing to judge.
    The instance counts come from the root's own values
    (:func:`~batchplane.render.roots.absent_modules`), and only while its
    ``main.tf`` is batchplane's own, byte for byte, and no other file
    Terraform loads is there: a hand-edited ``count``, an override or
    ``*.auto.tfvars`` file, or any file the spec declares in the root
    (``declared``: ``policy.extra_files``) keeps every verdict.

    Verdicts waived by a reviewed module's inline skip are kept aside
    (``dormant_skips``): a plan scan cannot read comments and takes its skips
    from this scan (:func:`carry_inline_skips`), and local mode does create the
    module of an environment that reuses a real network (its stand-in).
    """
    try:
        own = (directory / "main.tf").read_text(encoding="utf-8") == static_main_tf(root)
    except OSError:
        own = False
    own = own and not declared and loads_only_rendered(directory, root)
    absent = absent_modules(root, values) if own else set()
    if not absent:
        return outcome

    def exists(address: str) -> bool:
        return not any(address.startswith((f"module.{m}.", f"module.{m}[")) for m in absent)

    return replace(
        outcome,
        findings=tuple(f for f in outcome.findings if exists(f.address)),
        dormant_skips=tuple(f for f in outcome.findings if not exists(f.address) and _skipped_inline(f)),
        passed=tuple(p for p in outcome.passed if exists(p.address)),
    )


def _skipped_inline(finding: Finding) -> bool:
    return finding.waived and (finding.waiver_reason or "").startswith(INLINE_SKIP)


_JOB_DOCUMENT = re.compile(r'^module\.job\["(?P<job>[^"]+)"\]\.(?:data\.)?aws_iam_policy_document\.job(?:\[0\])?$')
_NOTHING_TO_JUDGE = "(no statement could be evaluated)"


def without_grantless_documents(outcome: Outcome, values: dict[str, Any]) -> Outcome:
    """Drop CKV_BP_1's "no statement could be evaluated" on the job policy of a job that grants nothing.

    ``modules/job`` builds that document only when the job has statements
    (``count``), but Checkov evaluates the ``count`` of a module's data
    source as 1 and then sees a dynamic block over an empty list. Whether the
    list is empty is known exactly from the root's own values: the job's
    ``policy_statements`` in ``terraform.tfvars.json``. Any other verdict on
    the document (a wildcard, an unresolved list) stands.
    """
    jobs = values.get("jobs")
    if not isinstance(jobs, dict):
        return outcome

    def grantless(finding: Finding) -> bool:
        match = _JOB_DOCUMENT.match(finding.address)
        if finding.id != "CKV_BP_1" or match is None or _NOTHING_TO_JUDGE not in finding.message:
            return False
        job = jobs.get(match.group("job"))
        return isinstance(job, dict) and job.get("policy_statements") == []

    return replace(outcome, findings=tuple(f for f in outcome.findings if not grantless(f)))


def _scan_plan(spec: Spec, environment: str, plan: Path, runner_filter: Any) -> Outcome:
    from checkov.terraform.plan_runner import Runner as PlanRunner

    where = _fallback(spec, environment)
    try:
        document = json.loads(plan.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _broken(environment, where, f"plan {plan} cannot be read as JSON: {exc}")
    if not isinstance(document, dict) or "format_version" not in document or "planned_values" not in document:
        return _broken(environment, where, f"{plan} is not a terraform plan JSON (terraform show -json PLANFILE)")
    _clear_caches()
    command = ["checkov", "-f", str(plan), "--framework", "terraform_plan"]
    try:
        report = PlanRunner().run(root_folder=None, files=[str(plan)], runner_filter=runner_filter)
    except Exception as exc:
        raise ToolError("checkov", command, f"{type(exc).__name__}: {exc}") from None
    sourcemap = SourceMap.read(spec.root / "environments" / environment, where)
    return _outcome(
        environment, report, sourcemap, where, str(plan), spec.root / "modules", unknown=known_after_apply(document)
    )


def known_after_apply(document: dict[str, Any]) -> dict[str, set[str]]:
    """Per resource address: the top-level attributes a plan cannot know yet ("known after apply")."""
    unknown: dict[str, set[str]] = {}
    for change in document.get("resource_changes", []):
        after = (change.get("change") or {}).get("after_unknown") or {}
        if isinstance(after, dict):
            unknown[str(change.get("address", ""))] = {key for key, value in after.items() if value}
    return unknown


def _judged_on_unknowns(record: Any, unknown: dict[str, set[str]] | None) -> bool:
    """A plan verdict that rests only on values known after apply (e.g. a KMS key ARN of a new key).

    Checkov reads an unknown value as absent; such a verdict says nothing. The
    HCL scan of the same root judges the configuration that sets the value,
    and its verdict stands.
    """
    if unknown is None:
        return False
    keys = (record.check_result or {}).get("evaluated_keys") or []
    missing = unknown.get(record.resource, set())
    tops = {str(key).split("/")[0].split("[")[0] for key in keys}
    return bool(tops) and tops <= missing


def _broken(root: str, where: tuple[str, int | None], message: str) -> Outcome:
    finding = Finding(root, where[0], ROOT_SCAN_ID, "", "critical", where[1], message)
    return Outcome((finding,), (), dict(TITLES))


def _reports(report: Any) -> Iterable[Any]:
    return report if isinstance(report, list) else [report]


def _in_modules(record: Any, modules: Path) -> Path | None:
    """The file of a Checkov record when it lies inside the repository's ``modules/``."""
    path = Path(getattr(record, "file_abs_path", "") or "")
    try:
        path.resolve().relative_to(modules.resolve())
    except ValueError:
        return None
    return path


def _inline_skip(record: Any, modules: Path) -> str | None:
    """The reason of an inline skip that counts as a waiver, else None.

    Reviewed module code may skip a built-in check with a reason (it shows as
    waived): a file of ``modules/`` whose content is on the package's known
    list (:func:`batchplane.policy.integrity.reviewed`). A skip in a new or
    edited module file, in a generated root, in a plan, or of our own checks
    is ignored: those are waived in the spec or not at all.
    """
    if record.check_id.startswith(("CKV_BP_", "CKV2_BP_")):
        return None
    path = _in_modules(record, modules)
    if path is None or not reviewed(path, modules):
        return None
    reason = (record.check_result or {}).get("suppress_comment") or "no reason given"
    return f"{INLINE_SKIP}{reason}"


def _outcome(
    root: str,
    report: Any,
    sourcemap: SourceMap,
    where: tuple[str, int | None],
    label: str,
    modules: Path,
    *,
    unknown: dict[str, set[str]] | None = None,
) -> Outcome:
    findings: list[Finding] = []
    passed: list[Passed] = []
    titles = dict(TITLES)
    evaluated: set[str] = set()
    resources: set[str] = set()
    for single in _reports(report):
        for error in single.parsing_errors:
            findings.append(_root_finding(root, where, f"{label}: {error} does not parse"))
        resources |= {r.split(":", 1)[-1] for r in single.resources}
        for record in single.passed_checks:
            spec_path, _ = sourcemap.locate(record.resource)
            passed.append(Passed(root, record.check_id, record.resource, spec_path))
            titles[record.check_id] = record.check_name
            if record.check_id in _IAM_COVERAGE_CHECKS:
                evaluated.add(record.resource)
        failed = [r for r in single.failed_checks if not _judged_on_unknowns(r, unknown)]
        judged = [(False, r) for r in failed] + [(True, r) for r in single.skipped_checks]
        for skipped, record in judged:
            spec_path, line = sourcemap.locate(record.resource)
            titles[record.check_id] = record.check_name
            if record.check_id in _IAM_COVERAGE_CHECKS:
                evaluated.add(record.resource)
            details = f" ({'; '.join(record.details)})" if getattr(record, "details", None) else ""
            reason = _inline_skip(record, modules) if skipped else None
            unreviewed = _in_modules(record, modules) if skipped and reason is None else None
            if unreviewed is not None and not reviewed(unreviewed, modules):
                file = f"modules/{unreviewed.resolve().relative_to(modules.resolve()).as_posix()}"
                details += f" (inline skip ignored: {file} is not a reviewed module file, see {UNREVIEWED_SKIP_ID})"
                findings.append(unreviewed_skip(root, spec_path, line, record.resource, record.check_id, file))
            elif skipped and reason is None:
                details += " (inline skip ignored: waive it in the spec)"
            finding = Finding(
                environment=root,
                spec_path=spec_path,
                id=record.check_id,
                address=record.resource,
                severity=severity_of(record.check_id),
                line=line,
                message=f"{record.check_name}{details} [{_short(record.file_path)}]",
            )
            findings.append(finding.waive(reason) if reason else finding)
    if not resources and not findings:
        findings.append(_root_finding(root, where, f"{label}: Checkov found no resources to scan"))
    for address in sorted(resources):
        kind = address.split(".")[-2] if "." in address else ""
        if kind in _IAM_POLICY_TYPES and _INDEX.sub("", address) not in {_INDEX.sub("", a) for a in evaluated}:
            spec_path, line = sourcemap.locate(address)
            findings.append(
                Finding(root, spec_path, IAM_COVERAGE_ID, address, "critical", line, "IAM policy was not evaluated")
            )
    return Outcome(tuple(sorted(findings)), tuple(sorted(passed)), titles)


def _root_finding(root: str, where: tuple[str, int | None], message: str) -> Finding:
    return Finding(root, where[0], ROOT_SCAN_ID, "", "critical", where[1], message)


def _short(file_path: str) -> str:
    return file_path.lstrip("/").replace("../", "")
