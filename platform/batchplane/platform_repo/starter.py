"""``batchplane init``: a new platform repository that validates, renders, passes the gate and runs.

Everything is written into a temporary sibling folder first and moved into place in one
rename at the end, so a refused or failed ``init`` leaves nothing behind; an existing
folder is accepted only when it is empty, and nothing is ever overwritten. The starter job
``hello`` is added by the same code as ``batchplane jobs new`` (:mod:`batchplane.scaffold`),
so it gets every file a new job gets.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from batchplane import __version__, layout
from batchplane.errors import BatchplaneError, ExitCode, FileSystemError, SpecError
from batchplane.platform_repo.bundled import GITHUB_DIR, bundled_dir
from batchplane.platform_repo.vendor import VENDORED_TREES, vendor
from batchplane.spec.schema import spec_json_schema

ENVIRONMENTS = ("dev", "prod")
DEFAULT_ACCOUNTS = {"dev": "111111111111", "prod": "222222222222"}
STARTER_JOB = "hello"
SCHEMA_FILE = "platform.schema.json"
# The pull-request workflows and what they use, from batchplane's own .github/.
STARTER_GITHUB_FILES = (
    "workflows/policy.yml",
    "actions/setup-batchplane/action.yml",
    "scripts/changed-roots.sh",
)
# setup-batchplane installs the checkout (`pip install .`) in batchplane's repository; a
# platform repository installs the released batchplane it was made with.
_SOURCE_INSTALL = ("run: python -m pip install .", "cache-dependency-path: pyproject.toml")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("batchplane.platform_repo", "templates"),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)
# template -> repository path
_STARTER_FILES = {
    "platform.yaml.j2": layout.SPEC_FILENAME,
    "README.md.j2": "README.md",
    "gitignore.j2": ".gitignore",
    "pre-commit-config.yaml.j2": ".pre-commit-config.yaml",
}


class InitRefusedError(BatchplaneError):
    """``init`` was pointed at a folder it must not write into, or given unusable options: exit 2."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Initialized:
    """What ``init`` wrote."""

    root: Path
    files: tuple[str, ...]
    """Repository-relative, sorted."""


def parse_accounts(text: str | None) -> dict[str, str]:
    """``dev=111111111111,prod=222222222222`` -> the account of each starter environment."""
    accounts = dict(DEFAULT_ACCOUNTS)
    given: set[str] = set()
    for item in (text or "").split(","):
        if not item.strip():
            continue
        env, sep, account = (part.strip() for part in item.partition("="))
        if not sep or env not in ENVIRONMENTS:
            raise InitRefusedError(f"--accounts takes ENV=ACCOUNT_ID for {' and '.join(ENVIRONMENTS)}, got {item!r}")
        if env in given:  # two accounts for one environment: which one was meant is unknown
            raise InitRefusedError(f"--accounts names {env} twice: give one account per environment")
        given.add(env)
        accounts[env] = account
    return accounts


def init_repository(
    target: Path, *, name: str | None = None, region: str = "eu-west-1", accounts: Mapping[str, str]
) -> Initialized:
    """Write a new platform repository at ``target`` (absent or empty)."""
    target = target.absolute()
    _refuse_unless_empty(target)
    project = name or target.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.{os.urandom(6).hex()}.init"
        staging.mkdir()  # with the umask's permissions, like any folder the user creates
    except OSError as exc:
        raise FileSystemError(target.parent, "create a folder in", exc) from None
    try:
        try:
            _write_starter(staging, project, region, accounts)
        except SpecError as exc:  # the options made the starter spec invalid
            problems = "\n".join(f"  {p.path}: {p.message}" for p in exc.problems)
            raise InitRefusedError(
                f"these options make an invalid platform.yaml, nothing written:\n{problems}\n"
                "choose another --name (default: the folder's name), --region or --accounts"
            ) from None
        files = _listing(staging)
        _refuse_unless_empty(target)  # again: something may have appeared meanwhile
        try:
            os.replace(staging, target)  # an empty folder is replaced, atomically; a non-empty one refuses
        except OSError as exc:
            raise FileSystemError(target, "create", exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Initialized(target, files)


def _refuse_unless_empty(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InitRefusedError(f"{target} exists and is not a folder: nothing written")
    if target.is_dir() and any(target.iterdir()):
        raise InitRefusedError(f"{target} is not empty: `batchplane init` only writes into a new or empty folder")


def _write_starter(root: Path, name: str, region: str, accounts: Mapping[str, str]) -> None:
    from batchplane.scaffold.new_job import new_job  # renders and gates: loaded only when used

    values = {"name": name, "region": region, "accounts": accounts, "version": __version__}
    for template, path in _STARTER_FILES.items():
        (root / path).write_text(_TEMPLATES.get_template(template).render(values), encoding="utf-8")
    (root / SCHEMA_FILE).write_text(json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for tree in VENDORED_TREES:
        vendor(root, tree)
    _copy_github(root)
    (root / layout.IMAGES_DIR).mkdir()
    new_job(root / layout.SPEC_FILENAME, STARTER_JOB)


def _copy_github(root: Path) -> None:
    source = bundled_dir(GITHUB_DIR)
    for relative in STARTER_GITHUB_FILES:
        destination = root / GITHUB_DIR / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = (source / relative).read_text(encoding="utf-8")
        if relative.startswith("actions/setup-batchplane/"):
            text = _released_install(text)
        destination.write_text(text, encoding="utf-8")
        shutil.copymode(source / relative, destination)


def _released_install(action: str) -> str:
    install, cache_key = _SOURCE_INSTALL
    if install not in action or cache_key not in action:
        raise BatchplaneError(f"setup-batchplane no longer says {install!r} and {cache_key!r}: update init")
    action = action.replace(install, f"run: python -m pip install 'batchplane=={__version__}'")
    return action.replace(cache_key, f"cache-dependency-path: {GITHUB_DIR}/actions/setup-batchplane/action.yml")


def _listing(root: Path) -> tuple[str, ...]:
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()))
