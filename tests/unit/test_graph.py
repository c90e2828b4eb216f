"""`batchplane graph`: the model, its Mermaid and DOT text, and the command (no Graphviz needed here).

There is no Mermaid renderer on the test machines (mermaid-cli needs a browser), so
:func:`parse_mermaid` checks the output against the grammar subset the command
emits, the way Mermaid's flowchart parser reads it:

    document   = "---" NL "title: " JSON-STRING NL "---" NL "flowchart LR" NL statement*
    statement  = subgraph | node | edge | classDef | class
    subgraph   = "subgraph " ID "[" STR "]" NL node* "end"
    node       = ID ( "[" STR "]" | "([" STR "])" | "[[" STR "]]" | "(" STR ")" )
    edge       = ID " --> " ID | ID " -->|" STR "| " ID
    classDef   = "classDef " ID " " PROP ("," PROP)*          PROP = NAME ":" VALUE
    class      = "class " ID ("," ID)* " " ID
    ID         = [A-Za-z][A-Za-z0-9_]*, not a flowchart keyword
    STR        = '"' ... '"' holding no '"', '#' only in entities #NNN;, '<' only in <br>

and every id an edge or class names is a node declared once. The same output was
checked once by hand with the real renderer (mermaid-cli 11.17, mermaid 11.17.2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import _Group
from batchplane.cli.graph import graph
from batchplane.spec import Spec, load_spec, parse_spec
from batchplane.views.graph import Graph, build_graph, to_dot, to_mermaid
from tests.conftest import EXAMPLE_SPEC

runner = CliRunner()

KEYWORDS = frozenset(
    {"end", "subgraph", "graph", "flowchart", "style", "linkStyle", "classDef", "class", "click", "call", "href"}
    | {"direction", "default", "interpolate", "TB", "TD", "BT", "LR", "RL"}
)
ID = r"[A-Za-z][A-Za-z0-9_]*"
STR = r'"[^"]*"'
SHAPES = {"[": "]", "([": "])", "[[": "]]", "(": ")"}
_NODE = re.compile(rf"^({ID})(\(\[|\[\[|\[|\()({STR})(\]\)|\]\]|\]|\))$")
_EDGE = re.compile(rf"^({ID}) -->(?:\|({STR})\|)? ({ID})$")
_SUBGRAPH = re.compile(rf"^subgraph ({ID})\[({STR})\]$")
_CLASSDEF = re.compile(rf"^classDef ({ID}) ([a-z-]+:[^,:]+(?:,[a-z-]+:[^,:]+)*)$")
_CLASS = re.compile(rf"^class ({ID}(?:,{ID})*) ({ID})$")


@dataclass
class Mermaid:
    """What a flowchart says, with labels decoded to the text a reader sees (lines split at <br>)."""

    title: str
    nodes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    edges: list[tuple[str, str | None, str]] = field(default_factory=list)
    subgraphs: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    class_defs: dict[str, str] = field(default_factory=dict)

    def label(self, node: str) -> list[str]:
        return self.nodes[node][1]


def _identifier(text: str) -> str:
    assert text not in KEYWORDS, f"{text!r} is a Mermaid keyword"
    return text


def decode(quoted: str) -> list[str]:
    """A quoted label as Mermaid shows it; fails on anything Mermaid would not read literally."""
    body = quoted[1:-1]
    assert '"' not in body
    lines = body.split("<br>")
    for line in lines:
        bare = re.sub(r"#[0-9]+;", "", line)
        for char in '#<>&`"\n':
            assert char not in bare, f"raw {char!r} in label {quoted}"
    return [re.sub(r"#([0-9]+);", lambda m: chr(int(m.group(1))), line) for line in lines]


def parse_mermaid(text: str) -> Mermaid:
    """Parse the emitted subset; any other line is a failure."""
    assert text.endswith("\n")
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[:4] == ["---", lines[1], "---", "flowchart LR"], lines[:4]
    assert lines[1].startswith("title: ")
    doc = Mermaid(title=json.loads(lines[1].removeprefix("title: ")))
    current: str | None = None
    for raw in lines[4:]:
        line = raw.strip()
        assert raw == " " * (8 if current and line != "end" else 4) + line, f"indentation: {raw!r}"
        if match := _SUBGRAPH.match(line):
            assert current is None, "nested subgraph"
            current = _identifier(match[1])
            assert current not in doc.subgraphs
            doc.subgraphs[current] = (decode(match[2])[0], [])
        elif line == "end":
            assert current is not None, "end without subgraph"
            current = None
        elif match := _NODE.match(line):
            node = _identifier(match[1])
            assert SHAPES[match[2]] == match[4], f"mismatched shape in {line}"
            assert node not in doc.nodes, f"{node} declared twice"
            doc.nodes[node] = (match[2] + match[4], decode(match[3]))
            if current is not None:
                doc.subgraphs[current][1].append(node)
        elif match := _EDGE.match(line):
            assert current is None
            label = decode(match[2])[0] if match[2] else None
            doc.edges.append((_identifier(match[1]), label, _identifier(match[3])))
        elif match := _CLASSDEF.match(line):
            doc.class_defs[_identifier(match[1])] = match[2]
        elif match := _CLASS.match(line):
            assert match[2] in doc.class_defs, f"class {match[2]} used before classDef"
            for node in match[1].split(","):
                assert node not in doc.classes, f"{node} classed twice"
                doc.classes[_identifier(node)] = match[2]
        else:
            raise AssertionError(f"not in the emitted grammar: {raw!r}")
    assert current is None, "subgraph not closed"
    for source, _, target in doc.edges:
        assert source in doc.nodes, source
        assert target in doc.nodes, target
    assert set(doc.classes) == set(doc.nodes), "every node has exactly one class"
    return doc


@pytest.fixture(scope="module")
def example() -> Spec:
    return load_spec(EXAMPLE_SPEC)


def _graph(spec: Spec, env: str) -> Graph:
    return build_graph(spec.env(env), env)


def _spec_from(document: dict[str, Any], tmp_path: Path) -> Spec:
    text = yaml.safe_dump(document, sort_keys=False)
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_spec(text, path=path, check_images=False)


def _example_doc() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))
    return document


# --- Mermaid ------------------------------------------------------------------


def test_mermaid_is_byte_identical_for_the_same_spec(example: Spec) -> None:
    again = load_spec(EXAMPLE_SPEC)
    assert to_mermaid(_graph(example, "dev")) == to_mermaid(_graph(again, "dev"))


def test_mermaid_does_not_depend_on_the_order_of_keys_in_the_spec(example: Spec, tmp_path: Path) -> None:
    document = _example_doc()
    for section in ("compute", "queues", "jobs"):
        document[section] = dict(reversed(list(document[section].items())))
    reordered = _spec_from(document, tmp_path)
    assert to_mermaid(_graph(reordered, "dev")) == to_mermaid(_graph(example, "dev"))


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_every_job_queue_and_compute_environment_is_drawn_with_its_settings(example: Spec, env: str) -> None:
    resolved = example.env(env)
    doc = parse_mermaid(to_mermaid(_graph(example, env)))
    kinds = {"ec2": "EC2", "ec2-spot": "EC2 Spot", "fargate": "Fargate", "fargate-spot": "Fargate Spot"}
    for name, compute in resolved.compute.items():
        node = "compute_" + name.replace("-", "_")
        assert doc.label(node) == [name, kinds[compute.kind], f"max {compute.max_vcpus} vCPUs"]
    for name, queue in resolved.queues.items():
        assert doc.label("queue_" + name)[:2] == [name, f"priority {queue.priority}"]
    for name, job in resolved.jobs.items():
        label = doc.label("job_" + name.replace("-", "_"))
        assert label[0] == name
        assert f"{job.vcpus:g} vCPU, {job.memory_mib} MiB" in label
    tiers = {caption: members for caption, members in doc.subgraphs.values()}
    assert len(tiers["Jobs"]) == len(resolved.jobs)
    assert len(tiers["Job queues"]) == len(resolved.queues)
    assert len(tiers["Compute environments"]) == len(resolved.compute)


def test_the_resolved_spec_is_drawn_with_the_environments_overrides(example: Spec) -> None:
    prod = parse_mermaid(to_mermaid(_graph(example, "prod")))
    dev = parse_mermaid(to_mermaid(_graph(example, "dev")))
    assert prod.label("compute_spot")[2] == "max 256 vCPUs"
    assert dev.label("compute_spot")[2] == "max 64 vCPUs"
    assert "2 vCPU, 4096 MiB" in prod.label("job_csv_ingest")
    assert prod.title == "acme / prod (production, eu-west-1): compute caps 320 of max 512 vCPUs"


def test_edges_go_from_jobs_to_their_queue_and_from_queues_to_compute_in_order(example: Spec) -> None:
    doc = parse_mermaid(to_mermaid(_graph(example, "dev")))
    job_edges = {(s, t) for s, label, t in doc.edges if s.startswith("job_")}
    assert job_edges == {
        ("job_csv_ingest", "queue_default"),
        ("job_nightly_report", "queue_critical"),
        ("job_data_quality", "queue_light"),
    }
    queue_edges = [(s, label, t) for s, label, t in doc.edges if s.startswith("queue_")]
    assert queue_edges == [
        ("queue_critical", "1st", "compute_ondemand"),
        ("queue_default", "1st", "compute_spot"),
        ("queue_default", "2nd", "compute_ondemand"),
        ("queue_light", "1st", "compute_serverless_spot"),
        ("queue_light", "2nd", "compute_serverless"),
    ]


def test_schedules_and_s3_triggers_point_at_their_job(example: Spec) -> None:
    doc = parse_mermaid(to_mermaid(_graph(example, "dev")))
    events = {s: t for s, _, t in doc.edges if s.startswith(("schedule_", "trigger_"))}
    assert events == {
        "schedule_csv_ingest": "job_csv_ingest",
        "trigger_csv_ingest_0": "job_csv_ingest",
        "schedule_nightly_report": "job_nightly_report",
        "schedule_data_quality": "job_data_quality",
    }
    assert doc.label("schedule_csv_ingest") == ["schedule", "cron(0 2 * * ? *)"]
    assert doc.label("schedule_data_quality") == ["schedule", "rate(6 hours)"]
    assert doc.label("trigger_csv_ingest_0") == [
        "S3 trigger",
        "s3://acme-input/incoming/*.csv",
        "sets parameter input",
    ]


def test_a_trigger_without_parameter_feeds_input_when_the_job_declares_it(tmp_path: Path) -> None:
    document = _example_doc()
    del document["jobs"]["csv-ingest"]["triggers"][0]["s3"]["parameter"]
    document["jobs"]["nightly-report"]["triggers"] = [{"s3": {"bucket": "acme-reports"}}]
    doc = parse_mermaid(to_mermaid(_graph(_spec_from(document, tmp_path), "dev")))
    assert doc.label("trigger_csv_ingest_0")[2] == "sets parameter input"
    assert doc.label("trigger_nightly_report_0") == ["S3 trigger", "s3://acme-reports/*"]


def test_spot_capacity_is_dashed_and_each_kind_has_its_class(example: Spec) -> None:
    doc = parse_mermaid(to_mermaid(_graph(example, "dev")))
    assert doc.classes["compute_spot"] == "ec2_spot"
    assert doc.classes["compute_serverless_spot"] == "fargate_spot"
    assert doc.classes["compute_ondemand"] == "ec2"
    assert "stroke-dasharray" in doc.class_defs["ec2_spot"]
    assert "stroke-dasharray" not in doc.class_defs["ec2"]


def test_aws_names_are_added_on_request(example: Spec) -> None:
    graph_ = _graph(example, "dev")
    plain = parse_mermaid(to_mermaid(graph_))
    named = parse_mermaid(to_mermaid(graph_, aws_names=True))
    assert "acme-dev-default" not in plain.label("queue_default")
    assert named.label("queue_default")[-1] == "acme-dev-default"
    assert named.label("job_csv_ingest")[-1] == "acme-dev-csv-ingest"
    assert named.label("compute_spot")[-1] == "acme-dev-spot-* (SPOT)"
    assert named.label("trigger_csv_ingest_0")[-1] == "acme-dev-csv-ingest-s3-0"


HOSTILE = 'in"co#m<b>i</b>ng;|]/%%x &amp; é `y` -->|z|\nend'


def test_spec_strings_cannot_break_out_of_a_label(tmp_path: Path) -> None:
    document = _example_doc()
    document["jobs"]["csv-ingest"]["triggers"][0]["s3"]["prefix"] = HOSTILE
    doc = parse_mermaid(to_mermaid(_graph(_spec_from(document, tmp_path), "dev")))
    assert doc.label("trigger_csv_ingest_0")[1] == f"s3://acme-input/{HOSTILE}*.csv"


def test_names_that_are_mermaid_keywords_get_safe_ids(tmp_path: Path) -> None:
    document = _example_doc()
    document["jobs"]["end"] = document["jobs"].pop("data-quality")
    document["queues"]["o-x"] = document["queues"].pop("light")
    document["jobs"]["end"]["queue"] = "o-x"
    document["pipelines"]["nightly"]["steps"]["check"]["job"] = "end"
    doc = parse_mermaid(to_mermaid(_graph(_spec_from(document, tmp_path), "dev")))
    assert ("job_end", None, "queue_o_x") in doc.edges
    assert doc.label("job_end")[0] == "end"


# --- DOT ----------------------------------------------------------------------


def test_dot_draws_the_same_nodes_and_edges_as_mermaid(example: Spec) -> None:
    graph_ = _graph(example, "dev")
    doc = parse_mermaid(to_mermaid(graph_))
    dot = to_dot(graph_)
    node_ids = re.findall(r"^    (\w+) \[shape=", dot, flags=re.MULTILINE)
    assert sorted(node_ids) == sorted(doc.nodes)
    edges = re.findall(r'^  (\w+) -> (\w+)(?: \[label="([^"]*)"\])?;$', dot, flags=re.MULTILINE)
    assert [(s, label or None, t) for s, t, label in edges] == doc.edges
    assert dot == to_dot(_graph(load_spec(EXAMPLE_SPEC), "dev"))


def test_dot_labels_are_escaped_html(tmp_path: Path) -> None:
    document = _example_doc()
    document["jobs"]["csv-ingest"]["triggers"][0]["s3"]["prefix"] = HOSTILE
    dot = to_dot(_graph(_spec_from(document, tmp_path), "dev"))
    line = next(x for x in dot.splitlines() if x.startswith("    trigger_csv_ingest_0 "))
    assert "in&quot;co#m&lt;b&gt;i&lt;/b&gt;ng;|]/%%x &amp;amp; é `y` --&gt;|z| end" in line
    assert "\n" not in line
    assert "<b>S3 trigger</b>" in line


def test_dot_keeps_each_tier_in_one_column(example: Spec) -> None:
    dot = to_dot(_graph(example, "dev"))
    assert "{ rank=same; queue_critical; queue_default; queue_light; }" in dot
    assert 'compute_spot [shape=box, style="dashed,rounded,filled"' in dot


# --- the command --------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)
    app.command()(graph)

    @app.callback()
    def _main() -> None:
        """Registered like cli.py does."""

    return app


def test_mermaid_on_stdout_by_default(example: Spec) -> None:
    result = runner.invoke(_app(), ["graph", "--env", "dev", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_mermaid(_graph(example, "dev"))
    parse_mermaid(result.stdout)


def test_the_command_draws_the_environments_resolved_spec() -> None:
    result = runner.invoke(_app(), ["graph", "--env", "prod", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    assert parse_mermaid(result.stdout).label("compute_spot")[2] == "max 256 vCPUs"


def test_the_format_follows_the_output_suffix(tmp_path: Path) -> None:
    for name, starts in (("g.mmd", "---\ntitle:"), ("g.dot", 'digraph "acme-dev"'), ("g.json", "{")):
        target = tmp_path / name
        result = runner.invoke(_app(), ["graph", "-e", "dev", "-o", str(target), "--spec", str(EXAMPLE_SPEC)])
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert target.read_text(encoding="utf-8").startswith(starts)
        assert f"wrote {target}" in result.stderr


def test_json_is_the_model(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["graph", "-e", "dev", "-f", "json", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 0, result.output
    model = json.loads(result.stdout)
    assert {"source": "queue_default", "target": "compute_spot", "label": "1st"} in model["edges"]
    spot = next(n for n in model["nodes"] if n["id"] == "compute_spot")
    assert spot["details"] == ["EC2 Spot", "max 64 vCPUs"]
    assert spot["aws_name"] == "acme-dev-spot-* (SPOT)"


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "dev.mmd"
    args = ["graph", "-e", "dev", "-o", str(target), "--spec", str(EXAMPLE_SPEC)]
    assert runner.invoke(_app(), args).exit_code == 0
    target.touch()
    before = target.stat().st_mtime_ns
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0
    assert "up to date" in result.stderr
    assert target.stat().st_mtime_ns == before


def test_an_explicit_format_wins_over_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "graph.txt"
    args = ["graph", "-e", "dev", "-f", "dot", "-o", str(target), "--spec", str(EXAMPLE_SPEC)]
    assert runner.invoke(_app(), args).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("digraph")


def test_an_unknown_suffix_without_format_is_a_usage_error(tmp_path: Path) -> None:
    args = ["graph", "-e", "dev", "-o", str(tmp_path / "graph.txt"), "--spec", str(EXAMPLE_SPEC)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 2
    assert "--format" in result.stderr
    assert not (tmp_path / "graph.txt").exists()


def test_an_unknown_environment_is_a_usage_error() -> None:
    result = runner.invoke(_app(), ["graph", "-e", "staging", "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 2
    assert "dev, test, prod" in result.stderr


def test_png_without_graphviz_exits_5_naming_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    target = tmp_path / "dev.png"
    result = runner.invoke(_app(), ["graph", "-e", "dev", "-o", str(target), "--spec", str(EXAMPLE_SPEC)])
    assert result.exit_code == 5
    assert "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.output
    assert not target.exists()
