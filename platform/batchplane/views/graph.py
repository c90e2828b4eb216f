"""A picture of one environment: schedules and triggers -> pipeline steps -> jobs -> queues -> compute.

One graph model (:func:`build_graph`, from the environment's resolved spec) is
the single source of truth; :func:`to_mermaid`, :func:`to_dot` and
:func:`as_json` only draw it, and :func:`render_graph` turns DOT into SVG or
PNG with Graphviz's ``dot``. Output is deterministic: nodes are sorted by tier
and name, edges follow the nodes, so the same spec gives the same bytes.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Literal

from batchplane.errors import ToolError
from batchplane.spec.jobs import Job, S3Trigger
from batchplane.spec.models import Compute, Platform
from batchplane.spec.pipelines import Pipeline

NodeKind = Literal["event", "step", "job", "queue", "compute"]
TIERS: tuple[tuple[NodeKind, str], ...] = (
    ("event", "Schedules and triggers"),
    ("step", "Pipeline steps"),
    ("job", "Jobs"),
    ("queue", "Job queues"),
    ("compute", "Compute environments"),
)

KIND_LABELS = {"ec2": "EC2", "ec2-spot": "EC2 Spot", "fargate": "Fargate", "fargate-spot": "Fargate Spot"}
# The compute resource type AWS Batch shows (modules/compute_environment maps kinds the same way).
AWS_TYPES = {"ec2": "EC2", "ec2-spot": "SPOT", "fargate": "FARGATE", "fargate-spot": "FARGATE_SPOT"}

GRAPHVIZ_PACKAGE = "graphviz"
GRAPHVIZ_TIMEOUT = 60.0
PNG_DPI = 144


class GraphFormat(StrEnum):
    """What ``batchplane graph`` can write."""

    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"
    json = "json"


FORMAT_SUFFIXES = {
    ".mmd": GraphFormat.mermaid,
    ".mermaid": GraphFormat.mermaid,
    ".dot": GraphFormat.dot,
    ".gv": GraphFormat.dot,
    ".svg": GraphFormat.svg,
    ".png": GraphFormat.png,
    ".json": GraphFormat.json,
}


@dataclass(frozen=True)
class Style:
    """How one class of node looks, in every format."""

    fill: str
    stroke: str
    dashed: bool = False


# Spot capacity is dashed: the one thing a reviewer must not miss is what can be reclaimed.
STYLES: dict[str, Style] = {
    "event": Style("#f1f3f4", "#5f6368"),
    "step": Style("#fce8e6", "#c5221f"),
    "job": Style("#e8f0fe", "#1a73e8"),
    "queue": Style("#fef7e0", "#e37400"),
    "ec2": Style("#e6f4ea", "#188038"),
    "ec2_spot": Style("#e6f4ea", "#188038", dashed=True),
    "fargate": Style("#f3e8fd", "#8430ce"),
    "fargate_spot": Style("#f3e8fd", "#8430ce", dashed=True),
}


@dataclass(frozen=True)
class Node:
    """One box: ``heading`` in bold, then ``details``; ``aws_name`` on request."""

    id: str
    kind: NodeKind
    style: str
    heading: str
    details: tuple[str, ...]
    aws_name: str

    def lines(self, aws_names: bool) -> list[str]:
        return [self.heading, *self.details, *([self.aws_name] if aws_names else [])]


@dataclass(frozen=True)
class Edge:
    """An arrow: what submits to what, what a queue places jobs on (``label``: the compute order)."""

    source: str
    target: str
    label: str | None = None


@dataclass(frozen=True)
class Graph:
    """An environment as nodes and edges, in drawing order."""

    platform: str
    environment: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def tier(self, kind: NodeKind) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]


def node_id(kind: str, *parts: str | int) -> str:
    """A Mermaid- and DOT-safe id: spec names are ``[a-z][a-z0-9-]*``, so ``-`` -> ``_`` is one-to-one."""
    return "_".join([kind, *(str(p).replace("-", "_") for p in parts)])


def _number(value: float) -> str:
    return f"{value:g}"


def _ordinal(position: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(position, f"{position}th")


def s3_pattern(trigger: S3Trigger) -> str:
    """The keys a trigger matches, as a person reads them: ``s3://bucket/prefix*suffix``."""
    return f"s3://{trigger.bucket}/{trigger.prefix or ''}*{trigger.suffix or ''}"


