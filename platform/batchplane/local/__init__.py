"""The embedded local AWS: working copies of rendered roots pointed at the emulator.

A local run never modifies the committed ``environments/``: the root is copied
to ``.batchplane/work/environments/<env>/`` (beside a link to ``modules/``, so
the roots' relative module sources resolve), and an override file points the
AWS provider at the emulator. The provider assumes a role in the
environment's own account: moto's STS switches accounts that way, so
``allowed_account_ids`` and every ARN that embeds an account id hold locally
exactly as they do on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from batchplane import layout
from batchplane.errors import FileSystemError, ToolError
from batchplane.state import read_json as read_state_file

WORK_DIR = layout.WORK_DIR
OVERRIDE_FILE = "batchplane_local_override.tf"
LOCAL_VARS_FILE = "batchplane_local.auto.tfvars.json"
LOCAL_ROLE_NAME = "batchplane-local"
LOCAL_JOBS_USER = "batchplane-local-jobs"
LOCAL_SECRET = "batchplane-local"  # the emulator checks no signature: any secret will do

# Every service the rendered roots and their modules call.
EMULATED_SERVICES = (
    "batch", "cloudwatch", "dynamodb", "ec2", "ecr", "events", "iam", "kms", "logs",
    "s3", "scheduler", "secretsmanager", "sns", "sqs", "ssm", "sts",
)  # fmt: skip

_COPY_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "*.tfplan", ".batchplane")


def local_role_arn(account_id: str) -> str:
    """The role the provider assumes to act in ``account_id`` on the emulator."""
    return f"arn:aws:iam::{account_id}:role/{LOCAL_ROLE_NAME}"


@dataclass(frozen=True)
class S3Backend:
    """The S3 state location of a root (bucket, key, region)."""

    bucket: str
    key: str
    region: str


def backend_override(endpoint: str, s3: S3Backend | None) -> str:
    """Local state, or the spec's S3 backend pointed at the emulator's S3 (same lockfile semantics)."""
    if s3 is None:
        return 'terraform {\n  backend "local" {\n    path = "terraform.tfstate"\n  }\n}\n\n'
    return (
        "terraform {\n"
        '  backend "s3" {\n'
        f'    bucket                      = "{s3.bucket}"\n'
        f'    key                         = "{s3.key}"\n'
        f'    region                      = "{s3.region}"\n'
        "    use_lockfile                = true\n"
        "    encrypt                     = true\n"
        '    access_key                  = "batchplane-local"\n'
        '    secret_key                  = "batchplane-local"\n'
        "    skip_credentials_validation = true\n"
        "    skip_requesting_account_id  = true\n"
        "    skip_metadata_api_check     = true\n"
        "    skip_region_validation      = true\n"
        "    use_path_style              = true\n"
        f'    endpoints = {{ s3 = "{endpoint}", sts = "{endpoint}" }}\n'
        "  }\n"
        "}\n\n"
    )


def provider_override(endpoint: str, account_id: str, s3: S3Backend | None = None) -> str:
    """HCL override: backend, credentials, account switch and endpoints of the emulator."""
    endpoints = "\n".join(f'    {service:<14} = "{endpoint}"' for service in EMULATED_SERVICES)
    provider = (
        'provider "aws" {\n'
        '  access_key                  = "batchplane-local"\n'
        '  secret_key                  = "batchplane-local"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n\n"
        "  assume_role {\n"
        f'    role_arn = "{local_role_arn(account_id)}"\n'
        "  }\n\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    )
    header = "# Written by batchplane for local mode: the AWS provider talks to the emulator.\n"
    return header + backend_override(endpoint, s3) + provider


@dataclass(frozen=True)
class LocalJobs:
    """How local job definitions differ: the registry their images come from, extra environment."""

    registry_host: str | None
    environment: dict[str, str]


def prepare_workdir(
    repo: Path,
    root: str,
    endpoint: str,
    account_id: str,
    *,
    work: Path | None = None,
    s3: S3Backend | None = None,
    jobs: LocalJobs | None = None,
) -> Path:
    """Refresh the local working copy of ``environments/<root>`` and return its path.

    Generated files are refreshed from the committed root; local state, the
    ``.terraform`` directory and the lock file of the working copy are kept.
    """
    base = (work or repo / WORK_DIR).resolve()
    source = repo / "environments" / root
    target = base / "environments" / root
    target.mkdir(parents=True, exist_ok=True)
    modules_link = base / "modules"
    if not modules_link.exists():
        modules_link.symlink_to(os.path.relpath((repo / "modules").resolve(), base), target_is_directory=True)
    for stale in target.glob("*.tf*"):
        if (
            stale.is_file()
            and stale.name != ".terraform.lock.hcl"
            and not stale.name.endswith((".tfstate", ".tfstate.backup"))
        ):
            stale.unlink()
    shutil.copytree(source, target, ignore=_COPY_IGNORE, dirs_exist_ok=True)
    (target / OVERRIDE_FILE).write_text(provider_override(endpoint, account_id, s3), encoding="utf-8")
    local_vars: dict[str, Any] = {"emulator_compatible": True}
    values = json.loads((target / "terraform.tfvars.json").read_text(encoding="utf-8"))
    if jobs is not None and isinstance(values.get("jobs"), dict):
        local_vars["jobs"] = local_jobs(values["jobs"], jobs.registry_host, jobs.environment)
    network = values.get("network")
    if isinstance(network, dict) and not network.get("create"):
        # The emulator cannot hold an existing network's ids: a stand-in network takes its place.
        local_vars["network"] = {**STAND_IN_NETWORK, "assign_public_ip": bool(network.get("assign_public_ip"))}
    from batchplane.render.roots import to_json  # the renderer's JSON style; imported late (jinja2 is slow to load)

    (target / LOCAL_VARS_FILE).write_text(to_json(local_vars), encoding="utf-8")
    return target


STAND_IN_NETWORK: dict[str, Any] = {
    "create": True,
    "cidr": "10.250.0.0/16",
    "availability_zones": 2,
    "vpc_id": None,
    "subnet_ids": None,
    "security_group_ids": None,
}
"""Local mode only: replaces a root's existing network, which the emulator cannot have."""


BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"
_BATCH_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "batch.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def emulator_client(endpoint: str, account_id: str, service: str, region: str) -> Any:
    """A boto3 client acting in ``account_id`` on the emulator (via STS, like the provider)."""
    import boto3

    plain = {
        "endpoint_url": endpoint,
        "region_name": region,
        "aws_access_key_id": "batchplane-local",
        "aws_secret_access_key": "batchplane-local",
    }
    credentials = boto3.client("sts", **plain).assume_role(
        RoleArn=local_role_arn(account_id), RoleSessionName="batchplane"
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def ensure_state_bucket(endpoint: str, s3: S3Backend) -> None:
    """The S3 backend's bucket in the emulator (versioned, as a state bucket should be)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=s3.region,
        aws_access_key_id="batchplane-local",
        aws_secret_access_key="batchplane-local",
    )
    try:
        client.head_bucket(Bucket=s3.bucket)
    except client.exceptions.ClientError:
        client.create_bucket(Bucket=s3.bucket, CreateBucketConfiguration={"LocationConstraint": s3.region})
        client.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})


def bootstrap_account(endpoint: str, account_id: str, region: str) -> str:
    """Create what AWS has in every account but the emulator lacks; returns the jobs' access key id.

    AWS creates the Batch service-linked role on first use; the emulator
    needs it to exist (its own create_service_linked_role misspells the name).

    On AWS a job container gets its job role's credentials from the ECS
    agent; the emulator hands it none. Local job definitions therefore carry
    the access key of an IAM user in the environment's account: the emulator
    places a call in the account that owns the key (it checks no signature),
    so a job reads and writes the same account the environment lives in.
    The key is the same for as long as the emulator runs.
    """
    iam = emulator_client(endpoint, account_id, "iam", region)
    try:
        iam.get_role(RoleName=BATCH_SERVICE_LINKED_ROLE)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(
            Path="/aws-service-role/batch.amazonaws.com/",
            RoleName=BATCH_SERVICE_LINKED_ROLE,
            AssumeRolePolicyDocument=json.dumps(_BATCH_TRUST),
        )
    try:
        keys = iam.list_access_keys(UserName=LOCAL_JOBS_USER)["AccessKeyMetadata"]
    except iam.exceptions.NoSuchEntityException:
        iam.create_user(UserName=LOCAL_JOBS_USER)
        keys = []
    if keys:
        return str(sorted(k["AccessKeyId"] for k in keys)[0])
    return str(iam.create_access_key(UserName=LOCAL_JOBS_USER)["AccessKey"]["AccessKeyId"])


ACCOUNTS_FILE = "accounts.json"


def account_key(repo: Path, emulator: EmulatorState, account_id: str, region: str) -> str:
    """:func:`bootstrap_account`, once per account for as long as this emulator runs.

    The access key is remembered in ``.batchplane/local/accounts.json`` with
    the emulator's port and PID: every ``plan``/``apply``/``up`` needs it to
    write the local job definitions, and asking the emulator costs two boto3
    clients (~0.5 s). A restarted emulator is a new instance and is asked again.
    """
    path = repo / STATE_DIR / ACCOUNTS_FILE
    instance = f"{emulator.port}:{emulator.pid}"
    known = read_state_file(path, AccountKeys)
    keys = dict(known.keys) if known is not None and known.emulator == instance else {}
    if account_id not in keys:
        keys[account_id] = bootstrap_account(emulator.endpoint, account_id, region)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"emulator": instance, "keys": keys}, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as exc:
            raise FileSystemError(path, "write", exc) from None
    return str(keys[account_id])


def job_environment(endpoint: str, region: str, access_key_id: str) -> dict[str, str]:
    """What a local job container needs to reach the emulator as its environment's account."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET,
    }


