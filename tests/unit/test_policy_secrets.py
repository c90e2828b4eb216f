"""Secrets in a job's command, parameters, environment and in tags: found by detect-secrets (BP-SEC-001..003).

Each location has one value that trips its rule and one that does not; then
attempts to slip a credential past the gate, each a `check --spec-only` that
must exit 4. Fake credentials are assembled from parts so that no scanner of
this repository mistakes the test for a leak.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from batchplane.cli.app import app
from batchplane.policy import secrets
from tests.unit.policy_support import base, write_spec

runner = CliRunner()
Doc = dict[str, Any]

AWS_KEY_ID = "AKIA" + "Z7QW3RT5YU8IO2PX"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ9v3LkT0aB"
GITHUB_TOKEN = "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
SLACK_TOKEN = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
PRIVATE_KEY = "\n".join(
    [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi4sEtbL1hN2KfV8qFv0xq1Yx0d",
        "5Pq8mJ3sZ2kR7uT1vW4xY6zA9bC2dE5fG8hJ1kL4mN7pQ0rS3tU6vX9yZ2aB5cD8",
        "-----END RSA " + "PRIVATE KEY-----",
    ]
)
ORDINARY = [
    "acme-products",
    "s3://acme-input/incoming/sample.csv",
    "s3://acme-reports/daily/",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/db-password",
    "arn:aws:iam::111111111111:role/acme-reader",
    "arn:aws:sqs:eu-west-1:111111111111:acme-queue",
    "https://sqs.eu-west-1.amazonaws.com/111111111111/acme-queue",
    "Ref::input",
    "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/csv-ingest@sha256:" + "0123456789abcdef" * 4,
    "ghcr.io/acme/report:2024.06.1",
    "cron(0 2 * * ? *)",
    "rate(6 hours)",
    "4f2a9c1e8b7d6a5f3e2c1b0a9d8e7f6c5b4a3d2e",
    "123e4567-e89b-12d3-a456-426614174000",
    "2024-01-01T00:00:00Z",
    "INFO",
    "--table",
    "python",
    "-m",
    "csv_ingest",
    "4711",
    "data-platform",
    "eu-west-1",
    "/acme/prod/db-host",
    "SELECT id, name FROM products WHERE updated_at > :since",
]


def _job(doc: Doc) -> Doc:
    job: Doc = doc["jobs"]["ingest"]
    return job


def _check(tmp_path: Path, change: Callable[[Doc], None]) -> tuple[int, list[dict[str, Any]], str]:
    """`check --spec-only --format json` on the base spec after ``change``: exit code, findings, output."""
    path = write_spec(tmp_path)
    doc = base()
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = runner.invoke(app, ["check", "--spec-only", "--format", "json", "--spec", str(path)])
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"] if result.stdout.strip() else []
    return result.exit_code, findings, result.output


def _where(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["id"], f["spec_path"]) for f in findings}


# --- one tripping and one passing value per location ---------------------------


def test_a_password_in_the_environment_is_bp_sec_001(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(DB_PASSWORD="Tr0ub4dor-and-3"))
    assert code == 4
    assert _where(findings) == {("BP-SEC-001", "jobs.ingest.environment.DB_PASSWORD")}


def test_ordinary_environment_values_pass(tmp_path: Path) -> None:
    def change(doc: Doc) -> None:
        _job(doc)["environment"] = {f"VALUE_{i}": value for i, value in enumerate(ORDINARY)}

    code, findings, _ = _check(tmp_path, change)
    assert (code, findings) == (0, [])


def test_a_token_in_a_command_argument_is_bp_sec_002(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["command"].extend(["--token", GITHUB_TOKEN]))
    assert code == 4
    assert _where(findings) == {("BP-SEC-002", "jobs.ingest.command[4]")}


def test_ordinary_command_arguments_pass(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["command"].extend(ORDINARY))
    assert (code, findings) == (0, [])


def test_credentials_in_a_parameter_are_bp_sec_002(tmp_path: Path) -> None:
    dsn = "postgres://etl:" + "Sup3r-S3cret-pw" + "@db.acme.internal:5432/warehouse"
    code, findings, _ = _check(tmp_path, lambda d: _job(d).update(parameters={"dsn": dsn}))
    assert code == 4
    assert _where(findings) == {("BP-SEC-002", "jobs.ingest.parameters.dsn")}


def test_ordinary_parameters_pass(tmp_path: Path) -> None:
    def change(doc: Doc) -> None:
        _job(doc)["parameters"] = {f"p{i}": value for i, value in enumerate(ORDINARY)}

    code, findings, _ = _check(tmp_path, change)
    assert (code, findings) == (0, [])


def test_an_access_key_in_a_tag_is_bp_sec_003(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: d.update(tags={"deployer": AWS_KEY_ID}))
    assert code == 4
    assert _where(findings) == {("BP-SEC-003", "tags.deployer")}


def test_ordinary_tags_pass(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: d.update(tags={f"t{i}": v for i, v in enumerate(ORDINARY)}))
    assert (code, findings) == (0, [])


# --- what a finding says -----------------------------------------------------


def test_a_finding_never_echoes_the_secret(tmp_path: Path) -> None:
    code, findings, output = _check(tmp_path, lambda d: _job(d)["environment"].update(UPSTREAM=AWS_KEY_ID))
    assert code == 4
    assert AWS_KEY_ID not in output
    assert all(AWS_KEY_ID not in json.dumps(f) for f in findings)
    assert "AWS Access Key" in findings[0]["message"]


def test_a_secret_is_critical_in_production_and_high_elsewhere(tmp_path: Path) -> None:
    _, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(UPSTREAM=AWS_KEY_ID))
    assert {(f["environment"], f["severity"]) for f in findings} == {("dev", "high"), ("prod", "critical")}


def test_a_finding_carries_the_line_of_the_value(tmp_path: Path) -> None:
    _, findings, _ = _check(tmp_path, lambda d: d.update(tags={"owner": "data", "deployer": AWS_KEY_ID}))
    spec_lines = (tmp_path / "platform.yaml").read_text().splitlines()
    line = findings[0]["line"]
    assert spec_lines[line - 1].strip().startswith("deployer:")


def test_a_secret_set_in_an_override_is_found_at_the_override(tmp_path: Path) -> None:
    def change(doc: Doc) -> None:
        doc["environments"]["prod"]["overrides"] = {"jobs": {"ingest": {"environment": {"KEY": AWS_KEY_ID}}}}

    code, findings, _ = _check(tmp_path, change)
    assert code == 4
    assert _where(findings) == {("BP-SEC-001", "environments.prod.overrides.jobs.ingest.environment.KEY")}


# --- bypass attempts: each must make `check --spec-only` exit 4 ----------------


def test_bypass_an_aws_secret_access_key_in_an_innocently_named_variable(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(SETTINGS=AWS_SECRET_KEY))
    assert (code, _where(findings)) == (4, {("BP-SEC-001", "jobs.ingest.environment.SETTINGS")})


def test_bypass_a_private_key_in_a_parameter(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d).update(parameters={"cert": PRIVATE_KEY}))
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "jobs.ingest.parameters.cert")})


def test_bypass_a_github_token_as_a_bare_command_argument(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["command"].append(GITHUB_TOKEN))
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "jobs.ingest.command[3]")})


def test_bypass_credentials_in_a_url_in_a_tag(tmp_path: Path) -> None:
    url = "https://ci-bot:" + "gh0st-in-the-shell" + "@git.acme.internal/data/etl.git"
    code, findings, _ = _check(tmp_path, lambda d: d.update(tags={"source": url}))
    assert (code, _where(findings)) == (4, {("BP-SEC-003", "tags.source")})


def test_bypass_a_high_entropy_password_in_the_environment(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(DB_PASS="Xk9#mQ2$vL8!pR4zTq7"))
    assert (code, _where(findings)) == (4, {("BP-SEC-001", "jobs.ingest.environment.DB_PASS")})


def test_bypass_base64_of_a_private_key(tmp_path: Path) -> None:
    encoded = base64.b64encode(PRIVATE_KEY.encode()).decode()
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(TLS_BUNDLE=encoded))
    assert (code, _where(findings)) == (4, {("BP-SEC-001", "jobs.ingest.environment.TLS_BUNDLE")})


def test_bypass_a_short_base64_wrapped_token(tmp_path: Path) -> None:
    encoded = base64.b64encode(f"token={SLACK_TOKEN}".encode()).decode()
    code, findings, _ = _check(tmp_path, lambda d: _job(d).update(parameters={"blob": encoded}))
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "jobs.ingest.parameters.blob")})


def test_bypass_a_password_glued_to_its_option(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["command"].append("--password=Tr0ub4dor-and-3"))
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "jobs.ingest.command[3]")})


def test_bypass_a_slack_token_in_a_parameter_named_like_a_url(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: _job(d).update(parameters={"webhook": SLACK_TOKEN}))
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "jobs.ingest.parameters.webhook")})


def test_bypass_a_stripe_key_in_a_tag_with_a_harmless_name(tmp_path: Path) -> None:
    code, findings, _ = _check(tmp_path, lambda d: d.update(tags={"billing": STRIPE_KEY}))
    assert (code, _where(findings)) == (4, {("BP-SEC-003", "tags.billing")})


def test_bypass_an_allowlist_comment_inside_the_value(tmp_path: Path) -> None:
    value = AWS_KEY_ID + "  # pragma: allowlist secret"
    code, findings, _ = _check(tmp_path, lambda d: _job(d)["environment"].update(UPSTREAM=value))
    assert (code, _where(findings)) == (4, {("BP-SEC-001", "jobs.ingest.environment.UPSTREAM")})


def test_bypass_an_access_key_only_in_the_production_override(tmp_path: Path) -> None:
    def change(doc: Doc) -> None:
        doc["environments"]["prod"]["overrides"] = {"jobs": {"ingest": {"command": ["python", "-m", AWS_KEY_ID]}}}

    code, findings, _ = _check(tmp_path, change)
    assert (code, _where(findings)) == (4, {("BP-SEC-002", "environments.prod.overrides.jobs.ingest.command[2]")})


# --- the scanner itself ----------------------------------------------------------


def test_a_batch_placeholder_is_never_a_secret() -> None:
    values = secrets.command_values(("jobs", "a", "command"), ["--api-key", "Ref::api_key"])
    assert secrets.scan(values) == []


def test_an_argument_is_named_by_its_option() -> None:
    values = secrets.command_values(("c",), ["run", "--db-password", "x", "-v", "y"])
    assert [v.name for v in values] == ["argument", "argument", "db-password", "argument", "v"]


@pytest.mark.parametrize("value", ORDINARY)
def test_an_ordinary_value_is_no_secret_under_a_secret_sounding_name_either(value: str) -> None:
    """ARNs and references are what a secret-sounding variable should hold; other values need a neutral name."""
    named = secrets.Value(("v",), "SECRET_ARN" if value.startswith("arn:") else "TABLE", value)
    assert secrets.scan([named]) == []


# --- the clean-verdict cache ------------------------------------------------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory and a process that has judged nothing yet."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("BATCHPLANE_CACHE_DIR", str(directory))
    secrets.forget()
    yield directory
    secrets.forget()


def _values(*texts: str) -> list[secrets.Value]:
    return [secrets.Value(("v", i), "SETTING", text) for i, text in enumerate(texts)]


def test_clean_values_are_cached_as_digests_only(cache: Path) -> None:
    assert secrets.scan(_values("acme-products", "s3://acme-input/incoming/")) == []
    [path] = cache.iterdir()
    text = path.read_text()
    assert len(json.loads(text)["clean"]) == 2
    assert "acme-products" not in text


def test_a_value_with_a_finding_is_never_cached(cache: Path) -> None:
    assert len(secrets.scan(_values("acme-products", AWS_KEY_ID))) == 1
    [path] = cache.iterdir()
    assert len(json.loads(path.read_text())["clean"]) == 1
    secrets.forget()
    assert [hit.kinds for hit in secrets.scan(_values(AWS_KEY_ID))] == [("AWS Access Key",)]


def test_a_cached_clean_value_is_not_scanned_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.scan(_values("acme-products"))
    secrets.forget()

    def no_scan(lines: list[str]) -> None:
        raise AssertionError(f"scanned again: {lines}")

    monkeypatch.setattr(secrets, "_scan", no_scan)
    assert secrets.scan(_values("acme-products")) == []


def test_a_damaged_cache_is_scanned_through(cache: Path) -> None:
    secrets.scan(_values("acme-products"))
    [path] = cache.iterdir()
    path.write_text("{not json")
    secrets.forget()
    assert [hit.loc for hit in secrets.scan(_values("acme-products", AWS_KEY_ID))] == [("v", 1)]
