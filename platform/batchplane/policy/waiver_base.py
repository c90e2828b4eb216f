"""The spec's waivers at a git revision, for ``check --base REF``.

A pull request that adds a waiver should say so in the gate's report; this
module reads what the waivers were at the base revision. Only git is asked
(an argument list, a timeout, never a shell), and only for the spec file.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from batchplane.errors import ToolError
from batchplane.spec.models import Waiver

GIT_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class BaseWaivers:
    """The waivers of the spec at ``ref`` (``note`` says why there are none, when that is not plain)."""

    ref: str
    waivers: tuple[Waiver, ...] = ()
    note: str | None = None


def read_base_waivers(spec_path: Path, ref: str) -> BaseWaivers:
    """The waivers of ``spec_path`` as committed at git ``ref``.

    The spec missing at ``ref`` means no waivers then (every waiver is new). A
    spec at ``ref`` that does not parse, or whose waivers do not validate,
    waived nothing then either: no waivers, with a ``note`` saying why. Raises
    :class:`ToolError` (exit 5) when git is missing, the spec is not in a git
    work tree, or ``ref`` names no commit.
    """
    if not ref or ref.startswith("-"):
        # Never let a value reach git as an option.
        raise ToolError("git", ["git", "rev-parse", ref], f"--base {ref!r} is not a git revision")
    directory = spec_path.resolve().parent
    top = Path(_git(directory, ["rev-parse", "--show-toplevel"], f"{directory} is not in a git work tree").strip())
    commit = _git(
        directory,
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        f"--base {ref}: no such commit here (in a shallow CI checkout, fetch it first)",
    ).strip()
    try:
        relative = spec_path.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        raise ToolError("git", ["git", "rev-parse", "--show-toplevel"], f"{spec_path} is outside {top}") from None
    kind = _run(top, ["cat-file", "-t", f"{commit}:{relative}"])
    if kind.returncode != 0 or kind.stdout.strip() != "blob":
        return BaseWaivers(ref, (), f"{relative} does not exist at {ref}")
    text = _git(top, ["cat-file", "blob", f"{commit}:{relative}"], f"cannot read {relative} at {ref}")
    return parse_waivers(text, ref)


def parse_waivers(text: str, ref: str) -> BaseWaivers:
    """The waivers in spec text; none, with a note, when the text or its waivers do not parse.

    Only ``policy.waivers`` is read: the rest of an old spec may be invalid
    today (a field since renamed) without changing which waivers it had.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return BaseWaivers(ref, (), f"the spec at {ref} is not valid YAML ({_first_line(str(exc))})")
    policy = document.get("policy") if isinstance(document, dict) else None
    raw = policy.get("waivers", []) if isinstance(policy, dict) else []
    if not isinstance(raw, list):
        return BaseWaivers(ref, (), f"policy.waivers at {ref} is not a list")
    try:
        return BaseWaivers(ref, tuple(Waiver.model_validate(item) for item in raw))
    except ValidationError as exc:
        return BaseWaivers(ref, (), f"the waivers at {ref} are invalid ({_first_line(str(exc))})")


def _git(directory: Path, args: Sequence[str], failure: str) -> str:
    result = _run(directory, args)
    if result.returncode != 0:
        raise ToolError("git", ["git", *args], f"{failure}\n{result.stderr.strip()}")
    return result.stdout


def _run(directory: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise ToolError("git", ["git", *args], "git is not installed: --base needs it")
    try:
        return subprocess.run(
            [git, "-C", str(directory), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolError("git", ["git", *args], f"no answer within {GIT_TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise ToolError("git", ["git", *args], f"cannot run git: {exc}") from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no detail"
