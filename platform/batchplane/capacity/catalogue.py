"""The EC2 instance-type catalogue, and instance types as AWS Batch expands them.

Instance facts are never typed in by hand: they come from the DescribeInstanceTypes
data that moto ships in its package (``moto/ec2/resources/instance_types.json.gz``,
refreshed monthly by its maintainers) and serves to the local AWS. moto is a core
dependency for this reason; its server is the ``local`` extra.

Memory a job can use is less than an instance's installed memory: the kernel and
the platform keep some, and the ECS agent reserves 32 MiB more (AWS Batch user
guide, "Compute resource memory management": an m4.large with 8192 MiB installed
registers 7985 MiB). :func:`usable_memory_mib` applies that documented ratio to
every type and subtracts the reservation; the result is an estimate, close to
what AWS reports, and errs on the side of saying a borderline job does not fit.

Reading moto's 4 MB JSON costs about 0.2 s, most of a ``check --spec-only``;
like the IAM catalogue, a compact derivative (name, vCPUs, memory, GPUs,
architectures) is kept in batchplane's cache directory, named by the data
file's path, size and modification time, and rebuilt whenever moto changes.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchplane.errors import BatchplaneError, ToolError
from batchplane.files import atomic_write
from batchplane.policy.iam.catalogue import cache_dir

CATALOGUE_RESOURCE = ("ec2", "resources", "instance_types.json.gz")
FORMAT = 1
"""Version of the cache's layout: bump it when the derived data changes shape."""
ECS_AGENT_RESERVED_MIB = 32
# m4.large: 8192 MiB installed, 7985 MiB seen by the ECS agent (AWS Batch user guide).
REGISTERED_FRACTION = 7985 / 8192

# What Batch launches for its instance-type keywords (ComputeResource.instanceTypes in the
# Batch API reference). Since 2025-11-01 `optimal` means the same as `default_x86_64`.
KEYWORD_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "optimal": ("m6i", "c6i", "r6i", "c7i"),
    "default_x86_64": ("m6i", "c6i", "r6i", "c7i"),
    "default_arm64": ("m6g", "c6g", "r6g", "c7g"),
}


@dataclass(frozen=True, order=True)
class InstanceType:
    """One EC2 instance type, as far as placing a Batch job is concerned."""

    name: str
    vcpus: int
    memory_mib: int
    gpus: int
    architectures: tuple[str, ...]

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def usable_memory_mib(self) -> int:
        """Memory a job may reserve on it: what the ECS agent registers, less its own reservation."""
        return math.floor(self.memory_mib * REGISTERED_FRACTION) - ECS_AGENT_RESERVED_MIB

    def describe(self) -> str:
        """``m4.large (2 vCPU, 7953 MiB usable of 8192 MiB, no GPU)``."""
        gpus = f"{self.gpus} GPU" if self.gpus else "no GPU"
        return f"{self.name} ({self.vcpus} vCPU, {self.usable_memory_mib} MiB usable of {self.memory_mib} MiB, {gpus})"


@dataclass(frozen=True)
class Expansion:
    """The instance types an ``instance_types`` list stands for, and the entries nothing matched."""

    types: tuple[InstanceType, ...]
    unknown: tuple[str, ...]

    def largest(self) -> InstanceType | None:
        """The type Batch would try last for a big job: most memory, then most vCPUs."""
        return max(self.types, key=lambda t: (t.memory_mib, t.vcpus, t.name), default=None)


def _catalogue_path() -> Path:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError(
            "instance catalogue",
            [],
            "moto is not installed, and its DescribeInstanceTypes data is batchplane's instance "
            "catalogue: reinstall batchplane (`pip install batchplane`)",
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*CATALOGUE_RESOURCE)


def _instance(raw: Mapping[str, Any]) -> InstanceType:
    gpu_info = raw.get("GpuInfo") or {}
    gpus = sum(int(g.get("Count", 0)) for g in gpu_info.get("Gpus", []))
    return InstanceType(
        name=str(raw["InstanceType"]),
        vcpus=int(raw["VCpuInfo"]["DefaultVCpus"]),
        memory_mib=int(raw["MemoryInfo"]["SizeInMiB"]),
        gpus=gpus,
        architectures=tuple(raw.get("ProcessorInfo", {}).get("SupportedArchitectures", ())),
    )


def _read_source(path: Path) -> dict[str, InstanceType]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ToolError("instance catalogue", [], f"cannot read {path}: {exc}") from None
    return {name: _instance(entry) for name, entry in sorted(raw.items())}


def cache_path(directory: Path | None = None) -> Path:
    """Where the compact catalogue of the installed moto data lives."""
    source = _catalogue_path()
    info = source.stat()
    key = f"{FORMAT}\n{source}|{info.st_size}|{info.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return (directory or cache_dir()) / f"instance-catalogue-{digest}.json"


def _encode(types: Mapping[str, InstanceType]) -> bytes:
    rows = [[t.name, t.vcpus, t.memory_mib, t.gpus, list(t.architectures)] for t in types.values()]
    return json.dumps({"format": FORMAT, "types": rows}, separators=(",", ":")).encode()


def _decode(blob: bytes) -> dict[str, InstanceType]:
    data = json.loads(blob)
    if data["format"] != FORMAT:
        raise ValueError("not a catalogue of this format")
    return {
        str(name): InstanceType(str(name), int(vcpus), int(memory), int(gpus), tuple(map(str, archs)))
        for name, vcpus, memory, gpus, archs in data["types"]
    }


def load_catalogue(directory: Path | None = None) -> Mapping[str, InstanceType]:
    """Every instance type moto's data knows, by name: from the cache, rebuilt when moto's data changed."""
    path = cache_path(directory)
    try:
        return _decode(path.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent or damaged: rebuild below
    types = _read_source(_catalogue_path())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, _encode(types))
    except (OSError, BatchplaneError):
        pass  # a read-only cache only costs the rebuild next time
    return types


@functools.cache
def catalogue() -> Mapping[str, InstanceType]:
    """The process's catalogue (loaded once)."""
    return load_catalogue()


def expand(entries: Iterable[str], known: Mapping[str, InstanceType] | None = None) -> Expansion:
    """The types ``entries`` (types, families, or Batch's keywords) stand for, in name order.

    A family (``c5``) stands for every size of it, as Batch launches any of them.
    An entry that is neither a known type, a family, nor a keyword is returned in
    ``unknown``: the caller decides (unknown is never taken to fit).
    """
    known = catalogue() if known is None else known
    by_family: dict[str, list[InstanceType]] = {}
    for item in known.values():
        by_family.setdefault(item.family, []).append(item)
    found: dict[str, InstanceType] = {}
    unknown: list[str] = []
    for entry in entries:
        families = KEYWORD_FAMILIES.get(entry, (entry,) if "." not in entry else ())
        if "." in entry and entry in known:
            found[entry] = known[entry]
        elif families and all(f in by_family for f in families):
            found.update((t.name, t) for f in families for t in by_family[f])
        else:
            unknown.append(entry)
    return Expansion(tuple(sorted(found.values())), tuple(unknown))