def _job_node(prefix: str, name: str, job: Job) -> Node:
    details = [f"{_number(job.vcpus)} vCPU, {job.memory_mib} MiB"]
    if job.timeout is not None:
        details.append(f"timeout {job.timeout}")
    if job.interruptible:
        details.append("interruptible")
    return Node(node_id("job", name), "job", "job", name, tuple(details), f"{prefix}-{name}")


def _compute_node(prefix: str, name: str, compute: Compute) -> Node:
    vcpus = f"max {compute.max_vcpus} vCPUs"
    if compute.min_vcpus:
        vcpus = f"{compute.min_vcpus}-{compute.max_vcpus} vCPUs"
    return Node(
        node_id("compute", name),
        "compute",
        compute.kind.replace("-", "_"),
        name,
        (KIND_LABELS[compute.kind], vcpus),
        f"{prefix}-{name}-* ({AWS_TYPES[compute.kind]})",
    )


def _events(prefix: str, name: str, job: Job) -> Iterator[Node]:
    if job.schedule is not None:
        yield Node(node_id("schedule", name), "event", "event", "schedule", (job.schedule,), f"{prefix}-{name}")
    for index, trigger in enumerate(job.triggers):
        parameter = job.trigger_parameter(trigger.s3)
        details = (s3_pattern(trigger.s3), *([f"sets parameter {parameter}"] if parameter else []))
        yield Node(
            node_id("trigger", name, index), "event", "event", "S3 trigger", details, f"{prefix}-{name}-s3-{index}"
        )


def _pipeline(prefix: str, name: str, pipeline: Pipeline) -> tuple[list[Node], list[Node], list[Edge]]:
    """A pipeline's schedule and triggers, its steps, and the arrows: event -> first steps,
    dependency -> dependent step, step -> the job it runs."""
    index = {step: position for position, step in enumerate(pipeline.steps)}
    ids = {step: node_id("step", name, position) for step, position in index.items()}
    events: list[Node] = []
    if pipeline.schedule is not None:
        events.append(
            Node(node_id("pschedule", name), "event", "event", "schedule", (pipeline.schedule,), f"{prefix}-{name}")
        )
    for position, trigger in enumerate(pipeline.triggers):
        events.append(
            Node(
                node_id("ptrigger", name, position),
                "event",
                "event",
                "S3 trigger",
                (s3_pattern(trigger.s3),),
                f"{prefix}-{name}-s3-{position}",
            )
        )
    steps: list[Node] = []
    edges: list[Edge] = []
    for step_name, step in pipeline.steps.items():
        details = [f"pipeline {name}", f"runs {step.job}"]
        if step.array_size is not None:
            details.append(f"array of {step.array_size}")
        steps.append(Node(ids[step_name], "step", "step", step_name, tuple(details), f"{prefix}-{name}"))
        if not step.depends_on:
            edges.extend(Edge(event.id, ids[step_name]) for event in events)
        edges.extend(Edge(ids[d], ids[step_name], "then") for d in step.depends_on if d in ids)
        edges.append(Edge(ids[step_name], node_id("job", step.job)))
    return events, steps, edges


