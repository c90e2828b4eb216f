"""CKV_BP_3: Spot compute environments use a capacity-optimized allocation strategy.

BEST_FIT (the API default) blocks in-place updates and picks the cheapest pool,
which Spot reclaims first.
"""

from __future__ import annotations

import re
from typing import Any

from batchplane_iam import unwrap
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

ALLOWED = ("SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED")


class SpotAllocationCapacityOptimized(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Spot compute environments use a capacity-optimized allocation strategy",
            id="CKV_BP_3",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_batch_compute_environment"],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        resources = unwrap(conf.get("compute_resources"))
        if not isinstance(resources, dict):
            return CheckResult.PASSED  # unmanaged environments have no compute resources
        kind = str(unwrap(resources.get("type")) or "")
        if kind.upper() != "SPOT":
            return CheckResult.PASSED
        strategy = str(unwrap(resources.get("allocation_strategy")) or "")
        # An expression Checkov cannot resolve passes only if every strategy it can yield is allowed.
        named = set(re.findall(r"\b(?:SPOT_[A-Z_]+|BEST_FIT[A-Z_]*)\b", strategy))
        return CheckResult.PASSED if named and named <= set(ALLOWED) else CheckResult.FAILED


check = SpotAllocationCapacityOptimized()
