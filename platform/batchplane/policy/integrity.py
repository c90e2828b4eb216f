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
is listed in the package's ``known_modules.json`` (:func:`reviewed`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.policy.findings import ALL_ENVIRONMENTS, Finding, Outcome, Severity
from batchplane.spec.loader import Spec

UNDECLARED_ID = "BP-TF-003"
DIFFERS_ID = "BP-TF-004"
SYMLINK_ID = "BP-TF-005"
RESERVED_ID = "BP-TF-006"
MODULE_SOURCE_ID = "BP-TF-007"
UNREADABLE_ID = "BP-TF-008"
UNREVIEWED_SKIP_ID = "BP-TF-009"
TITLES = {
    UNDECLARED_ID: "A rendered root holds only files batchplane wrote or the spec declares",
    DIFFERS_ID: "Files batchplane renders are present and unchanged",
    SYMLINK_ID: "No symlink in a rendered root, none out of modules/",
    RESERVED_ID: "Overrides, values and Terraform settings come from render alone",
    MODULE_SOURCE_ID: "Module sources resolve inside the repository's modules/",
    UNREADABLE_ID: "Every file the gate must read parses",
    UNREVIEWED_SKIP_ID: "Inline skips count only in reviewed module files",
}

LOCK_FILE = layout.TERRAFORM_LOCK_FILE
KNOWN_MODULES = "known_modules.json"
REGENERATE = ".venv/bin/python -c 'from batchplane.policy.integrity import write_known_modules; write_known_modules()'"
_STATE_FILES = ("terraform.tfstate", "terraform.tfstate.backup", ".terraform.tfstate.lock.info")
_STATE_DIR = "terraform.tfstate.d"
_WORK_DIR = layout.TERRAFORM_WORK_DIR
_OWN_DIR = layout.ROOT_STATE_DIR
_CLI_CONFIG = (".terraformrc", "terraform.rc")
_LOCK_KEYS = {"version", "constraints", "hashes"}
_META = {"__start_line__", "__end_line__"}
# Top-level blocks a declared file may not hold: Terraform settings and the
# backend, provider configurations (accounts, endpoints, assumed roles), and
# programs run on the machine that plans.
_DECLARED_FORBIDDEN = {"terraform": "configures Terraform or its backend", "provider": "configures a provider"}
_FIX_RENDER = "run `batchplane render`"
_FIX_DECLARE = "delete it, or declare it in policy.extra_files with a reason"


# --- what Terraform loads -------------------------------------------------------


def terraform_ignores(name: str) -> bool:
    """Names Terraform skips in a configuration directory (hidden files, editor backups)."""
    return name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))


def terraform_loads(name: str) -> bool:
    """Whether `terraform plan` reads a file of this name in a root directory (configuration or values)."""
    if terraform_ignores(name):
        return False
    return name.endswith((".tf", ".tf.json", ".auto.tfvars", ".auto.tfvars.json")) or name in (
        "terraform.tfvars",
        "terraform.tfvars.json",
    )


def reserved(name: str) -> str | None:
    """Why only `render` may write a root file of this name, or None.

    Override files are merged over every other file (a module's ``source`` or
    ``count``, a provider's ``allowed_account_ids``, the backend), values
    files replace the rendered values, ``*.tf.json`` is JSON that Checkov
    reads differently from Terraform, and a CLI configuration redirects
    provider installation.
    """
    if name in _CLI_CONFIG:
        return "a Terraform CLI configuration"
    if terraform_ignores(name):
        return None
    stem = name.removesuffix(".json").removesuffix(".tf") if name.endswith((".tf", ".tf.json")) else None
    if stem is not None and (stem == "override" or stem.endswith("_override")):
        return "an override file (merged over every other file of the root)"
    if name.endswith(".tf.json"):
        return "a JSON configuration file"
    if name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars", ".auto.tfvars.json")):
        return "a values file (replaces the values render writes)"
    return None


# --- the check ------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where findings of one root are shown in the spec."""

    environment: str
    spec_path: str
    line: int | None


