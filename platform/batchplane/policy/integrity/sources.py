"""Module sources resolve inside the repository's ``modules/``; declared files configure nothing else.

Terraform downloads any module source that is not a local path, and a
declared file (``policy.extra_files``) is scanned like the rest but must not
configure Terraform, providers or the backend, nor run programs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from batchplane.policy.findings import Finding
from batchplane.policy.integrity.configuration import blocks, load_configuration, module_sources, programs, start_line
from batchplane.policy.integrity.findings import MODULE_SOURCE_ID, RESERVED_ID, UNREADABLE_ID, Where, finding, reason

# Top-level blocks a declared file may not hold: Terraform settings and the
# backend, provider configurations (accounts, endpoints, assumed roles), and
# programs run on the machine that plans.
_DECLARED_FORBIDDEN = {"terraform": "configures Terraform or its backend", "provider": "configures a provider"}


def check_declared(where: Where, address: str, path: Path, directory: Path, modules: Path) -> list[Finding]:
    """A declared configuration file: parsed, no Terraform/provider settings or programs, local modules only."""
    try:
        document = load_configuration(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [finding(where, UNREADABLE_ID, address, f"does not parse: {reason(exc)}")]
    findings = [
        finding(where, RESERVED_ID, _at(address, start_line(block)), f"{why}: a declared file may not")
        for kind, why in _DECLARED_FORBIDDEN.items()
        for block in blocks(document.get(kind))
    ]
    for line, what in programs(document):
        findings.append(
            finding(where, RESERVED_ID, _at(address, line), f"{what}: a declared file may not run programs")
        )
    return findings + module_findings(where, address, document, directory, modules)


def check_sources(where: Where, address: str, path: Path, directory: Path, modules: Path) -> list[Finding]:
    """BP-TF-007 for the module sources of a configuration file; BP-TF-008 when it does not parse."""
    try:
        document = load_configuration(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [finding(where, UNREADABLE_ID, address, f"does not parse: {reason(exc)}")]
    return module_findings(where, address, document, directory, modules)


def module_findings(
    where: Where, address: str, document: Mapping[str, Any], directory: Path, modules: Path
) -> list[Finding]:
    """BP-TF-007 for each module block of a parsed file (in ``directory``) whose source leaves ``modules``."""
    findings = []
    for name, source, line in module_sources(document):
        problem = source_problem(source, directory, modules)
        if problem is not None:
            findings.append(finding(where, MODULE_SOURCE_ID, _at(address, line), f"module {name!r}: {problem}"))
    return findings


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


def _at(address: str, line: int | None) -> str:
    return f"{address}:{line}" if line else address
