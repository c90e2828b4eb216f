"""The ``batchplane`` executable: the pre-commit fast path, then the full command line.

``batchplane check --spec-only`` is a pre-commit hook: it runs on every commit
that touches the spec, so its start-up is most of what a user waits for. This
module answers it without importing Typer, Click, the other commands or, when
there is no table to print, Rich: about 0.3 s less on a small machine, with the
same report bytes and exit codes (both paths share :mod:`batchplane.policy.emit`
and :func:`batchplane.console.explain`).

The fast path takes only the plain forms of ``check``'s own options
(``--spec-only``, ``--spec``, ``--env``/``-e``, ``--format``/``-f``,
``--output``/``-o``, ``--fail-on``, ``--base``) with valid values; ``--base``
asks git, not Typer, so it stays on the fast path. Anything else (``--help``,
``--plan``, a global option, an unknown environment, a value Click would reject)
goes to :mod:`batchplane.cli` unchanged, which parses and answers it as always.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from batchplane.errors import BatchplaneError, ExitCode
from batchplane.policy.findings import SEVERITIES, Severity
from batchplane.policy.reports import FORMATS

_OPTIONS = {
    "--spec": "spec",
    "--env": "env",
    "-e": "env",
    "--format": "format",
    "-f": "format",
    "--output": "output",
    "-o": "output",
    "--fail-on": "fail-on",
    "--base": "base",
}

_FLAGS = ("--show-waived",)


@dataclass
class SpecOnlyCheck:
    """``check --spec-only`` as the fast path understood it."""

    spec: Path | None = None
    envs: list[str] = field(default_factory=list)
    fmt: str = "text"
    output: Path | None = None
    fail_on: Severity = "low"
    base: str | None = None
    show_waived: bool = False


def parse_spec_only_check(argv: list[str]) -> SpecOnlyCheck | None:
    """The options of a ``check --spec-only`` command line; ``None`` for anything else."""
    if not argv or argv[0] != "check" or "--spec-only" not in argv[1:]:
        return None
    found = SpecOnlyCheck()
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--spec-only":
            continue
        if arg in _FLAGS:
            found.show_waived = True
            continue
        if arg.startswith("--") and "=" in arg:
            flag, value = arg.split("=", 1)
        elif arg[:2] in _OPTIONS and len(arg) > 2 and not arg.startswith("--"):
            flag, value = arg[:2], arg[2:]
        else:
            flag, value = arg, next(rest, "")
        name = _OPTIONS.get(flag)
        if name is None or not value or value.startswith("-"):
            return None
        if name == "spec":
            found.spec = Path(value)
        elif name == "env":
            found.envs.append(value)
        elif name == "output":
            found.output = Path(value)
        elif name == "format" and value in FORMATS:
            found.fmt = value
        elif name == "fail-on" and value in SEVERITIES:
            found.fail_on = SEVERITIES[SEVERITIES.index(value)]
        elif name == "base":
            found.base = value
        else:
            return None
    return found


def run_spec_only_check(options: SpecOnlyCheck) -> int | None:
    """Run the check and return its exit code; ``None`` hands the command to the full CLI."""
    from batchplane.policy.emit import Destination, emit_and_enforce
    from batchplane.policy.gate import Request, run_check
    from batchplane.spec import find_spec, load_spec

    spec = load_spec(options.spec if options.spec is not None else find_spec(Path.cwd()))
    if not set(options.envs) <= set(spec.environments):
        return None  # the full CLI words the usage error
    environments = list(dict.fromkeys(options.envs)) or spec.environments
    outcome = run_check(spec, Request(environments, spec_only=True, base=options.base))
    where = Destination(options.fmt, options.output, options.show_waived)
    emit_and_enforce(outcome, where, spec.path, options.fail_on)
    return int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    # batchplane is an application, not a library: third-party pydantic plugins have no business
    # inside it, and looking for them reads the metadata of every installed package (~60 ms on
    # every command). An explicit PYDANTIC_DISABLE_PLUGINS still wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    options = parse_spec_only_check(sys.argv[1:])
    if options is not None:
        code = _guarded(options)
        if code is not None:
            sys.exit(code)
    from batchplane.cli.app import main as full_cli

    full_cli()


def _guarded(options: SpecOnlyCheck) -> int | None:
    """The fast path with the full CLI's error handling: known failures, a closed pipe, bugs."""
    as_json = options.fmt == "json"  # the same error document as the full CLI's (see console.explain)
    try:
        return run_spec_only_check(options)
    except BatchplaneError as exc:
        from batchplane import console

        return console.explain(exc, as_json=as_json)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return int(ExitCode.OK)
    except Exception as exc:
        from batchplane import console

        if os.environ.get("BATCHPLANE_DEBUG"):
            import traceback

            traceback.print_exc()
        return console.unexpected(exc, as_json=as_json)
