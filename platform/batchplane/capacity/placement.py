"""Whether a job fits the instance types a compute environment may launch (BP-CAP, ``jobs why``).

AWS Batch places each job on one instance: its vCPUs, memory and GPUs must all
fit on a single instance type that one of the queue's compute environments may
launch. A job no allowed type can hold stays RUNNABLE forever. Memory is
compared with what the ECS agent leaves usable (see :mod:`.catalogue`), not
with the installed memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from batchplane.capacity.catalogue import Expansion, InstanceType, expand

GPUS = "GPUs"
MEMORY = "memory"
VCPUS = "vCPUs"
RESOURCES = (GPUS, MEMORY, VCPUS)
"""What a job asks for, in the order a shortfall is named (the rarest resource first)."""


@dataclass(frozen=True)
class Demand:
    """What one job reserves on an instance."""

    vcpus: float
    memory_mib: int
    gpus: int = 0

    def short_of(self, offer: InstanceType) -> tuple[str, ...]:
        """The resources ``offer`` lacks for this job, in the order of :data:`RESOURCES`."""
        lacking = {
            GPUS: self.gpus > offer.gpus,
            MEMORY: self.memory_mib > offer.usable_memory_mib,
            VCPUS: self.vcpus > offer.vcpus,
        }
        return tuple(resource for resource in RESOURCES if lacking[resource])

    def describe(self) -> str:
        """``1 vCPU, 2048 MiB, no GPU``."""
        gpus = f"{self.gpus} GPU" if self.gpus else "no GPU"
        return f"{self.vcpus:g} vCPU, {self.memory_mib} MiB, {gpus}"

    def amount(self, resource: str) -> str:
        """``8192 MiB``, ``4 vCPU`` or ``2 GPU``: what the job asks of one resource."""
        if resource == GPUS:
            return f"{self.gpus} GPU"
        if resource == MEMORY:
            return f"{self.memory_mib} MiB"
        return f"{self.vcpus:g} vCPU"


def _capacity(offer: InstanceType, resource: str) -> int:
    if resource == GPUS:
        return offer.gpus
    if resource == MEMORY:
        return offer.usable_memory_mib
    return offer.vcpus


@dataclass(frozen=True)
class Placement:
    """A job's demand judged against the instance types some ``instance_types`` entries stand for."""

    demand: Demand
    expansion: Expansion

    @property
    def holding(self) -> tuple[InstanceType, ...]:
        """The instance types that can hold the job."""
        return tuple(t for t in self.expansion.types if not self.demand.short_of(t))

    @property
    def fits(self) -> bool:
        return bool(self.holding)

    def nearest(self) -> InstanceType | None:
        """The largest type that would be tried: it lacks the fewest resources, and most of what is lacking.

        Among the types short of the fewest resources, the one with the most of a
        lacking resource (GPUs, then memory, then vCPUs), then of the others.
        """
        if not self.expansion.types:
            return None
        fewest = min(len(self.demand.short_of(t)) for t in self.expansion.types)
        closest = [t for t in self.expansion.types if len(self.demand.short_of(t)) == fewest]
        lacking = {r for t in closest for r in self.demand.short_of(t)}
        order = [r for r in RESOURCES if r in lacking] + [r for r in RESOURCES if r not in lacking]
        return max(closest, key=lambda t: (*(_capacity(t, r) for r in order), t.name))

    def explain(self, where: str) -> str | None:
        """Why no type holds the job, naming the largest one ``where`` can launch; None when one does.

        ``where`` names the compute, e.g. ``queue default``.
        """
        if self.fits:
            return None
        nearest = self.nearest()
        if nearest is None:
            listed = ", ".join(self.expansion.unknown) or "none"
            return f"no instance type {where} can launch is known (instance types: {listed}), so none can hold it"
        needs = " and ".join(self.demand.amount(r) for r in self.demand.short_of(nearest))
        return f"needs {needs}: the largest instance {where} can launch, {nearest.describe()}, cannot hold it"


def place(demand: Demand, instance_types: Iterable[str]) -> Placement:
    """Judge ``demand`` against the types ``instance_types`` (types, families, Batch keywords) stand for.

    Entries the catalogue does not know hold nothing (they are in ``expansion.unknown``).
    """
    return Placement(demand, expand(instance_types))