def build_graph(platform: Platform, environment: str) -> Graph:
    """The graph of one environment; ``platform`` is that environment's resolved spec (``spec.env(name)``)."""
    env = platform.environments[environment]
    prefix = f"{platform.name}-{environment}"
    events: list[Node] = []
    jobs: list[Node] = []
    edges: list[Edge] = []
    for name, job in sorted(platform.jobs.items()):
        job_node = _job_node(prefix, name, job)
        jobs.append(job_node)
        for event in _events(prefix, name, job):
            events.append(event)
            edges.append(Edge(event.id, job_node.id))
    steps: list[Node] = []
    for name, pipeline in sorted(platform.pipelines.items()):
        pipeline_events, pipeline_steps, pipeline_edges = _pipeline(prefix, name, pipeline)
        events.extend(pipeline_events)
        steps.extend(pipeline_steps)
        edges.extend(pipeline_edges)
    edges.extend(Edge(node_id("job", name), node_id("queue", job.queue)) for name, job in sorted(platform.jobs.items()))
    queues = [
        Node(node_id("queue", name), "queue", "queue", name, (f"priority {queue.priority}",), f"{prefix}-{name}")
        for name, queue in sorted(platform.queues.items())
    ]
    for name, queue in sorted(platform.queues.items()):
        edges.extend(
            Edge(node_id("queue", name), node_id("compute", ce), _ordinal(position))
            for position, ce in enumerate(queue.compute, start=1)
        )
    computes = [_compute_node(prefix, name, compute) for name, compute in sorted(platform.compute.items())]
    total = sum(c.max_vcpus for c in platform.compute.values())
    title = (
        f"{platform.name} / {environment} ({env.tier}, {platform.region}): "
        f"compute caps {total} of max {env.max_vcpus} vCPUs"
    )
    nodes = (*events, *steps, *jobs, *queues, *computes)
    ids = [n.id for n in nodes]
    if len(set(ids)) != len(ids):  # node_id is one-to-one for valid names; a duplicate is a bug
        raise ValueError(f"duplicate node ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return Graph(platform.name, environment, title, nodes, tuple(edges))


# --- Mermaid ------------------------------------------------------------------

# Inside a quoted label Mermaid decodes `#NNN;` entities and interprets HTML; anything outside
# this set is written as an entity, so no spec string can end the label or inject markup.
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 .,:/()*?_=+@-]")
_MERMAID_SHAPES: dict[NodeKind, tuple[str, str]] = {
    "event": ("([", "])"),
    "step": ("[", "]"),
    "job": ("[", "]"),
    "queue": ("[[", "]]"),
    "compute": ("(", ")"),
}


def mermaid_text(text: str) -> str:
    """A label string for Mermaid's ``"..."``: safe characters as they are, the rest as ``#NNN;``."""
    return "".join(c if _MERMAID_SAFE.fullmatch(c) else f"#{ord(c)};" for c in text)


def _mermaid_label(lines: Sequence[str]) -> str:
    return '"' + "<br>".join(mermaid_text(line) for line in lines) + '"'


def to_mermaid(graph: Graph, *, aws_names: bool = False) -> str:
    """``flowchart LR`` text, one tier per subgraph."""
    out = ["---", f"title: {json.dumps(graph.title)}", "---", "flowchart LR"]
    for kind, caption in TIERS:
        members = graph.tier(kind)
        if not members:
            continue
        out.append(f"    subgraph tier_{kind}[{_mermaid_label([caption])}]")
        for node in members:
            opening, closing = _MERMAID_SHAPES[kind]
            out.append(f"        {node.id}{opening}{_mermaid_label(node.lines(aws_names))}{closing}")
        out.append("    end")
    for edge in graph.edges:
        arrow = "-->" if edge.label is None else f"-->|{_mermaid_label([edge.label])}|"
        out.append(f"    {edge.source} {arrow} {edge.target}")
    used = sorted({n.style for n in graph.nodes})
    for style_name in used:
        style = STYLES[style_name]
        dash = ",stroke-dasharray:5 5" if style.dashed else ""
        out.append(f"    classDef {style_name} fill:{style.fill},stroke:{style.stroke},color:#202124{dash}")
    for style_name in used:
        ids = ",".join(n.id for n in graph.nodes if n.style == style_name)
        out.append(f"    class {ids} {style_name}")
    return "\n".join(out) + "\n"


# --- DOT (Graphviz) -----------------------------------------------------------

_FONT = "Helvetica,Arial,sans-serif"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOT_SHAPES: dict[NodeKind, str] = {
    "event": 'shape=box, style="rounded,filled"',
    "step": 'shape=parallelogram, style="filled"',
    "job": 'shape=box, style="filled"',
    "queue": 'shape=box, style="filled", peripheries=2',
    "compute": 'shape=box, style="rounded,filled"',
}