def check_roots(spec: Spec, environments: Sequence[str]) -> Outcome:
    """Integrity findings of the roots a full check scans, and of the repository's ``modules/``.

    The roots are those :func:`batchplane.policy.checkov.adapter.scan_roots`
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
        findings += _check_root(spec, root, expected)
    findings += check_modules(spec.root)
    return Outcome(tuple(sorted(findings)), (), dict(TITLES))


def _where(spec: Spec, root: str) -> _Where:
    from batchplane.render.roots import SHARED_ROOT

    loc: tuple[str, ...] = ("registry",) if root == SHARED_ROOT else ("environments", root)
    return _Where(root, ".".join(loc), spec.locations.line(loc))


def declared_files(spec: Spec, root: str) -> dict[str, int]:
    """Root-relative path -> index in ``policy.extra_files`` of the files the spec declares in ``root``."""
    prefix = f"environments/{root}/"
    return {
        extra.path.removeprefix(prefix): index
        for index, extra in enumerate(spec.platform.policy.extra_files)
        if extra.path.startswith(prefix)
    }


def _entries(directory: Path, relative: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``directory`` without following symlinks; ``.terraform`` is not entered."""
    with os.scandir(directory) as listing:
        for entry in sorted(listing, key=lambda e: e.name):
            path = f"{relative}{entry.name}"
            yield path, entry
            if entry.is_dir(follow_symlinks=False) and path != _WORK_DIR:
                yield from _entries(Path(entry.path), f"{path}/")


def _check_root(spec: Spec, root: str, expected: Mapping[str, bytes]) -> list[Finding]:
    directory = spec.root / "environments" / root
    if directory.is_symlink():
        return [_finding(_where(spec, root), SYMLINK_ID, f"environments/{root}", "the root itself is a symlink")]
    if not directory.is_dir():
        return []  # BP-TF-001: the root is missing
    where = _where(spec, root)
    declared = declared_files(spec, root)
    label = f"environments/{root}"
    findings: list[Finding] = []
    seen: set[str] = set()
    for path, entry in _entries(directory):
        address = f"{label}/{path}"
        if entry.is_symlink():
            findings.append(_finding(where, SYMLINK_ID, address, "is a symlink: Terraform and Checkov would follow it"))
            continue
        if entry.is_dir():
            continue
        seen.add(path)
        top = "/" not in path
        if path in expected:
            data = Path(entry.path).read_bytes()
            if data != expected[path]:
                note = " (declaring it in policy.extra_files does not exempt it)" if path in declared else ""
                findings.append(
                    _finding(where, DIFFERS_ID, address, f"differs from what render writes{note}: {_FIX_RENDER}")
                )
            continue
        if path == LOCK_FILE:
            findings += _check_lock(where, address, Path(entry.path), expected)
            continue
        if path.startswith((f"{_WORK_DIR}/", f"{_STATE_DIR}/")) or (top and path in _STATE_FILES):
            continue
        why = reserved(path) if top else None
        if path in declared:
            extra = _declared_where(spec, declared[path], root)
            if why is not None or path.startswith(f"{_OWN_DIR}/"):
                what = why or "inside batchplane's own directory"
                findings.append(
                    _finding(extra, RESERVED_ID, address, f"is {what}: it cannot be declared in policy.extra_files")
                )
            elif top and terraform_loads(path):
                findings += _check_declared(extra, address, Path(entry.path), directory, spec.root / "modules")
            continue
        if why is not None:
            findings.append(_finding(where, RESERVED_ID, address, f"is {why}, not written by render: delete it"))
        else:
            findings.append(
                _finding(where, UNDECLARED_ID, address, f"was not written by render ({_FIX_RENDER}): {_FIX_DECLARE}")
            )
        if top and terraform_loads(path):
            findings += _sources_of(where, address, Path(entry.path), directory, spec.root / "modules")
    for path in sorted(set(expected) - seen):
        # A file behind a symlink (reported already) is not missing, just not batchplane's.
        if not _behind_link(directory, path):
            findings.append(_finding(where, DIFFERS_ID, f"{label}/{path}", f"is missing: {_FIX_RENDER}"))
    if (directory / _WORK_DIR).is_dir() and not (directory / _WORK_DIR).is_symlink():
        for path in _tracked(spec.root, f"{label}/{_WORK_DIR}"):
            findings.append(
                _finding(
                    where,
                    UNDECLARED_ID,
                    path,
                    "is committed: .terraform/ is Terraform's working directory (providers, module manifest); "
                    "remove it from git",
                )
            )
    return findings


