"""Render time of a large platform: 200 job types x 3 environments.

Prints the time to load and validate the spec, to render every root in
memory, and to compare with (and write) the tree on disk. Run:

    .venv/bin/python benchmarks/render.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from batchplane.images.lock import ImageLock
from batchplane.render import compare, render, write
from batchplane.spec import load_spec

JOBS = 200
ROUNDS = 5


def large_spec(jobs: int) -> str:
    lines = [
        "version: 1",
        "name: bench",
        "region: eu-west-1",
        "environments:",
    ]
    for index, env in enumerate(("dev", "test", "prod")):
        lines += [
            f"  {env}:",
            f'    account_id: "{index + 1}{index + 1}{index + 1}{index + 1}11111111"',
            f"    tier: {'production' if env == 'prod' else 'development'}",
            f"    network: {{create: true, cidr: 10.{index}.0.0/16, availability_zones: 3}}",
            "    max_vcpus: 4096",
        ]
        if env == "prod":
            lines += ["    overrides:", "      jobs:"]
            lines += [f"        job-{n:03d}: {{vcpus: 2, memory_mib: 4096}}" for n in range(0, jobs, 2)]
    lines += [
        "compute:",
        "  spot: {kind: ec2-spot, instance_types: [c6i.large, m6i.large], max_vcpus: 1024}",
        "  ondemand: {kind: ec2, instance_types: [optimal], max_vcpus: 512}",
        "  fargate: {kind: fargate, max_vcpus: 256}",
        "queues:",
        "  default: {priority: 10, compute: [spot, ondemand]}",
        "  light: {priority: 5, compute: [fargate]}",
        "jobs:",
    ]
    for n in range(jobs):
        queue = "light" if n % 4 == 0 else "default"
        lines += [
            f"  job-{n:03d}:",
            f"    image: image-{n % 20:02d}",
            f"    queue: {queue}",
            "    vcpus: 1",
            "    memory_mib: 2048",
            f"    command: [python, -m, job{n}, 'Ref::input']",
            "    parameters: {input: s3://bench-in/data.csv}",
            "    environment: {STAGE: batch, LEVEL: info}",
            "    timeout: 1h",
            "    retry: {attempts: 3, on_exit: [{on_status_reason: 'Host EC2*', action: retry}]}",
            f"    interruptible: {'true' if queue == 'default' else 'false'}",
            "    access:",
            f"      - {{service: s3, actions: [read, list], resources: ['bench-in/job{n}/*']}}",
            f"      - {{service: dynamodb, actions: [write], resources: ['table/t{n}']}}",
            f"    schedule: 'cron({n % 60} 3 * * ? *)'",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "platform.yaml").write_text(large_spec(JOBS), encoding="utf-8")
        loads, renders, writes = [], [], []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            spec = load_spec(repo / "platform.yaml", check_images=False)
            loaded = time.perf_counter()
            rendered = render(spec, ImageLock())
            done = time.perf_counter()
            write(repo, rendered, compare(repo, rendered))
            written = time.perf_counter()
            loads.append(loaded - start)
            renders.append(done - loaded)
            writes.append(written - done)
        files = len(rendered.tree)
        size = sum(len(v) for v in rendered.tree.values())
    print(f"spec: {JOBS} job types x 3 environments ({files} files, {size / 1024:.0f} KiB rendered)")
    print(f"load + validate : median {statistics.median(loads):.3f} s")
    print(f"render (memory) : median {statistics.median(renders):.3f} s")
    print(f"compare + write : median {statistics.median(writes):.3f} s")
    total = [a + b + c for a, b, c in zip(loads, renders, writes, strict=True)]
    print(f"total           : median {statistics.median(total):.3f} s (best {min(total):.3f} s of {ROUNDS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
