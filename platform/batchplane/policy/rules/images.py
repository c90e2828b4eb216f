"""BP-IMG: what production environments run is pinned by digest."""

from __future__ import annotations

from collections.abc import Iterator

from batchplane.policy.rules.context import Check, Context, Rule, job_address

PINNED_IMAGES_ID = "BP-IMG-001"


def pinned_images(ctx: Context) -> Iterator[Check]:
    if not ctx.production:
        return
    for name, job in ctx.platform.jobs.items():
        loc = ("jobs", name, "image")
        if ctx.lock.entry(job.image, ctx.environment) is None:
            yield Check(
                loc,
                job_address(name),
                f"image {job.image} has no digest for {ctx.environment} in images.lock.json (promote one first)",
            )
        else:
            yield Check(loc, job_address(name))


RULES: tuple[Rule, ...] = (Rule(PINNED_IMAGES_ID, "Production images pinned by digest", "info", pinned_images),)