def _dot_label(lines: Sequence[str]) -> str:
    """An HTML-like label (escaped, so spec strings stay text): heading bold, details below."""
    # Graphviz drops a raw line break inside HTML text; a space keeps the words apart.
    heading, *rest = (html.escape(_CONTROL.sub(" ", line), quote=True) for line in lines)
    return "<" + "<br/>".join([f"<b>{heading}</b>", *rest]) + ">"


def to_dot(graph: Graph, *, aws_names: bool = False) -> str:
    """Graphviz DOT text: one cluster per tier, each tier in one column."""
    out = [
        f"digraph {json.dumps(f'{graph.platform}-{graph.environment}')} {{",
        f'  graph [rankdir=LR, newrank=true, nodesep=0.25, ranksep=0.9, fontname="{_FONT}", fontsize=14,'
        f" labelloc=t, label={_dot_label([graph.title])}];",
        f'  node [fontname="{_FONT}", fontsize=11, margin="0.15,0.06", color="#5f6368"];',
        f'  edge [fontname="{_FONT}", fontsize=10, color="#5f6368", fontcolor="#5f6368"];',
    ]
    for kind, caption in TIERS:
        members = graph.tier(kind)
        if not members:
            continue
        out.append(f"  subgraph cluster_{kind} {{")
        out.append(f'    graph [label={_dot_label([caption])}, style="rounded,dashed", color="#bdc1c6", fontsize=12];')
        for node in members:
            style = STYLES[node.style]
            shape = _DOT_SHAPES[kind]
            if style.dashed:
                shape = shape.replace('style="', 'style="dashed,')
            out.append(
                f'    {node.id} [{shape}, fillcolor="{style.fill}", color="{style.stroke}", '
                f"label={_dot_label(node.lines(aws_names))}];"
            )
        # One column per tier, even for a queue no job uses.
        out.append(f"    {{ rank=same; {'; '.join(n.id for n in members)}; }}")
        out.append("  }")
    for edge in graph.edges:
        label = "" if edge.label is None else f" [label={json.dumps(edge.label)}]"
        out.append(f"  {edge.source} -> {edge.target}{label};")
    out.append("}")
    return "\n".join(out) + "\n"


# --- JSON and the renderers ---------------------------------------------------


def as_json(graph: Graph) -> str:
    """The model itself, for other tools: nodes and edges in drawing order."""
    return json.dumps(asdict(graph), indent=2, sort_keys=True) + "\n"


def graphviz(dot_text: str, fmt: Literal["svg", "png"], *, timeout: float = GRAPHVIZ_TIMEOUT) -> bytes:
    """DOT text drawn by Graphviz's ``dot``; ToolError (exit 5) when it is missing or fails."""
    argv = ["dot", f"-T{fmt}", *([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])]
    binary = shutil.which("dot")
    if binary is None:
        raise ToolError(
            GRAPHVIZ_PACKAGE,
            argv,
            f"`dot` is not on PATH: install Graphviz (Debian/Ubuntu package `{GRAPHVIZ_PACKAGE}`: "
            f"apt-get install {GRAPHVIZ_PACKAGE}), or use --format mermaid or dot",
        )
    try:
        done = subprocess.run(
            [binary, *argv[1:]], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(GRAPHVIZ_PACKAGE, argv, f"dot timed out after {timeout:.0f} s") from exc
    except OSError as exc:
        raise ToolError(GRAPHVIZ_PACKAGE, argv, f"cannot run dot: {exc}") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise ToolError(GRAPHVIZ_PACKAGE, argv, f"dot exited with {done.returncode}:\n{stderr}")
    return done.stdout


def render_graph(graph: Graph, fmt: GraphFormat, *, aws_names: bool = False) -> bytes:
    """The graph in one format, as the bytes to write."""
    if fmt is GraphFormat.mermaid:
        return to_mermaid(graph, aws_names=aws_names).encode("utf-8")
    if fmt is GraphFormat.dot:
        return to_dot(graph, aws_names=aws_names).encode("utf-8")
    if fmt is GraphFormat.json:
        return as_json(graph).encode("utf-8")
    return graphviz(to_dot(graph, aws_names=aws_names), "svg" if fmt is GraphFormat.svg else "png")
