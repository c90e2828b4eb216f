"""batchplane plan + apply against plain terraform plan + apply of the same root, on moto.

Both start from an empty emulator of their own and include `terraform init`.
Prints both wall times and the ratio (target: <= 1.15). Run:

    BATCHPLANE_TF_PROVIDER_MIRROR=/opt/tf-plugins .venv/bin/python benchmarks/apply.py [ENV] [ROUNDS]
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batchplane.local.accounts import bootstrap_account
from batchplane.local.emulator import start_emulator, wait_until_healthy
from batchplane.local.processes import stop_process
from batchplane.local.workcopy import prepare_workdir
from batchplane.spec import load_spec
from batchplane.terraform.runner import TerraformRunner

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_repo(target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy2(REPO / "platform.yaml", target / "platform.yaml")
    # policies/: batchplane's plan runs the policy gate, whose custom checks live there.
    for name in ("job_images", "environments", "modules", "policies"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return target


def batchplane(repo: Path, *args: str) -> None:
    command = [sys.executable, "-m", "batchplane", *args, "--spec", str(repo / "platform.yaml")]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"batchplane {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")


def time_batchplane(repo: Path, env: str) -> float:
    batchplane(repo, "local", "start", "--port", str(free_port()))
    try:
        start = time.perf_counter()
        batchplane(repo, "plan", "--env", env, "--local")
        batchplane(repo, "apply", "--env", env, "--local", "--approve-production")
        return time.perf_counter() - start
    finally:
        batchplane(repo, "local", "stop")


def time_terraform(repo: Path, env: str) -> float:
    spec = load_spec(repo / "platform.yaml")
    account = spec.platform.environments[env].account_id
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = start_emulator(port, repo / "moto.log")
    try:
        wait_until_healthy(endpoint, timeout=60, process=process)
        bootstrap_account(endpoint, account, spec.platform.region)
        workdir = prepare_workdir(repo, env, endpoint, account, work=repo / "plain")
        runner = TerraformRunner(workdir)
        start = time.perf_counter()
        runner.run("init", "-input=false", "-no-color")
        runner.run("plan", "-input=false", "-no-color", "-out=plain.tfplan")
        runner.run("apply", "-input=false", "-no-color", "plain.tfplan")
        return time.perf_counter() - start
    finally:
        stop_process(process.pid)


def main() -> int:
    env = sys.argv[1] if len(sys.argv) > 1 else "dev"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    plain: list[float] = []
    ours: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        # Alternate, so that a busy moment of the machine does not fall on one side only.
        for index in range(rounds):
            plain.append(time_terraform(copy_repo(Path(tmp) / f"plain-{index}"), env))
            ours.append(time_batchplane(copy_repo(Path(tmp) / f"batchplane-{index}"), env))
    plain_median, ours_median = statistics.median(plain), statistics.median(ours)
    print(f"environment            : {env} (local AWS, from an empty emulator, init included), {rounds} rounds")
    print(f"terraform plan + apply : median {plain_median:6.1f} s  ({', '.join(f'{t:.1f}' for t in plain)})")
    print(f"batchplane plan + apply: median {ours_median:6.1f} s  ({', '.join(f'{t:.1f}' for t in ours)})")
    print(f"ratio                  : {ours_median / plain_median:6.2f} (target <= 1.15)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