def local_jobs(values: Mapping[str, Any], registry_host: str | None, environment: Mapping[str, str]) -> dict[str, Any]:
    """The ``jobs`` variable of a root, made runnable on the emulator.

    Images come from the local registry (same ``<platform>/<image>`` path and
    digest: a digest names the same image in every registry), and each
    container gets ``environment`` on top of its own.
    """
    jobs: dict[str, Any] = {}
    for name, job in values.items():
        image = str(job["image"])
        if registry_host is not None:
            # An external registry's URL may carry a path of its own; the local one has none.
            path = "/".join(image.split("/")[-2:])
            image = f"{registry_host}/{path}"
        jobs[name] = {**job, "image": image, "environment": {**(job.get("environment") or {}), **environment}}
    return jobs


# moto's dashboard page: cheap, unlike /moto-api/data.json which dumps all state.
HEALTH_PATH = "/moto-api/"


def emulator_command(port: int) -> list[str]:
    """moto server on loopback only."""
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def emulator_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    # Attaching AWS managed policies (the Batch instance role's) needs them loaded.
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # Job containers share the host network, so they reach the emulator on 127.0.0.1.
    env.setdefault("MOTO_DOCKER_NETWORK_MODE", "host")
    env.pop("MOTO_ACCOUNT_ID", None)
    return env


def start_emulator(port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start moto server in the background; the caller owns (and stops) the process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            emulator_command(port),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=emulator_environment(),
            start_new_session=True,
        )


def wait_until_healthy(endpoint: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until the emulator answers, or raise ToolError."""
    import urllib.error  # late: http.client costs ~60 ms at start-up
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ToolError("local AWS", [], f"the emulator exited with code {process.returncode} (see its log)")
        try:
            with urllib.request.urlopen(f"{endpoint}{HEALTH_PATH}", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise ToolError("local AWS", [], f"the emulator at {endpoint} did not answer within {timeout:.0f} s")


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """Stop a process we started, by PID: TERM, then KILL after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        if finished == pid:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- the emulator as a background service -----------------------------------

DEFAULT_PORT = 5055
STATE_DIR = layout.LOCAL_DIR
STATE_FILE = "emulator.json"


@dataclass(frozen=True)
class EmulatorState:
    """What `local start` recorded: enough to find, check and stop the emulator."""

    pid: int
    port: int
    log: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def state_path(repo: Path) -> Path:
    return repo / STATE_DIR / STATE_FILE


class ProcessRecord(BaseModel):
    """``emulator.json`` / ``registry.json``: the process `local start` left running."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pid: int = Field(gt=0)
    port: int = Field(gt=0, lt=65536)
    log: str


class AccountKeys(BaseModel):
    """``accounts.json``: the access key of each local account, for one emulator instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emulator: str
    keys: dict[str, str]


def read_state(repo: Path) -> EmulatorState | None:
    """What `local start` recorded (None when nothing is); a corrupt record is exit 3 at its line."""
    record = read_state_file(state_path(repo), ProcessRecord)
    return None if record is None else EmulatorState(pid=record.pid, port=record.port, log=record.log)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(endpoint: str) -> bool:
    import urllib.error  # late: http.client costs ~60 ms at start-up
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint}{HEALTH_PATH}", timeout=10):
            return True
    except (urllib.error.URLError, OSError):
        return False


def running_emulator(repo: Path) -> EmulatorState | None:
    """The emulator started for this repository, if it is alive and answering."""
    state = read_state(repo)
    if state is None or not _alive(state.pid) or not _answers(state.endpoint):
        return None
    return state


def require_emulator(repo: Path) -> EmulatorState:
    """The running emulator, or a clear error saying how to start it."""
    state = running_emulator(repo)
    if state is None:
        raise ToolError("local AWS", [], "not running: start it with `batchplane local start`")
    return state


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(repo: Path, port: int | None = None, timeout: float = 60.0) -> tuple[EmulatorState, bool]:
    """Start the emulator unless it runs already; returns (state, started_now)."""
    current = running_emulator(repo)
    if current is not None:
        if port is not None and port != current.port:
            raise ToolError("local AWS", [], f"already running on port {current.port}: `batchplane local stop` first")
        return current, False
    port = port or DEFAULT_PORT
    if not _port_free(port):
        raise ToolError(
            "local AWS", [], f"port {port} on 127.0.0.1 is taken by another program: choose another with --port"
        )
    log = repo / STATE_DIR / "emulator.log"
    process = start_emulator(port, log)
    state = EmulatorState(pid=process.pid, port=port, log=str(log))
    try:
        wait_until_healthy(state.endpoint, timeout=timeout, process=process)
    except ToolError:
        stop_process(process.pid)
        raise
    path = state_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": state.pid, "port": state.port, "log": state.log}) + "\n", encoding="utf-8")
    return state, True


