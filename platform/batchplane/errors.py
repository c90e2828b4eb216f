"""The error tree of batchplane and the one exit-code table every command uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Exit codes, as documented in the README."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    SPEC_INVALID = 3
    POLICY_FAILED = 4
    TOOL_FAILED = 5
    CHANGES_PENDING = 6


class BatchplaneError(Exception):
    """A known failure: printed without a traceback, mapped to an exit code."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    # Set by a command that already put its own JSON document, error included, on stdout
    # (`validate --json`, `check --format json`): the error document is not printed twice.
    json_reported: bool = False


@dataclass(frozen=True, order=True)
class SpecProblem:
    """One problem in a spec file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    path: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(BatchplaneError):
    """The spec is invalid; carries every problem found, not just the first."""

    exit_code = ExitCode.SPEC_INVALID

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecNotFoundError(BatchplaneError):
    """No platform.yaml where one was expected."""

    exit_code = ExitCode.SPEC_INVALID

    def __init__(self, start: Path) -> None:
        super().__init__(f"no platform.yaml in {start} or any parent directory (use --spec PATH to name one)")


class ToolError(BatchplaneError):
    """An external tool (terraform, docker, checkov, a registry) failed."""

    exit_code = ExitCode.TOOL_FAILED

    def __init__(self, tool: str, command: Sequence[str], detail: str) -> None:
        self.tool = tool
        self.command = list(command)
        self.detail = detail
        lines = detail.strip().splitlines() or ["failed"]
        # The cause first, then the tail of the tool's own message, then what was run.
        message = f"{tool}: {lines[0]}"
        if len(lines) > 1:
            message += "\n" + "\n".join(lines[1:][-30:])
        if self.command:
            message += f"\n(command: {' '.join(self.command)})"
        super().__init__(message)


class ChangesPendingError(BatchplaneError):
    """Something differs from what it should be (render --check, drift)."""

    exit_code = ExitCode.CHANGES_PENDING


class StateFileError(BatchplaneError):
    """A state file batchplane keeps (lock, history, local-AWS state) is corrupt.

    Exit 3, like an invalid spec: the file is input the user can read and fix,
    so the message names it, the line, and what was expected there.
    """

    exit_code = ExitCode.SPEC_INVALID

    def __init__(self, file: Path, line: int | None, expected: str) -> None:
        self.file = str(file)
        self.line = line
        self.expected = expected
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {expected}")


class FileSystemError(BatchplaneError):
    """The file system refused an operation (permission, read-only, a folder in the way): exit 5."""

    exit_code = ExitCode.TOOL_FAILED

    def __init__(self, path: Path, operation: str, cause: OSError) -> None:
        self.path = str(path)
        self.operation = operation
        self.cause = cause.strerror or str(cause)
        super().__init__(f"cannot {operation} {path}: {self.cause}")


class RegistryError(ToolError):
    """A registry could not be asked (unreachable, refused credentials, TLS): not an answer about a digest."""

    def __init__(self, endpoint: str, cause: str) -> None:
        self.endpoint = endpoint
        super().__init__("registry", [], f"{endpoint}: {cause}")


class LocalAWSError(ToolError):
    """The local AWS could not be asked (unreachable, or it refused the request): exit 5 naming the endpoint."""

    def __init__(self, endpoint: str, cause: str) -> None:
        self.endpoint = endpoint
        super().__init__("local AWS", [], f"{endpoint}: {cause}")
