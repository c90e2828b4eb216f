"""The task sizes Fargate offers: which vCPU values exist, and the memory each pairs with."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

# Fargate accepts these vCPU values, each with its own memory range (MiB)
# (AWS Batch API reference, ResourceRequirement: "VCPU" and "MEMORY" on Fargate).
FARGATE_MEMORY: Mapping[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1.0: tuple(range(2048, 8192 + 1, 1024)),
    2.0: tuple(range(4096, 16384 + 1, 1024)),
    4.0: tuple(range(8192, 30720 + 1, 1024)),
    8.0: tuple(range(16384, 61440 + 1, 4096)),
    16.0: tuple(range(32768, 122880 + 1, 8192)),
}


def vcpu_problem(vcpus: float) -> str | None:
    """Why ``vcpus`` is not a Fargate size, or None when it is one."""
    if vcpus in FARGATE_MEMORY:
        return None
    return f"{vcpus:g} vCPU is not a Fargate size: use one of {', '.join(f'{v:g}' for v in FARGATE_MEMORY)}"


def memory_problem(vcpus: float, memory_mib: int) -> str | None:
    """Why ``memory_mib`` does not pair with a Fargate size of ``vcpus``, or None when it does."""
    memories = FARGATE_MEMORY.get(vcpus)
    if memories is None or memory_mib in memories:
        return None
    return f"{memory_mib} MiB does not pair with {vcpus:g} vCPU on Fargate: use {_describe(memories)}"


def _describe(values: tuple[int, ...]) -> str:
    steps = {b - a for a, b in itertools.pairwise(values)}
    if len(steps) == 1 and len(values) > 3:
        return f"{values[0]}..{values[-1]} in steps of {steps.pop()}"
    return "one of " + ", ".join(map(str, values))
