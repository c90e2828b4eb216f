"""Whether a job fits a compute environment: any instance type it may launch, or a Fargate size.

Instance facts come from the catalogue (:mod:`batchplane.capacity.catalogue`):
vCPUs, memory after the ECS agent's reservation, and GPUs, for every type a
compute environment's ``instanceTypes`` stand for (families and Batch's
keywords expanded), judged by :mod:`batchplane.capacity.placement`; Fargate sizes by
:mod:`batchplane.capacity.fargate`. What cannot be
known (unmanaged compute, types the catalogue lacks) is unknown, never a fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchplane.capacity import fargate
from batchplane.capacity.placement import MEMORY, Demand, place

FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True)
class Fit:
    """Whether one compute environment can ever hold the job: True, False, or None (unknown), and why."""

    compute: str
    fits: bool | None
    reason: str


def needs(container: Mapping[str, Any] | None) -> Demand | None:
    """A container's reservation: its resourceRequirements, else the older vcpus/memory fields."""
    if not container:
        return None
    wanted = {str(r.get("type")): str(r.get("value")) for r in container.get("resourceRequirements") or []}
    vcpus = wanted.get("VCPU", container.get("vcpus"))
    memory = wanted.get("MEMORY", container.get("memory"))
    if vcpus is None or memory is None:
        return None
    return Demand(float(vcpus), int(memory), int(wanted.get("GPU", 0)))


def _shortfall(need: Demand, resources: tuple[str, ...]) -> str:
    """``16384 MiB memory and 4 vCPU``: what the job asks of the resources an instance lacks."""
    return " and ".join(need.amount(r) + (" memory" if r == MEMORY else "") for r in resources)


def fit(need: Demand, compute: Mapping[str, Any]) -> Fit:
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
        problem = fargate.vcpu_problem(need.vcpus) or fargate.memory_problem(need.vcpus, need.memory_mib)
        if problem is not None:
            return Fit(name, False, problem)
        return Fit(name, True, f"Fargate size {need.vcpus:g} vCPU / {need.memory_mib} MiB exists")
    placement = place(need, resources.get("instanceTypes") or [])
    expansion = placement.expansion
    if placement.fits:
        smallest = min(placement.holding, key=lambda t: (t.memory_mib, t.vcpus, t.name))
        more = len(placement.holding) - 1
        return Fit(name, True, f"fits {smallest.describe()}" + (f" and {more} more" if more else ""))
    unknown = f" (not in the instance catalogue: {', '.join(expansion.unknown)})" if expansion.unknown else ""
    nearest = placement.nearest()
    if nearest is None:
        return Fit(name, None, f"its instance types are unknown{unknown}")
    if need.gpus and not any(t.gpus for t in expansion.types):
        reason = f"needs {need.gpus} GPU; no instance type of it has GPUs (largest: {nearest.describe()})"
    else:
        lacking = _shortfall(need, need.short_of(nearest))
        reason = f"needs {lacking}; the largest instance type tried, {nearest.describe()}, does not hold it"
    return Fit(name, None if expansion.unknown else False, reason + unknown)
