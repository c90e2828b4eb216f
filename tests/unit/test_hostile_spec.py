"""Hostile and careless spec text: every case is a located error, never a silent change.

Each case breaks one line of a small valid spec and runs ``batchplane validate``
the way a user does: exit 3, a message naming ``platform.yaml:<line>`` and the
dotted path, no traceback. The property test then writes keys and values that
YAML 1.1 likes to reinterpret (ON, yes, 012, ~, control characters) into
environment, parameters and tags: each spec is either refused (exit 3) or
rendered with every key and value exactly as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from batchplane.cli.app import app
from batchplane.errors import ExitCode, SpecError
from batchplane.images.lock import ImageLock
from batchplane.render import render
from batchplane.spec import parse_spec

runner = CliRunner()

BASE = """\
version: 1
name: acme
region: eu-west-1
tags:
  owner: data
environments:
  prod:
    account_id: "111111111111"
    network: {create: true, cidr: 10.10.0.0/16, availability_zones: 2}
    max_vcpus: 64
compute:
  ec2:
    kind: ec2
    instance_types: [optimal]
    max_vcpus: 32
  fargate:
    kind: fargate
    max_vcpus: 16
queues:
  default:
    priority: 10
    compute: [ec2]
jobs:
  etl:
    image: etl
    queue: default
    vcpus: 1
    memory_mib: 2048
    command: [etl]
    environment:
      MODE: fast
    parameters:
      day: today
    schedule: rate(1 day)
    retry:
      attempts: 2
      on_exit:
        - {on_exit_code: "1", action: retry}
