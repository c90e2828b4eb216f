"""Where things live in a platform repository: the one owner of every repository path.

A platform repository is the folder that holds ``platform.yaml``. Everything batchplane
reads or writes there is named here, once, so that a newcomer (and a test) finds the
whole map in one file and no module spells ``"environments"`` or ``".batchplane/…"``
itself. Names are relative to the repository unless a function takes ``repo``.

::

    platform.yaml                    the spec (SPEC_FILENAME)
    images.lock.json                 pinned image digests per environment (LOCK_FILE), committed
    history.jsonl                    what was applied and promoted (HISTORY_FILE), committed
    job_images/<image>/              one folder per job image (IMAGES_DIR)
    modules/                         the Terraform modules the roots call (MODULES_DIR)
    policies/checks/                 batchplane's custom Checkov checks (CHECKS_DIR)
    environments/<root>/             rendered roots; ``shared`` is the registry root (ENVIRONMENTS_DIR)
      .batchplane/manifest.json      the files render owns in that root (MANIFEST)
      .batchplane/sourcemap.json     rendered address -> spec path (SOURCEMAP)
    .batchplane/                     local bookkeeping, never committed (STATE_DIR)
      plans/<aws|local>/<root>/      saved plans (PLANS_DIR)
      applied/<aws|local>/<root>.json  what was last applied (APPLIED_DIR)
      cache/check/                   `up`'s cache of passed checks (CHECK_CACHE_DIR)
      work/                          local working copies of the roots (WORK_DIR)
      local/                         the embedded AWS: emulator.json, registry.json, accounts (LOCAL_DIR)
"""

from __future__ import annotations

from pathlib import Path

SPEC_FILENAME = "platform.yaml"
LOCK_FILE = "images.lock.json"
HISTORY_FILE = "history.jsonl"
IMAGES_DIR = "job_images"
MODULES_DIR = "modules"
POLICIES_DIR = "policies"
CHECKS_DIR = f"{POLICIES_DIR}/checks"
ENVIRONMENTS_DIR = "environments"
SHARED_ROOT = "shared"

# Inside a rendered root.
ROOT_STATE_DIR = ".batchplane"
MANIFEST = f"{ROOT_STATE_DIR}/manifest.json"
SOURCEMAP = f"{ROOT_STATE_DIR}/sourcemap.json"
TERRAFORM_WORK_DIR = ".terraform"
TERRAFORM_LOCK_FILE = ".terraform.lock.hcl"

# The repository's own bookkeeping (git-ignored).
STATE_DIR = ".batchplane"
PLANS_DIR = f"{STATE_DIR}/plans"
APPLIED_DIR = f"{STATE_DIR}/applied"
CHECK_CACHE_DIR = f"{STATE_DIR}/cache/check"
WORK_DIR = f"{STATE_DIR}/work"
LOCAL_DIR = f"{STATE_DIR}/local"
LOCAL_HISTORY = f"{LOCAL_DIR}/{HISTORY_FILE}"


def root_dir(repo: Path, root: str) -> Path:
    """The committed rendered root ``environments/<root>``."""
    return repo / ENVIRONMENTS_DIR / root


def image_dir(repo: Path, image: str) -> Path:
    """The build context of a job image, ``job_images/<image>``."""
    return repo / IMAGES_DIR / image


def lock_path(repo: Path) -> Path:
    return repo / LOCK_FILE


def history_path(repo: Path, *, local: bool = False) -> Path:
    """The promotion evidence: committed for real AWS, under ``.batchplane/local`` for the embedded one."""
    return repo / (LOCAL_HISTORY if local else HISTORY_FILE)


def target_kind(local: bool) -> str:
    """The folder that keeps local and real-AWS bookkeeping apart."""
    return "local" if local else "aws"


def plan_dir(repo: Path, root: str, *, local: bool) -> Path:
    return repo / PLANS_DIR / target_kind(local) / root


def applied_record(repo: Path, root: str, *, local: bool) -> Path:
    return repo / APPLIED_DIR / target_kind(local) / f"{root}.json"


def local_dir(repo: Path) -> Path:
    """Where the embedded AWS keeps its process files and accounts."""
    return repo / LOCAL_DIR
