"""What Terraform loads from a directory, and what a configuration file holds (modules, programs).

Terraform reads more than Checkov does (``*_override.tf`` merged over the
rest, ``*.tf.json``, ``*.auto.tfvars``): these are its rules, and a parser
that reads ``.tf`` and ``.tf.json`` alike for what root integrity judges.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from batchplane import layout

_CLI_CONFIG = (".terraformrc", "terraform.rc")
META_KEYS = frozenset({"__start_line__", "__end_line__"})
"""Keys python-hcl2 adds to every block: positions, not configuration."""


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


def entries(directory: Path, relative: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``directory`` without following symlinks; ``.terraform`` is not entered."""
    with os.scandir(directory) as listing:
        for entry in sorted(listing, key=lambda e: e.name):
            path = f"{relative}{entry.name}"
            yield path, entry
            if entry.is_dir(follow_symlinks=False) and path != layout.TERRAFORM_WORK_DIR:
                yield from entries(Path(entry.path), f"{path}/")


def load_configuration(path: Path) -> dict[str, Any]:
    """A ``.tf`` (python-hcl2) or ``.tf.json`` file as a dict; raises ValueError when it does not parse."""
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document
    return parse_hcl(text)


def parse_hcl(text: str) -> dict[str, Any]:
    """HCL as python-hcl2 reads it (blocks as lists, ``__start_line__`` keys); ValueError when it does not parse."""
    from hcl2.api import loads  # arrives with Checkov (bc-python-hcl2)

    try:
        document = loads(text)
    except Exception as exc:  # lark raises many kinds; any of them means "does not parse"
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not isinstance(document, dict):
        raise ValueError("not a configuration")
    return document


def blocks(value: Any) -> list[dict[str, Any]]:
    """Blocks of one kind: python-hcl2 gives a list of {label: body}, JSON a dict or list of them."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _labelled(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in blocks(value):
        for label, body in block.items():
            if label in META_KEYS:
                continue
            for item in body if isinstance(body, list) else [body]:
                if isinstance(item, dict):
                    yield label, item


def _first(value: Any) -> Any:
    """python-hcl2 wraps attribute values in a one-item list; JSON does not."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def start_line(body: Mapping[str, Any]) -> int | None:
    """The line a block starts at, as python-hcl2 records it (None from JSON)."""
    line = body.get("__start_line__")
    if line is None and len(body) == 1:
        inner = next(iter(body.values()))
        line = inner.get("__start_line__") if isinstance(inner, dict) else None
    return line if isinstance(line, int) else None


def module_sources(document: Mapping[str, Any]) -> list[tuple[str, Any, int | None]]:
    """(name, source, line) of every ``module`` block of a parsed configuration file."""
    return [(name, _first(body.get("source")), start_line(body)) for name, body in _labelled(document.get("module"))]


def programs(document: Mapping[str, Any]) -> list[tuple[int | None, str]]:
    """Blocks that run a program on the machine that plans or applies: ``data "external"``, provisioners."""
    found = []
    for kind, named in _labelled(document.get("data")):
        if kind == "external":
            found.append((start_line(named), 'data "external"'))
    for kind, named in _labelled(document.get("resource")):
        for name, body in named.items():
            if isinstance(body, dict) and "provisioner" in body:
                found.append((start_line(body), f"a provisioner in {kind}.{name}"))
    return found