"""
LINES = BASE.splitlines()


def with_line(number: int, text: str) -> str:
    """BASE with its line ``number`` (1-based) replaced by ``text``."""
    assert LINES[number - 1].startswith(text[: len(text) - len(text.lstrip())]), "keep the indentation"
    return "\n".join([*LINES[: number - 1], text, *LINES[number:]]) + "\n"


def validate(text: str, directory: Path, *args: str) -> Result:
    spec = directory / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    return runner.invoke(app, ["validate", "--spec", str(spec), *args])


@dataclass(frozen=True)
class Case:
    id: str
    line: int
    text: str
    path: str
    message: str


BIG = "1" + "0" * 36  # 10**36
CASES = [
    # YAML 1.1 booleans, nulls and numbers used as keys keep their text and are refused.
    Case("bool-key-ON-in-environment", 31, "      ON: fast", "jobs.etl.environment.ON", 'quote it: "ON"'),
    Case("bool-key-yes-in-parameters", 33, "      yes: today", "jobs.etl.parameters.yes", 'quote it: "yes"'),
    Case("bool-key-NO-in-tags", 5, "  NO: data", "tags.NO", 'quote it: "NO"'),
    Case("null-key-in-environment", 31, "      ~: fast", "jobs.etl.environment.~", 'quote it: "~"'),
    Case("octal-key-in-tags", 5, "  012: data", "tags.012", 'quote it: "012"'),
    Case("float-key-in-tags", 5, "  1.5: data", "tags.1.5", 'quote it: "1.5"'),
    # Scalars read as something else than a string: the hint repeats the text as written.
    Case(
        "octal-account-id",
        8,
        "    account_id: 012345670123",
        "environments.prod.account_id",
        'quote it: "012345670123"',
    ),
    Case("no-as-environment-value", 31, "      MODE: no", "jobs.etl.environment.MODE", 'quote it: "no"'),
    Case("octal-environment-value", 31, "      MODE: 0123", "jobs.etl.environment.MODE", 'quote it: "0123"'),
    Case("empty-environment-value", 31, "      MODE:", "jobs.etl.environment.MODE", 'write "" for an empty string'),
    Case("date-parameter-value", 33, "      day: 2024-01-01", "jobs.etl.parameters.day", 'quote it: "2024-01-01"'),
    Case("hex-tag-value", 5, "  owner: 0x1F", "tags.owner", 'quote it: "0x1F"'),
    # Control characters.
    Case("nul-in-environment-value", 31, '      MODE: "a\\0b"', "jobs.etl.environment.MODE", "U+0000"),
    Case("escape-in-parameter-value", 33, '      day: "\\e[31m"', "jobs.etl.parameters.day", "U+001B"),
    Case("next-line-in-tag-value", 5, '  owner: "da\\Nta"', "tags.owner", "U+0085"),
    Case("bell-in-command", 29, '    command: ["et\\al"]', "jobs.etl.command[0]", "U+0007"),
    Case("carriage-return-in-key", 31, '      "MO\\rDE": fast', "jobs.etl.environment.MO\\u000dDE", "U+000D"),
    # Whole-string patterns: a trailing newline is not tolerated.
    Case("newline-after-schedule", 34, '    schedule: "rate(1 day)\\n"', "jobs.etl.schedule", "EventBridge"),
    Case(
        "newline-after-exit-code",
        38,
        '        - {on_exit_code: "1\\n", action: retry}',
        "jobs.etl.retry.on_exit[0]",
        "on_exit_code",
    ),
    Case("newline-after-name", 2, 'name: "acme\\n"', "name", "lowercase letters"),
    # Schedule grammars.
    Case("cron-six-arbitrary-tokens", 34, "    schedule: cron(a b c d ? f)", "jobs.etl.schedule", "not a number"),
    Case("cron-five-fields", 34, "    schedule: cron(0 12 * * ?)", "jobs.etl.schedule", "six fields"),
    Case("cron-both-days", 34, "    schedule: cron(0 12 * * MON *)", "jobs.etl.schedule", "exactly one of"),
    Case("cron-neither-day", 34, "    schedule: cron(0 12 ? * ? *)", "jobs.etl.schedule", "exactly one of"),
    Case("cron-minute-60", 34, "    schedule: cron(60 12 * * ? *)", "jobs.etl.schedule", "60 is outside 0-59"),
    Case("cron-bad-month", 34, "    schedule: cron(0 12 ? FOO MON *)", "jobs.etl.schedule", "month"),
    Case("cron-sixth-weekday", 34, "    schedule: cron(0 12 ? * MON#6 *)", "jobs.etl.schedule", "1-5"),
    Case("cron-year-3000", 34, "    schedule: cron(0 12 * * ? 3000)", "jobs.etl.schedule", "1970-2199"),
    Case("cron-zero-step", 34, "    schedule: cron(0/0 12 * * ? *)", "jobs.etl.schedule", "at least 1"),
    Case("rate-one-days", 34, "    schedule: rate(1 days)", "jobs.etl.schedule", "one of minute, hour, day"),
    Case("rate-5-minute", 34, "    schedule: rate(5 minute)", "jobs.etl.schedule", "minutes, hours, days"),
    Case("rate-zero", 34, "    schedule: rate(0 minutes)", "jobs.etl.schedule", "at least 1"),
    Case("at-february-30", 34, "    schedule: at(2030-02-30T10:00:00)", "jobs.etl.schedule", "not a real date"),
    # AWS limits.
    Case("environment-max-vcpus-10e36", 10, f"    max_vcpus: {BIG}", "environments.prod.max_vcpus", "less than"),
    Case("compute-max-vcpus-10e36", 15, f"    max_vcpus: {BIG}", "compute.ec2.max_vcpus", "less than"),
    Case("memory-10e36", 28, f"    memory_mib: {BIG}", "jobs.etl.memory_mib", "less than"),
    Case("timeout-forever", 34, "    timeout: 99999999d", "jobs.etl.timeout", "longer than AWS Batch allows"),
    Case("tag-key-aws-prefix", 5, "  aws:owner: data", "tags.aws:owner", "reserved"),
    Case("tag-key-hash", 5, '  "own#er": data', "tags.own#er", "characters AWS refuses"),
    Case("tag-key-too-long", 5, f"  {'k' * 129}: data", f"tags.{'k' * 129}", "at most 128"),
    Case("tag-value-too-long", 5, f"  owner: {'v' * 257}", "tags.owner", "at most 256"),
    Case("tag-key-braces", 5, '  "{owner}": data', "tags.{owner}", "characters AWS refuses"),
    Case(
        "cidr-octet-999",
        9,
        "    network: {create: true, cidr: 10.999.0.0/16, availability_zones: 2}",
        "environments.prod.network",
        "cidr",
    ),
    Case("job-name-too-long", 24, f"  {'e' * 33}:", f"jobs.{'e' * 33}", "at most 32 characters"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_spec_line_is_a_located_error(case: Case, tmp_path: Path) -> None:
    result = validate(with_line(case.line, case.text), tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID, result.output
    assert "Traceback" not in result.output
    located = [line for line in result.output.splitlines() if f"platform.yaml:{case.line}: {case.path}: " in line]
    assert any(case.message in line for line in located), result.output


def test_quote_hint_never_repeats_the_parsed_value(tmp_path: Path) -> None:
    result = validate(with_line(8, "    account_id: 012345670123"), tmp_path)

    assert 'quote it: "1402433619"' not in result.output
    assert 'quote it: "012345670123"' in result.output


def test_all_six_yaml_boolean_keys_are_reported_not_merged(tmp_path: Path) -> None:
    text = BASE.replace("      MODE: fast\n", '      ON: "1"\n      YES: "2"\n      NO: x\n')

    result = validate(text, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    for key in ("ON", "YES", "NO"):
        assert f"jobs.etl.environment.{key}: " in result.output
    assert "True" not in result.output.replace("the boolean True", "")


def test_tab_and_newline_are_allowed_in_an_environment_value(tmp_path: Path) -> None:
    result = validate(with_line(31, '      MODE: "a\\tb\\nc"'), tmp_path)

    assert result.exit_code == 0, result.output


def test_a_valid_cron_with_names_lists_ranges_and_specials_passes(tmp_path: Path) -> None:
    for schedule in (
        "cron(0/15 8-18 ? JAN-MAR,DEC MON-FRI *)",
        "cron(0 12 L * ? 2030)",
        "cron(0 12 15W * ? *)",
        "cron(0 12 ? * 6L *)",
        "cron(0 12 ? * FRI#3 *)",
        "rate(1 minute)",
        "at(2030-02-28T10:00:00)",
    ):
        result = validate(with_line(34, f"    schedule: {schedule}"), tmp_path)
        assert result.exit_code == 0, (schedule, result.output)


MISSPELT_UNKNOWN_MIXED = (
    BASE.replace("    compute: [ec2]", "    compute: [ec2, fargate]")
    .replace("    queue: default", "    queue: defualt")
    .replace("    command: [etl]", "    comand: [etl]")
)


def test_misspelt_key_unknown_queue_and_mixed_queue_are_reported_in_one_run(tmp_path: Path) -> None:
    result = validate(MISSPELT_UNKNOWN_MIXED, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    assert "Traceback" not in result.output
    assert "platform.yaml:29: jobs.etl.comand: unknown key 'comand' (did you mean 'command'?)" in result.output
    assert "platform.yaml:26: jobs.etl.queue: no queue named 'defualt' (did you mean 'default'?)" in result.output
    assert "platform.yaml:22: queues.default.compute: a queue cannot mix Fargate and EC2" in result.output


def test_reference_checks_skip_entries_that_did_not_parse(tmp_path: Path) -> None:
    # The compute environment is broken; the queue naming it must not call it unknown.
    text = with_line(13, "    kind: ec3")

    result = validate(text, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    assert "compute.ec2.kind" in result.output
    assert "no compute environment named" not in result.output


def test_an_override_of_a_misspelt_job_suggests_the_job(tmp_path: Path) -> None:
    override = "    overrides:\n      jobs:\n        elt: {vcpus: 2}\n"
    text = BASE.replace("    max_vcpus: 64\n", "    max_vcpus: 64\n" + override)

    result = validate(text, tmp_path)

    assert result.exit_code == ExitCode.SPEC_INVALID
    assert "platform.yaml:13: environments.prod.overrides.jobs.elt: " in result.output
    assert "there is no jobs.elt (did you mean 'etl'?)" in result.output


def test_unknown_env_suggests_the_closest_name(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(BASE, encoding="utf-8")

    result = runner.invoke(app, ["render", "--check", "--spec", str(spec), "--env", "prd"])

    assert result.exit_code == ExitCode.USAGE
    assert "did you mean 'prod'?" in result.output
    assert "Traceback" not in result.output


# --- property: what is written is what is rendered ------------------------------------------

HOSTILE = ["ON", "on", "yes", "YES", "no", "No", "off", "y", "n", "null", "Null", "~", "true", "False",
           "012", "0123", "012345670123", "1e3", "1.5", "1_000", "0x1F", ".inf", ".nan", "-1", "+1",
           "2024-01-01", "12:30", "a", "A_1", "x"]  # fmt: skip
CONTROL = ["\x00", "a\x00b", "\x1b[31m", "\r", "x\x7f", "\x85", "tab\there", "line\n"]
# Identifiers make it past the name patterns, so that many specs reach rendering.
TEXT = st.one_of(
    st.sampled_from(HOSTILE + CONTROL),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True),
    st.text(max_size=8),
)
PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~+-]*|~")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scalar(text: str, plain: bool) -> str:
    """``text`` as YAML: plain when it can be written so (and YAML 1.1 may reinterpret it), else quoted."""
    return text if plain and PLAIN.fullmatch(text) else json.dumps(text)


@st.composite
def hostile_maps(draw: st.DrawFn) -> tuple[str, dict[str, dict[str, str]]]:
    sections: dict[str, dict[str, str]] = {}
    lines: dict[str, list[str]] = {}
    for section in ("environment", "parameters", "tags"):
        entries = draw(st.dictionaries(TEXT, TEXT, min_size=1, max_size=3))
        sections[section] = entries
        lines[section] = [
            f"{_scalar(k, draw(st.booleans()))}: {_scalar(v, draw(st.booleans()))}" for k, v in entries.items()
        ]
    text = (
        BASE.replace("  owner: data\n", "".join(f"  {line}\n" for line in lines["tags"]))
        .replace("      MODE: fast\n", "".join(f"      {line}\n" for line in lines["environment"]))
        .replace("      day: today\n", "".join(f"      {line}\n" for line in lines["parameters"]))
    )
    return text, sections


@PROPERTY
@given(hostile_maps())
def test_hostile_keys_and_values_are_refused_or_rendered_as_written(
    case: tuple[str, dict[str, dict[str, str]]],
) -> None:
    text, written = case
    try:
        spec = parse_spec(text, path=Path("/nonexistent/platform.yaml"), check_images=False)
    except SpecError as exc:
        refused = exc.exit_code
    else:
        refused = None
    if refused is not None:
        assert refused == ExitCode.SPEC_INVALID
        return
    tfvars = json.loads(render(spec, ImageLock()).tree["environments/prod/terraform.tfvars.json"])
    job = tfvars["jobs"]["etl"]
    assert job["environment"] == written["environment"]
    assert job["parameters"] == written["parameters"]
    assert {k: tfvars["tags"].get(k) for k in written["tags"]} == written["tags"]


def test_quoted_lookalikes_render_exactly_as_written() -> None:
    text = (
        BASE.replace("  owner: data\n", '  "ON": "yes"\n  "012": "1e3"\n')
        .replace("      MODE: fast\n", '      MODE: "012345670123"\n      "NO": "~"\n')
        .replace("      day: today\n", '      day: "2024-01-01"\n')
    )

    spec = parse_spec(text, path=Path("/nonexistent/platform.yaml"), check_images=False)
    tfvars = json.loads(render(spec, ImageLock()).tree["environments/prod/terraform.tfvars.json"])

    assert tfvars["jobs"]["etl"]["environment"] == {"MODE": "012345670123", "NO": "~"}
    assert tfvars["jobs"]["etl"]["parameters"] == {"day": "2024-01-01"}
    assert tfvars["tags"]["ON"] == "yes"
    assert tfvars["tags"]["012"] == "1e3"
