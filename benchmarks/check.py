"""`batchplane check` against one bare Checkov CLI run.

Prints: the time of `check --spec-only` on the example (target < 0.5 s), in
process and as a whole command (interpreter start-up and imports included), the
time of a full `check` over all four rendered roots (shared, dev, test, prod:
spec rules + Checkov in one process), the time of one bare
`checkov -d environments/dev --framework terraform` run, and the ratio of the
two (target <= 1.5). Every figure is a whole command, start-up included. Run:

    .venv/bin/python benchmarks/check.py [REPEATS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


# What any command with a pydantic model costs on this machine before it does anything.
PYDANTIC_FLOOR = "from pydantic import BaseModel\nclass Probe(BaseModel):\n    a: int"


def timed(command: list[str], expect: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in expect:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return elapsed


def batchplane(*args: str) -> list[str]:
    """The installed executable, as a pre-commit hook or CI runs it."""
    return [str(BIN / "batchplane"), *args]


def median(command: list[str], repeats: int, expect: tuple[int, ...] = (0,)) -> float:
    return statistics.median(timed(command, expect) for _ in range(repeats))


def spec_only_in_process(repeats: int) -> float:
    """Load, rules, waivers and the JSON report, imports done: what the command itself costs."""
    from batchplane.policy import report
    from batchplane.policy.gate import Request, run_check
    from batchplane.spec import load_spec

    def once() -> float:
        start = time.perf_counter()
        spec = load_spec(REPO / "platform.yaml")
        report.render(run_check(spec, Request(spec.environments, spec_only=True)), "json", "platform.yaml")
        return time.perf_counter() - start

    once()
    return statistics.median(once() for _ in range(repeats))


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    in_process = spec_only_in_process(max(repeats, 5))
    spec_only = median(batchplane("check", "--spec-only", "--format", "json"), max(repeats, 11))
    spec_only_text = median(batchplane("check", "--spec-only"), max(repeats, 11))
    floor = median([sys.executable, "-c", PYDANTIC_FLOOR], max(repeats, 11))
    full = median(batchplane("check", "--format", "json"), repeats)
    bare = median(
        [str(BIN / "checkov"), "-d", "environments/dev", "--framework", "terraform", "--quiet", "--compact"],
        repeats,
        expect=(0, 1),  # 1: it reports the built-in findings our spec waives
    )
    print(f"check --spec-only, in process:             {in_process:6.2f} s   (target < 0.5 s)")
    print(f"check --spec-only, whole command (json):   {spec_only:6.2f} s   (start-up and imports included)")
    print(f"check --spec-only, whole command (text):   {spec_only_text:6.2f} s   (Rich tables of the waived findings)")
    print(f"python + one pydantic model, for scale:    {floor:6.2f} s")
    print(f"check, all 4 roots (spec rules + Checkov): {full:6.2f} s")
    print(f"checkov -d environments/dev (bare CLI):    {bare:6.2f} s")
    print(f"ratio full / bare:                         {full / bare:6.2f}     (target <= 1.5)")


if __name__ == "__main__":
    main()
