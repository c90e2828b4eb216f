"""Placement as ``jobs why`` and BP-CAP use it: which types hold a job, and which one a message names."""

from __future__ import annotations

from batchplane.capacity import fargate
from batchplane.capacity.catalogue import expand
from batchplane.capacity.placement import GPUS, MEMORY, VCPUS, Demand, place


def test_a_job_of_exactly_the_usable_memory_fits_and_one_mib_more_does_not() -> None:
    assert place(Demand(2, 7953), ["m4.large"]).fits
    assert not place(Demand(2, 7954), ["m4.large"]).fits


def test_holding_lists_only_the_types_that_hold_the_job() -> None:
    holding = place(Demand(4, 4096), ["c5.large", "c5.xlarge", "c5.2xlarge"]).holding
    assert [t.name for t in holding] == ["c5.2xlarge", "c5.xlarge"]


def test_explain_is_none_when_a_type_holds_the_job() -> None:
    assert place(Demand(1, 1024), ["m4.large"]).explain("queue q") is None


def test_explain_names_every_resource_the_largest_type_lacks() -> None:
    message = place(Demand(4, 16384), ["m4.large"]).explain("queue q")
    assert message == (
        "needs 16384 MiB and 4 vCPU: the largest instance queue q can launch, "
        "m4.large (2 vCPU, 7953 MiB usable of 8192 MiB, no GPU), cannot hold it"
    )


def test_a_job_short_of_vcpus_names_the_type_with_the_most_vcpus() -> None:
    types = expand(["optimal"]).types
    placement = place(Demand(max(t.vcpus for t in types) + 1, 1024), ["optimal"])
    nearest = placement.nearest()
    assert nearest is not None
    assert nearest.vcpus == max(t.vcpus for t in types)
    assert placement.demand.short_of(nearest) == (VCPUS,)


def test_a_job_short_of_memory_names_the_type_with_the_most_memory() -> None:
    types = expand(["optimal"]).types
    most = max(t.usable_memory_mib for t in types)
    placement = place(Demand(1, most + 1), ["optimal"])
    nearest = placement.nearest()
    assert nearest is not None
    assert nearest.usable_memory_mib == most
    assert placement.demand.short_of(nearest) == (MEMORY,)


def test_a_gpu_job_on_types_without_gpus_is_short_of_gpus() -> None:
    placement = place(Demand(1, 1024, gpus=1), ["c5"])
    nearest = placement.nearest()
    assert nearest is not None
    assert placement.demand.short_of(nearest) == (GPUS,)
    assert (placement.explain("queue q") or "").startswith("needs 1 GPU: the largest instance queue q can launch, c5.")


def test_a_type_that_fits_on_two_resources_is_nearer_than_one_that_fits_on_none() -> None:
    # c5.metal has the vCPUs but not the GPU; the GPU type has the GPU but too few vCPUs: both lack one.
    gpu_types = [t for t in expand(["g4dn"]).types if t.gpus]
    smallest_gpu = min(gpu_types, key=lambda t: t.vcpus)
    placement = place(Demand(smallest_gpu.vcpus + 1, 1024, gpus=1), ["c5.large", smallest_gpu.name])
    nearest = placement.nearest()
    assert nearest is not None
    assert nearest.name == smallest_gpu.name  # the rarer resource, GPUs, counts first


def test_unknown_entries_hold_nothing() -> None:
    placement = place(Demand(1, 512), ["m4.huge"])
    assert not placement.fits
    assert placement.nearest() is None
    assert placement.explain("queue q") == (
        "no instance type queue q can launch is known (instance types: m4.huge), so none can hold it"
    )


def test_fargate_sizes() -> None:
    assert fargate.vcpu_problem(4) is None
    assert fargate.vcpu_problem(3) == "3 vCPU is not a Fargate size: use one of 0.25, 0.5, 1, 2, 4, 8, 16"
    assert fargate.memory_problem(0.25, 2048) is None
    assert (
        fargate.memory_problem(0.25, 3072)
        == "3072 MiB does not pair with 0.25 vCPU on Fargate: use one of 512, 1024, 2048"
    )
    assert fargate.memory_problem(3, 3072) is None  # not a size at all: vcpu_problem says so
