"""Whether a job fits a compute environment: any instance type it may launch, or a Fargate size.

Instance facts come from the catalogue (:mod:`batchplane.capacity.catalogue`):
vCPUs, memory after the ECS agent's reservation, and GPUs, for every type a
compute environment's ``instanceTypes`` stand for (families and Batch's
keywords expanded). Fargate sizes are the spec's own table. What cannot be
known (unmanaged compute, types the catalogue lacks) is unknown, never a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchplane.capacity.catalogue import expand
from batchplane.spec.checks import FARGATE_MEMORY

FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True)
class Needs:
    """What one attempt of a job reserves."""

    vcpus: float
    memory_mib: int
    gpus: int

    def describe(self) -> str:
        gpus = f"{self.gpus} GPU" if self.gpus else "no GPU"
        return f"{self.vcpus:g} vCPU, {self.memory_mib} MiB, {gpus}"


@dataclass(frozen=True)
class Fit:
    """Whether one compute environment can ever hold the job: True, False, or None (unknown), and why."""

    compute: str
    fits: bool | None
    reason: str


def needs(container: Mapping[str, Any] | None) -> Needs | None:
    """A container's reservation: its resourceRequirements, else the older vcpus/memory fields."""
    if not container:
        return None
    wanted = {str(r.get("type")): str(r.get("value")) for r in container.get("resourceRequirements") or []}
    vcpus = wanted.get("VCPU", container.get("vcpus"))
    memory = wanted.get("MEMORY", container.get("memory"))
    if vcpus is None or memory is None:
        return None
    return Needs(float(vcpus), int(memory), int(wanted.get("GPU", 0)))


def _missing(need: Needs, vcpus: float, memory: int, gpus: int) -> list[str]:
    lacking = []
    if need.memory_mib > memory:
        lacking.append(f"{need.memory_mib} MiB memory")
    if need.vcpus > vcpus:
        lacking.append(f"{need.vcpus:g} vCPU")
    if need.gpus > gpus:
        lacking.append(f"{need.gpus} GPU")
    return lacking


def fit(need: Needs, compute: Mapping[str, Any]) -> Fit:
    """Whether any instance (or Fargate size) ``compute`` may launch can hold ``need``."""
    name = str(compute.get("computeEnvironmentName", compute.get("computeEnvironmentArn", "?")))
    resources = compute.get("computeResources") or {}
    kind = resources.get("type")
    if compute.get("type") == "UNMANAGED" or kind is None:
        return Fit(name, None, "unmanaged: its instances are not known to Batch, fit not checked")
    max_vcpus = resources.get("maxvCpus")
    if max_vcpus is not None and need.vcpus > max_vcpus:
        return Fit(name, False, f"needs {need.vcpus:g} vCPU, above its maxvCpus {max_vcpus}")
    if kind in FARGATE_TYPES:
        if need.gpus:
            return Fit(name, False, f"needs {need.gpus} GPU: Fargate has no GPUs")
        memories = FARGATE_MEMORY.get(need.vcpus)
        if memories is None:
            sizes = ", ".join(f"{v:g}" for v in FARGATE_MEMORY)
            return Fit(name, False, f"{need.vcpus:g} vCPU is not a Fargate size (sizes: {sizes} vCPU)")
        if need.memory_mib not in memories:
            return Fit(
                name,
                False,
                f"{need.memory_mib} MiB does not pair with {need.vcpus:g} vCPU on Fargate "
                f"({memories[0]}-{memories[-1]} MiB)",
            )
        return Fit(name, True, f"Fargate size {need.vcpus:g} vCPU / {need.memory_mib} MiB exists")
    expansion = expand(resources.get("instanceTypes") or [])
    holding = [t for t in expansion.types if not _missing(need, t.vcpus, t.usable_memory_mib, t.gpus)]
    if holding:
        smallest = min(holding, key=lambda t: (t.memory_mib, t.vcpus, t.name))
        return Fit(
            name, True, f"fits {smallest.describe()}" + (f" and {len(holding) - 1} more" if len(holding) > 1 else "")
        )
    unknown = f" (not in the instance catalogue: {', '.join(expansion.unknown)})" if expansion.unknown else ""
    largest = expansion.largest()
    if largest is None:
        return Fit(name, None, f"its instance types are unknown{unknown}")
    if need.gpus and not any(t.gpus for t in expansion.types):
        reason = f"needs {need.gpus} GPU; no instance type of it has GPUs (largest: {largest.describe()})"
    else:
        lacking = _missing(need, largest.vcpus, largest.usable_memory_mib, largest.gpus) or [need.describe()]
        reason = (
            f"needs {' and '.join(lacking)}; the largest instance type tried, {largest.describe()}, does not hold it"
        )
    return Fit(name, None if expansion.unknown else False, reason + unknown)
