"""graph draws pipelines: their schedule, their steps in dependency order, and the jobs the steps run."""

from __future__ import annotations

import json

from batchplane.spec import load_spec
from batchplane.views.graph import as_json, build_graph, to_dot, to_mermaid
from tests.conftest import EXAMPLE_SPEC


def _graph() -> dict[str, object]:
    spec = load_spec(EXAMPLE_SPEC)
    document: dict[str, object] = json.loads(as_json(build_graph(spec.env("dev"), "dev")))
    return document


def test_steps_are_nodes_with_their_pipeline_job_and_array_size() -> None:
    nodes = {n["id"]: n for n in _graph()["nodes"]}  # type: ignore[attr-defined]
    steps = {i: n for i, n in nodes.items() if n["kind"] == "step"}
    assert {i: (n["heading"], tuple(n["details"])) for i, n in steps.items()} == {
        "step_nightly_0": ("ingest", ("pipeline nightly", "runs csv-ingest")),
        "step_nightly_1": ("check", ("pipeline nightly", "runs data-quality")),
        "step_nightly_2": ("report", ("pipeline nightly", "runs nightly-report", "array of 4")),
    }
    assert nodes["pschedule_nightly"]["details"] == ["cron(0 1 * * ? *)"]


def test_edges_run_from_the_schedule_through_the_dependencies_to_the_jobs() -> None:
    edges = {(e["source"], e["target"], e["label"]) for e in _graph()["edges"]}  # type: ignore[attr-defined]
    assert {
        ("pschedule_nightly", "step_nightly_0", None),
        ("step_nightly_0", "step_nightly_1", "then"),
        ("step_nightly_1", "step_nightly_2", "then"),
        ("step_nightly_0", "job_csv_ingest", None),
        ("step_nightly_1", "job_data_quality", None),
        ("step_nightly_2", "job_nightly_report", None),
    } <= edges
    assert ("pschedule_nightly", "step_nightly_1", None) not in edges


def test_mermaid_and_dot_draw_the_steps_tier() -> None:
    graph = build_graph(load_spec(EXAMPLE_SPEC).env("dev"), "dev")
    mermaid = to_mermaid(graph)
    assert 'subgraph tier_step["Pipeline steps"]' in mermaid
    assert 'step_nightly_0 -->|"then"| step_nightly_1' in mermaid
    dot = to_dot(graph)
    assert "subgraph cluster_step {" in dot
    assert 'step_nightly_1 -> step_nightly_2 [label="then"];' in dot
