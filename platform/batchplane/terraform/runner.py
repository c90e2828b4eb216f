"""The one adapter over the terraform CLI.

python-terraform builds the command lines (its flag conventions), but batchplane
runs them itself: python-terraform's ``cmd`` has no timeout and passes only
``os.environ``, and batchplane needs both a timeout on every call and a
per-call environment (CLI config, TF_IN_AUTOMATION) that is safe when several
roots run in parallel.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from batchplane.errors import ToolError

MIRROR_ENV = "BATCHPLANE_TF_PROVIDER_MIRROR"
CACHE_ENV = "BATCHPLANE_CACHE_DIR"

DEFAULT_TIMEOUT = 30 * 60


def cache_dir() -> Path:
    """batchplane's per-user cache (CLI config, provider plugin cache)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "batchplane"


def cli_config_text(mirror: Path, plugin_cache: Path) -> str:
    """A Terraform CLI config that installs providers only from a filesystem mirror."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
        f'plugin_cache_dir = "{plugin_cache}"\n'
    )


def terraform_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every terraform call.

    With BATCHPLANE_TF_PROVIDER_MIRROR set, batchplane writes its own CLI config
    (that mirror plus a shared plugin cache, so each root links the provider
    instead of copying ~700 MB) and points TF_CLI_CONFIG_FILE at it; otherwise
    the caller's TF_CLI_CONFIG_FILE is honoured as it is.
    """
    env = dict(os.environ if base is None else base)
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env.setdefault("CHECKPOINT_DISABLE", "1")
    mirror = env.get(MIRROR_ENV)
    if mirror:
        mirror_path = Path(mirror).resolve()
        if not mirror_path.is_dir():
            raise ToolError("terraform", [], f"{MIRROR_ENV}={mirror} is not a directory")
        cache = cache_dir()
        plugin_cache = cache / "plugin-cache"
        plugin_cache.mkdir(parents=True, exist_ok=True)
        config = cache / "terraform.rc"
        text = cli_config_text(mirror_path, plugin_cache)
        if not config.exists() or config.read_text(encoding="utf-8") != text:
            tmp = config.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(config)
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


class TerraformRunner:
    """Runs terraform in one root directory."""

    def __init__(self, root: Path, *, binary: str | None = None, env: Mapping[str, str] | None = None) -> None:
        found = binary or shutil.which("terraform")
        if found is None:
            raise ToolError("terraform", ["terraform"], "terraform is not on PATH (install Terraform >= 1.5)")
        self.root = root
        self.binary = found
        self.env = terraform_environment(env)
        self._builder = Terraform(working_dir=str(root), terraform_bin_path=found)

    def command(self, cmd: str, *args: str, **options: Any) -> list[str]:
        """The argument list for ``terraform cmd`` with python-terraform's option rules."""
        return [str(part) for part in self._builder.generate_cmd_string(cmd, *args, **options)]

    def run(
        self,
        cmd: str,
        *args: str,
        timeout: float = DEFAULT_TIMEOUT,
        allowed: tuple[int, ...] = (0,),
        **options: Any,
    ) -> Result:
        argv = self.command(cmd, *args, **options)
        try:
            done = subprocess.run(
                argv,
                cwd=self.root,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolError("terraform", argv, f"timed out after {timeout:.0f} s in {self.root}") from exc
        if done.returncode not in allowed:
            raise ToolError("terraform", argv, f"in {self.root}:\n{done.stderr or done.stdout}")
        return Result(done.returncode, done.stdout, done.stderr)

    def init(self, *, backend: bool = True) -> Result:
        return self.run("init", input=False, backend=backend, no_color=IsFlagged)

    def validate(self) -> Result:
        return self.run("validate", no_color=IsFlagged)

    def fmt_check(self) -> Result:
        return self.run(
            "fmt",
            check=True,
            recursive=IsFlagged,
            diff=IsFlagged,
            no_color=IsFlagged,
            allowed=(0, 3),
        )

    def stream(
        self,
        cmd: str,
        *args: str,
        sink: Callable[[str], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        allowed: tuple[int, ...] = (0,),
        **options: Any,
    ) -> Result:
        """Run with output passed line by line to ``sink`` (progress), and kept for errors.

        terraform runs in its own process group: a Ctrl-C reaches batchplane only,
        which forwards exactly one SIGINT so terraform stops gracefully and saves
        state (a second interrupt would make it exit at once).
        """
        argv = self.command(cmd, *args, **options)
        process = subprocess.Popen(
            argv,
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def _expire() -> None:
            timed_out.set()
            process.terminate()

        timer = threading.Timer(timeout, _expire)
        timer.start()
        kept: deque[str] = deque(maxlen=400)
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip("\n")
                kept.append(line)
                if sink is not None:
                    sink(line)
            process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise ToolError(
                "terraform", argv, "interrupted: terraform stopped gracefully and saved its state; plan again"
            ) from None
        finally:
            timer.cancel()
        output = "\n".join(kept)
        if timed_out.is_set():
            raise ToolError("terraform", argv, f"timed out after {timeout:.0f} s in {self.root}\n{output}")
        if process.returncode not in allowed:
            raise ToolError("terraform", argv, f"in {self.root}:\n{output}")
        return Result(process.returncode, output, "")