def _behind_link(directory: Path, path: str) -> bool:
    parts = path.split("/")
    return any((directory / "/".join(parts[: i + 1])).is_symlink() for i in range(len(parts)))


def _declared_where(spec: Spec, index: int, root: str) -> _Where:
    loc = ("policy", "extra_files", index)
    return _Where(root, f"policy.extra_files[{index}]", spec.locations.line(loc))


def _finding(where: _Where, rule: str, address: str, message: str, severity: Severity = "critical") -> Finding:
    return Finding(where.environment, where.spec_path, rule, address, severity, where.line, f"{address} {message}")


def _tracked(repo: Path, path: str) -> list[str]:
    """Files under ``path`` that git tracks; none when this is not a git work tree (or git is absent)."""
    git = shutil.which("git")
    if git is None:
        return []
    try:
        done = subprocess.run(
            [git, "ls-files", "-z", "--", path], cwd=repo, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    return sorted(p for p in done.stdout.decode("utf-8", "replace").split("\0") if p)


# --- the lock file --------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _required_providers(versions_tf: bytes) -> frozenset[str]:
    """Provider addresses (registry.terraform.io/ns/name) a rendered versions.tf requires."""
    document = _parse_hcl(versions_tf.decode("utf-8"))
    addresses: set[str] = set()
    for block in document.get("terraform", []):
        for required in block.get("required_providers", []):
            for entries in required.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    source = entry.get("source") if isinstance(entry, dict) else None
                    if isinstance(source, str):
                        addresses.add(source if source.count("/") == 2 else f"registry.terraform.io/{source}")
    return frozenset(addresses)


def _check_lock(where: _Where, address: str, path: Path, expected: Mapping[str, bytes]) -> list[Finding]:
    """The lock file may only pin the providers the rendered root requires."""
    allowed = _required_providers(expected.get("versions.tf", b""))
    try:
        document = _parse_hcl(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [_finding(where, UNREADABLE_ID, address, f"does not parse: {_reason(exc)}")]
    problems: list[str] = []
    for key in sorted(set(document) - {"provider"}):
        problems.append(f"holds a {key!r} block")
    for block in document.get("provider", []):
        for name, body in block.items():
            if name not in allowed:
                problems.append(f"pins provider {name!r}, which the rendered root does not require")
            extra = sorted(set(body) - _LOCK_KEYS - _META) if isinstance(body, dict) else ["(not a block)"]
            if extra:
                problems.append(f"provider {name!r} sets {', '.join(extra)}")
    return [
        _finding(where, UNDECLARED_ID, address, f"{p}: it may only hold provider pins (run `terraform init`)")
        for p in problems
    ]


# --- declared files and module sources ------------------------------------------


def _check_declared(where: _Where, address: str, path: Path, directory: Path, modules: Path) -> list[Finding]:
    """A declared configuration file: parsed, no Terraform/provider settings or programs, local modules only."""
    try:
        document = load_configuration(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [_finding(where, UNREADABLE_ID, address, f"does not parse: {_reason(exc)}")]
    findings = [
        _finding(where, RESERVED_ID, _at(address, _line(block)), f"{why}: a declared file may not")
        for kind, why in _DECLARED_FORBIDDEN.items()
        for block in _blocks(document.get(kind))
    ]
    for line, what in _programs(document):
        findings.append(
            _finding(where, RESERVED_ID, _at(address, line), f"{what}: a declared file may not run programs")
        )
    return findings + _module_findings(where, address, document, directory, modules)


def _sources_of(where: _Where, address: str, path: Path, directory: Path, modules: Path) -> list[Finding]:
    try:
        document = load_configuration(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [_finding(where, UNREADABLE_ID, address, f"does not parse: {_reason(exc)}")]
    return _module_findings(where, address, document, directory, modules)


def _module_findings(
    where: _Where, address: str, document: Mapping[str, Any], directory: Path, modules: Path
) -> list[Finding]:
    findings = []
    for name, source, line in module_sources(document):
        problem = source_problem(source, directory, modules)
        if problem is not None:
            findings.append(_finding(where, MODULE_SOURCE_ID, _at(address, line), f"module {name!r}: {problem}"))
    return findings


def load_configuration(path: Path) -> dict[str, Any]:
    """A ``.tf`` (python-hcl2) or ``.tf.json`` file as a dict; raises ValueError when it does not parse."""
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document
    return _parse_hcl(text)


def _parse_hcl(text: str) -> dict[str, Any]:
    from hcl2.api import loads  # arrives with Checkov (bc-python-hcl2)

    try:
        document = loads(text)
    except Exception as exc:  # lark raises many kinds; any of them means "does not parse"
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not isinstance(document, dict):
        raise ValueError("not a configuration")
    return document


def _blocks(value: Any) -> list[dict[str, Any]]:
    """Blocks of one kind: python-hcl2 gives a list of {label: body}, JSON a dict or list of them."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _labelled(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in _blocks(value):
        for label, body in block.items():
            if label in _META:
                continue
            for item in body if isinstance(body, list) else [body]:
                if isinstance(item, dict):
                    yield label, item


def _first(value: Any) -> Any:
    """python-hcl2 wraps attribute values in a one-item list; JSON does not."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _line(body: Mapping[str, Any]) -> int | None:
    line = body.get("__start_line__")
    if line is None and len(body) == 1:
        inner = next(iter(body.values()))
        line = inner.get("__start_line__") if isinstance(inner, dict) else None
    return line if isinstance(line, int) else None


def _at(address: str, line: int | None) -> str:
    return f"{address}:{line}" if line else address


def module_sources(document: Mapping[str, Any]) -> list[tuple[str, Any, int | None]]:
    """(name, source, line) of every ``module`` block of a parsed configuration file."""
    return [(name, _first(body.get("source")), _line(body)) for name, body in _labelled(document.get("module"))]


def _programs(document: Mapping[str, Any]) -> list[tuple[int | None, str]]:
    """Blocks that run a program on the machine that plans or applies: ``data "external"``, provisioners."""
    found = []
    for kind, named in _labelled(document.get("data")):
        if kind == "external":
            found.append((_line(named), 'data "external"'))
    for kind, named in _labelled(document.get("resource")):
        for name, body in named.items():
            if isinstance(body, dict) and "provisioner" in body:
                found.append((_line(body), f"a provisioner in {kind}.{name}"))
    return found


def source_problem(source: Any, directory: Path, modules: Path) -> str | None:
    """Why a module ``source`` written in ``directory`` does not stay inside ``modules``, or None.

    Terraform treats only ``./`` and ``../`` paths as local; everything else
    (registry addresses, ``git::``, ``github.com/...``, ``s3::``, URLs, with
    or without ``?ref=``) is downloaded.
    """
    if not isinstance(source, str):
        return "source is not a literal string"
    if "${" in source:
        return f"source {source!r} is not a literal path"
    if not source.startswith(("./", "../")):
        return f"source {source!r} is not a local path: only the repository's modules/ may be called"
    target = (directory / source).resolve()
    base = modules.resolve()
    if target == base or not target.is_relative_to(base):
        return f"source {source!r} resolves to {target}, outside the repository's modules/"
    if not target.is_dir():
        return f"source {source!r} is not a directory of modules/"
    return None


# --- modules/ ---------------------------------------------------------------------


def _module_files(modules: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Configuration files and symlinks under ``modules/`` (relative path, entry); no ``.terraform``."""
    if not modules.is_dir():
        return
    for path, entry in _entries(modules):
        if entry.name == _WORK_DIR or "/.terraform/" in f"/{path}":
            continue
        if entry.is_symlink() or (entry.is_file() and entry.name.endswith((".tf", ".tf.json"))):
            yield path, entry


def file_digest(data: bytes) -> str:
    """sha256 of a file's content, line endings normalised (a CRLF checkout is the same review)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def module_digests(modules: Path) -> dict[str, str]:
    """modules/-relative path -> digest of every ``.tf``/``.tf.json`` file (what the known list holds)."""
    return {
        path: file_digest(Path(entry.path).read_bytes())
        for path, entry in _module_files(modules)
        if not entry.is_symlink()
    }


def known_modules_path() -> Path:
    """The reviewed module digests shipped inside the package."""
    return Path(__file__).with_name(KNOWN_MODULES)


@functools.lru_cache(maxsize=1)
def known_modules() -> Mapping[str, str]:
    """The reviewed module files: modules/-relative path -> digest (empty when the list is unreadable)."""
    try:
        document = json.loads(known_modules_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = document.get("files") if isinstance(document, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_known_modules(modules: Path | None = None, target: Path | None = None) -> Path:
    """Regenerate the known list from a reviewed ``modules/`` (default: this repository's)."""
    source = modules or Path(__file__).resolve().parents[3] / "modules"
    destination = target or known_modules_path()
    document = {
        "about": "sha256 of every reviewed file of modules/ (CRLF read as LF): inline #checkov:skip "
        "comments count only in these files. Regenerate after a reviewed module change: " + REGENERATE,
        "files": dict(sorted(module_digests(source).items())),
    }
    destination.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    known_modules.cache_clear()
    return destination


def reviewed(path: Path, modules: Path) -> bool:
    """Whether ``path`` is a file of ``modules`` whose content is on the known list (its skips count)."""
    if path.is_symlink():
        return False
    try:
        relative = path.resolve().relative_to(modules.resolve()).as_posix()
        digest = file_digest(path.read_bytes())
    except (OSError, ValueError):
        return False
    return known_modules().get(relative) == digest


def check_modules(repo: Path, known: Mapping[str, str] | None = None) -> list[Finding]:
    """Module sources of every unreviewed file of ``modules/``, and symlinks leading out of it.

    Files on the known list were checked when the list was made (a unit test
    holds every one of them to the same rule), so only new or edited files
    are parsed here: that keeps a full check fast.
    """
    modules = repo / "modules"
    known = known_modules() if known is None else known
    where = _Where(ALL_ENVIRONMENTS, "modules", None)
    findings: list[Finding] = []
    for path, entry in _module_files(modules):
        address = f"modules/{path}"
        file = Path(entry.path)
        if entry.is_symlink():
            target = file.resolve()
            if not target.is_relative_to(modules.resolve()):
                findings.append(_finding(where, SYMLINK_ID, address, f"is a symlink to {target}, outside modules/"))
            continue
        data = file.read_bytes()
        if known.get(path) == file_digest(data):
            continue
        try:
            document = load_configuration(file)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            findings.append(_finding(where, UNREADABLE_ID, address, f"does not parse: {_reason(exc)}"))
            continue
        findings += _module_findings(where, address, document, file.parent, modules)
    return findings


def unreviewed_skip(environment: str, spec_path: str, line: int | None, address: str, check: str, file: str) -> Finding:
    """BP-TF-009: an inline skip in a module file batchplane does not know, reported and not honoured."""
    return Finding(
        environment,
        spec_path,
        UNREVIEWED_SKIP_ID,
        address,
        "high",
        line,
        f"inline skip of {check} in {file} is not honoured: that module file is not on batchplane's reviewed "
        f"list (new or edited); the finding stands until the module is reviewed and the list regenerated",
    )


# --- the absent-module shortcut ---------------------------------------------------


def rendered_names(root: str) -> frozenset[str]:
    """Names of the files Terraform loads that `render` writes into ``root`` (the same for every spec)."""
    from batchplane.render.roots import SHARED_ROOT, STATIC_ENV_FILES, STATIC_SHARED_FILES

    static = (*STATIC_SHARED_FILES, "providers.tf", "versions.tf") if root == SHARED_ROOT else STATIC_ENV_FILES
    return frozenset((*static, "backend.tf", "terraform.tfvars.json"))


def loads_only_rendered(directory: Path, root: str) -> bool:
    """Whether every file Terraform loads in ``directory`` is one `render` writes (content not compared)."""
    try:
        names = [e.name for e in os.scandir(directory) if not e.is_dir()]
    except OSError:
        return False
    own = rendered_names(root)
    return all(name in own for name in names if terraform_loads(name) or reserved(name))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