def stop(repo: Path) -> EmulatorState | None:
    """Stop the emulator recorded for this repository (by PID); None when none ran."""
    state = read_state(repo)
    if state is None:
        return None
    if _alive(state.pid):
        stop_process(state.pid)
    state_path(repo).unlink(missing_ok=True)
    (repo / STATE_DIR / ACCOUNTS_FILE).unlink(missing_ok=True)
    return state


# --- the local image registry ----------------------------------------------------

DEFAULT_REGISTRY_PORT = 5056
REGISTRY_STATE_FILE = "registry.json"
# Debian ships the CNCF distribution registry as docker-registry; upstream builds name it registry.
REGISTRY_BINARIES = ("docker-registry", "registry")


@dataclass(frozen=True)
class RegistryState:
    """What `local start` recorded about the local image registry."""

    pid: int
    port: int
    log: str

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def _registry_state_path(repo: Path) -> Path:
    return repo / STATE_DIR / REGISTRY_STATE_FILE


def _registry_answers(host: str) -> bool:
    import urllib.error  # late: http.client costs ~60 ms at start-up
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=5):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except (urllib.error.URLError, OSError):
        return False


def read_registry_state(repo: Path) -> RegistryState | None:
    """What `local start` recorded about the registry (None when nothing readable is recorded)."""
    record = read_state_file(_registry_state_path(repo), ProcessRecord)
    return None if record is None else RegistryState(pid=record.pid, port=record.port, log=record.log)


def running_registry(repo: Path) -> RegistryState | None:
    """The registry started for this repository, if it is alive and answering."""
    state = read_registry_state(repo)
    return state if state is not None and _alive(state.pid) and _registry_answers(state.host) else None


def registry_host(repo: Path) -> str:
    """Where `local start` put the registry. Not probed here: a push that finds it gone retries, then fails."""
    state = read_registry_state(repo)
    if state is None:
        raise ToolError(
            "local registry", [], "not started: `batchplane local start` starts it (it needs Debian's docker-registry)"
        )
    return state.host


def registry_config(port: int, storage: Path) -> str:
    """The registry's configuration: loopback only, images kept under ``storage``."""
    return (
        "# written by batchplane local start\n"
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        # Quoted (JSON is YAML): a path may hold ": " or " #".
        f"storage:\n  filesystem:\n    rootdirectory: {json.dumps(str(storage))}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


def start_registry(repo: Path, port: int | None = None, timeout: float = 30.0) -> tuple[RegistryState, bool]:
    """Start the local registry unless it runs already; returns (state, started_now).

    Images survive a restart: they live under ``.batchplane/local/registry/``.
    """
    current = running_registry(repo)
    if current is not None:
        if port is not None and port != current.port:
            raise ToolError(
                "local registry", [], f"already running on port {current.port}: `batchplane local stop` first"
            )
        return current, False
    port = port or DEFAULT_REGISTRY_PORT
    binary = next((found for name in REGISTRY_BINARIES if (found := shutil.which(name))), None)
    if binary is None:
        raise ToolError("local registry", [], "no registry program on PATH (Debian: apt-get install docker-registry)")
    if not _port_free(port):
        raise ToolError(
            "local registry",
            [],
            f"port {port} on 127.0.0.1 is taken by another program: choose another with --registry-port",
        )
    home = repo / STATE_DIR / "registry"
    (home / "data").mkdir(parents=True, exist_ok=True)
    config = home / "config.yml"
    config.write_text(registry_config(port, (home / "data").resolve()), encoding="utf-8")
    log = repo / STATE_DIR / "registry.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    state = RegistryState(pid=process.pid, port=port, log=str(log))
    deadline = time.monotonic() + timeout
    while not _registry_answers(state.host):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process.pid)
            raise ToolError("local registry", [binary, "serve", str(config)], f"did not start (see {log})")
        time.sleep(0.2)
    _registry_state_path(repo).write_text(
        json.dumps({"pid": state.pid, "port": state.port, "log": state.log}) + "\n", encoding="utf-8"
    )
    return state, True


def stop_registry(repo: Path) -> RegistryState | None:
    """Stop the registry recorded for this repository (by PID); None when none ran."""
    state = read_registry_state(repo)
    if state is None:
        return None
    if _alive(state.pid):
        stop_process(state.pid)
    _registry_state_path(repo).unlink(missing_ok=True)
    return state
