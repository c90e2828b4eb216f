"""Whatever the input, the loader either returns a Spec or raises SpecError; the CLI never crashes.

Three sources of input: arbitrary text, YAML documents built from random
mappings, lists and scalars, and mutations of the example spec (a key dropped,
a scalar given another type, a key inserted). Each goes to ``parse_spec``
directly and through ``batchplane validate``, which must exit 0 or 3 and never
print a traceback (exit 1 means an unexpected exception: a bug).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.errors import ExitCode, SpecError
from batchplane.spec import Spec, parse_spec

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The CLI adds only its error handling to parse_spec, which FUZZ stresses already; each CLI
# invocation costs ~20 ms more (typer rebuilds the command), so fewer examples here.
FUZZ_CLI = settings(FUZZ, max_examples=50)
SPEC_PATH = Path("/nonexistent/platform.yaml")  # check_images=False: never read

EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "platform.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_SPEC.read_text(encoding="utf-8"))

# Keys the models know, so that random documents often reach deep validation.
KNOWN_KEYS = sorted(
    {
        "version", "name", "region", "tags", "state", "registry", "environments", "compute",
        "queues", "jobs", "policy", "backend", "s3", "bucket", "key_prefix", "type", "url",
        "account_id", "tier", "approval", "network", "create", "cidr", "availability_zones",
        "vpc_id", "subnet_ids", "security_group_ids", "max_vcpus", "min_vcpus",
        "log_retention_days", "overrides", "kind", "instance_types", "allocation_strategy",
        "bid_percentage", "priority", "image", "queue", "vcpus", "memory_mib", "command",
        "parameters", "environment", "secrets", "timeout", "retry", "attempts", "on_exit",
        "action", "on_exit_code", "on_reason", "on_status_reason", "interruptible", "access",
        "service", "actions", "resources", "statements", "effect", "schedule", "triggers",
        "prefix", "suffix", "parameter", "settings", "waivers", "id", "target", "reason",
        "expires", "dev", "prod", "spot", "default", "csv-ingest", "<<",
    }
)  # fmt: skip

YAML_TOKENS = [
    *"abcxyz019 .,:-_?!&*|>'\"%@`#[]{}<=~\\/\n\t\x07",
    *["\r\n", ": ", "- ", "  ", "\n  ", "---", "&a ", "*a", "<<: ", "2027-02-30", "1e999", "0x"],
    *["!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!custom "],
]
yaml_ish_text = st.lists(st.sampled_from(YAML_TOKENS), max_size=60).map("".join)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["1", "0.25", "1h", "30s", "ec2", "fargate", "default", "*", "111111111111"]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12), st.integers(-5, 5))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=15,
)
documents = st.one_of(values, st.dictionaries(keys, values, max_size=8))


def to_yaml(document: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: 5x faster
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True)


def nodes(document: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every value below ``document`` (keys of mappings, indexes of lists)."""
    found = []
    children = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in children:
        found.append((*at, key))
        if isinstance(value, dict | list) and value:
            found += nodes(value, (*at, key))
    return found


def lookup(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, Any]:
    """The example spec with one to three drops, retypes or inserted keys."""
    document = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = nodes(document)
        if not paths:
            break
        mutation = draw(st.sampled_from(["drop", "retype", "insert"]))
        if mutation == "insert":
            mappings = [()] + [p for p in paths if isinstance(lookup(document, p), dict)]
            target = lookup(document, draw(st.sampled_from(mappings)))
            target[draw(keys)] = draw(values)
            continue
        path = draw(st.sampled_from(paths))
        parent = lookup(document, path[:-1])
        if mutation == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(other_type_than(parent[path[-1]]))
    return document


def other_type_than(old: Any) -> st.SearchStrategy[Any]:
    return scalars.filter(lambda new: type(new) is not type(old))


def outcome(text: str) -> Spec | SpecError:
    """What ``parse_spec`` makes of ``text``; any exception but SpecError escapes (a bug)."""
    try:
        return parse_spec(text, path=SPEC_PATH, check_images=False)
    except SpecError as exc:
        return exc


def parses_or_reports(text: str) -> None:
    result = outcome(text)
    if isinstance(result, SpecError):
        assert result.problems
        assert all(problem.message for problem in result.problems)
    else:
        assert isinstance(result, Spec)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform.yaml in a directory without job_images/, rewritten by each example."""
    return tmp_path_factory.mktemp("fuzz") / "platform.yaml"


def validate_exits_cleanly(spec_file: Path, text: str) -> None:
    spec_file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--spec", str(spec_file)])
    assert result.exit_code in (ExitCode.OK, ExitCode.SPEC_INVALID), result.output
    assert "Traceback" not in result.output


def test_the_example_spec_is_the_valid_starting_point() -> None:
    assert isinstance(outcome(to_yaml(EXAMPLE)), Spec)


@FUZZ
@given(st.one_of(st.text(), yaml_ish_text))
def test_arbitrary_text_parses_or_reports(text: str) -> None:
    parses_or_reports(text)


@FUZZ_CLI
@given(yaml_ish_text)
def test_arbitrary_text_never_crashes_validate(spec_file: Path, text: str) -> None:
    validate_exits_cleanly(spec_file, text)


@FUZZ
@given(documents)
def test_random_documents_parse_or_report(document: Any) -> None:
    parses_or_reports(to_yaml(document))


@FUZZ_CLI
@given(documents)
def test_random_documents_never_crash_validate(spec_file: Path, document: Any) -> None:
    validate_exits_cleanly(spec_file, to_yaml(document))


@FUZZ
@given(mutated_examples())
def test_mutated_examples_parse_or_report_located_problems(document: dict[str, Any]) -> None:
    result = outcome(to_yaml(document))
    if isinstance(result, SpecError):
        unlocated = [str(problem) for problem in result.problems if problem.line is None]
        assert result.problems
        assert not unlocated
    else:
        assert isinstance(result, Spec)


@FUZZ_CLI
@given(mutated_examples())
def test_mutated_examples_never_crash_validate(spec_file: Path, document: dict[str, Any]) -> None:
    validate_exits_cleanly(spec_file, to_yaml(document))
