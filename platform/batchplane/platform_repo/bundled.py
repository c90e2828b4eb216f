"""Where the installed batchplane keeps the trees it vendors into platform repositories.

A wheel carries them as package data under ``batchplane/_vendor/`` (copied there at build
time by the repository's ``setup.py``). A source checkout or an editable install has no
copy: then they are read where they are maintained, at the repository root
(``modules/``, ``policies/checks/``, ``.github/``).
"""

from __future__ import annotations

from pathlib import Path

from batchplane import layout
from batchplane.errors import BatchplaneError, ExitCode

PACKAGE_DIR = Path(__file__).resolve().parents[1]
VENDOR_DIR = PACKAGE_DIR / "_vendor"
SOURCE_ROOT = PACKAGE_DIR.parents[1]
"""The repository a source checkout runs from (``platform/batchplane`` -> the root)."""

GITHUB_DIR = ".github"
# repository-relative name -> its name under _vendor/ (a package folder does not start with a dot)
_PACKAGED_NAMES = {layout.MODULES_DIR: "modules", layout.CHECKS_DIR: "policies/checks", GITHUB_DIR: "github"}


class BundleMissingError(BatchplaneError):
    """The installation lacks a tree it should ship (a broken or partial install): exit 5."""

    exit_code = ExitCode.TOOL_FAILED


def bundled_dir(name: str) -> Path:
    """The installed copy of ``name`` (``modules``, ``policies/checks`` or ``.github``)."""
    packaged = VENDOR_DIR / _PACKAGED_NAMES[name]
    if packaged.is_dir():
        return packaged
    source = SOURCE_ROOT / name
    if (SOURCE_ROOT / "pyproject.toml").is_file() and source.is_dir():
        return source
    raise BundleMissingError(
        f"this batchplane installation ships no {name}/ (looked in {packaged} and {source}): reinstall batchplane"
    )
