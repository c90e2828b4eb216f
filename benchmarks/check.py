"""`batchplane check` against one bare Checkov CLI run.

Prints: the time of `check --spec-only` on the example (target < 0.5 s), in
process and as a whole command (interpreter start-up and imports included), the
time of a full `check` over all four rendered roots (shared, dev, test, prod:
spec rules + Checkov in one process), the time of one bare
`checkov -d environments/dev --framework terraform` run, and the ratio of the
two (target <= 1.5). Every figure is a whole command, start-up included. Run:

    .venv/bin/python benchmarks/check.py [REPEATS] [--instructions]

Wall-clock figures move with the host: on the same 2-core VM the pydantic floor
was 0.23 s on a quiet host and 0.38 s on a busy one, and `check --spec-only`
moved with it. ``--instructions`` also counts the CPU instructions of the
spec-only commands and of the floor under valgrind's callgrind (about 30 s each).
The counts do not depend on the host's speed or load, so two runs on different
hosts can be compared.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    from batchplane.policy import reports as report
    from batchplane.policy.gate import Request, run_check
    from batchplane.spec import load_spec

    def once() -> float:
        start = time.perf_counter()
        spec = load_spec(REPO / "platform.yaml")
        report.render(run_check(spec, Request(spec.environments, spec_only=True)), "json", "platform.yaml")
        return time.perf_counter() - start

    once()
    return statistics.median(once() for _ in range(repeats))


def instructions(command: list[str]) -> int:
    """CPU instructions of one run of ``command``, counted by callgrind."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            check=False,
            timeout=600,
        )
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[0].split()[1])


def print_instructions() -> None:
    counts = {
        "check --spec-only (json)": instructions(batchplane("check", "--spec-only", "--format", "json")),
        "check --spec-only (text)": instructions(batchplane("check", "--spec-only")),
        "python + one pydantic model": instructions([sys.executable, "-c", PYDANTIC_FLOOR]),
    }
    for label, count in counts.items():
        print(f"{label + ', instructions:':42s} {count / 1e6:6.0f} M")


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--instructions"]
    repeats = int(args[0]) if args else 3
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
    if "--instructions" in sys.argv[1:]:
        print_instructions()


if __name__ == "__main__":
    main()
