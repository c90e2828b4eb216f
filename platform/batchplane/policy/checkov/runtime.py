"""Checkov imported, configured and loaded with batchplane's custom checks, one scan at a time.

Checkov keeps global state (registries, caches), so the scans of this process
take turns (:data:`SCANS`). Custom checks are loaded once per process and
proven registered: Checkov skips a check file that fails to import, silently.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from batchplane import layout
from batchplane.errors import ToolError
from batchplane.policy.checkov import patches
from batchplane.spec.loader import Spec

CHECKS_DIR = Path(layout.CHECKS_DIR)

SCANS = threading.Lock()
"""Checkov keeps global state: one scan at a time in this process."""

_loaded_checks: set[Path] = set()


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


def ready(spec: Spec) -> Any:
    """Checkov imported, configured and loaded with our checks; returns its RunnerFilter class."""
    prepare_environment()
    try:
        from checkov.runner_filter import RunnerFilter
    except ImportError as exc:
        raise ToolError("checkov", [], f"cannot import checkov: {exc} (pip install checkov)") from None
    load_custom_checks(_checks_dir(spec))
    patches.apply()
    return RunnerFilter
