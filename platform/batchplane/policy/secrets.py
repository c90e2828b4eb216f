"""Secrets in plain sight: spec values scanned by detect-secrets.

A job's command, parameters and environment end up in its job definition,
readable by anyone who may describe job definitions, and in CloudTrail; tags
are readable by anyone who may list resources. None of them is a place for a
credential. Rather than a few patterns of our own, every value is shown to
detect-secrets (Yelp's detector, in the fork Checkov ships and uses for its own
secrets scan): its plugins for AWS keys, private keys, GitHub, Slack, Stripe,
SendGrid, Twilio and other tokens, JWTs, credentials in URLs, secret-sounding
names (``KeywordDetector``) and high-entropy base64 strings, with its own
false-positive filters (UUIDs, sequences, templates, ARNs).

Each value becomes one ``<name>: "<value>"`` line of a virtual config file
(the name is what the value is called: the variable, parameter or tag key, or
the option a command argument belongs to), so that the keyword detector sees
``DB_PASSWORD: "hunter2"`` as a human would. The lines go through
:func:`detect_secrets.core.scan.scan_diff` as an added file: detect-secrets' own
line scanner, in this process, without a temporary file.

Not used: the hex high-entropy detector (image digests, git SHAs and checksums
are everyday values of batch jobs, and as random as a hex key), and
detect-secrets' inline allowlist comments (a waiver is the spec's only way to
accept a finding). A value that is base64 of text is scanned decoded as well,
so that a base64-wrapped private key or token is found like the plain one.

detect-secrets costs about 0.15 s to import, a third of a pre-commit hook's
``check --spec-only``. So it is imported only for a value not judged clean
before: verdicts are kept per line for the process (each environment repeats
most values), and clean ones in batchplane's cache directory
(``secrets-clean-<key>.json``, the key naming the installed detect-secrets and
this configuration), as SHA-256 digests of the lines. Only clean lines are
kept: a line with a finding is scanned again on every run, and no digest of a
secret is ever written. A cache that cannot be read or written costs the scan.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from batchplane.spec.locations import Loc

PLUGINS: tuple[dict[str, object], ...] = (
    {"name": "AWSKeyDetector"},
    {"name": "ArtifactoryDetector"},
    {"name": "AzureStorageKeyDetector"},
    {"name": "Base64HighEntropyString", "limit": 4.5},
    {"name": "BasicAuthDetector"},
    {"name": "CloudantDetector"},
    {"name": "DiscordBotTokenDetector"},
    {"name": "GitHubTokenDetector"},
    {"name": "IbmCloudIamDetector"},
    {"name": "IbmCosHmacDetector"},
    {"name": "JwtTokenDetector"},
    {"name": "KeywordDetector"},
    {"name": "MailchimpDetector"},
    {"name": "NpmDetector"},
    {"name": "PrivateKeyDetector"},
    {"name": "SendGridDetector"},
    {"name": "SlackDetector"},
    {"name": "SoftlayerDetector"},
    {"name": "SquareOAuthDetector"},
    {"name": "StripeDetector"},
    {"name": "TwilioKeyDetector"},
)
"""detect-secrets' plugins, by class name; 4.5 is its own default base64 entropy limit."""

FILTERS: tuple[str, ...] = tuple(
    f"detect_secrets.filters.heuristic.{name}"
    for name in (
        "is_aws_arn",
        "is_indirect_reference",
        "is_likely_id_string",
        "is_not_alphanumeric_string",
        "is_potential_uuid",
        "is_prefixed_with_dollar_sign",
        "is_sequential_string",
        "is_templated_secret",
    )
)
"""detect-secrets' default heuristic filters, plus its ARN filter; not its allowlist comments."""

_VIRTUAL_FILE = "platform-values.cfg"
"""A config file type: the keyword detector then reads ``name: "value"`` lines."""
_INVALID_FILE_FILTER = "detect_secrets.filters.common.is_invalid_file"
"""Drops names that are not files on disk, as the virtual file is not."""

_KEYWORD = "Secret Keyword"
_PLACEHOLDER = re.compile(r"Ref::[A-Za-z0-9_-]+")
"""AWS Batch substitutes the parameter of that name; the parameter's value is scanned itself."""
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_OPTION = re.compile(r"-{1,2}([A-Za-z][A-Za-z0-9_.-]*)")
_MIN_BASE64 = 16


@dataclass(frozen=True)
class Value:
    """One spec value to scan: where it is, what it is called, what it says."""

    loc: Loc
    name: str
    text: str


@dataclass(frozen=True)
class Hit:
    """A value detect-secrets reads as a secret: its location and the detectors' names (never the value)."""

    loc: Loc
    kinds: tuple[str, ...]


def command_values(loc: Loc, command: Sequence[str]) -> list[Value]:
    """The arguments of a command, each named by the option it belongs to (``--password x``, ``--password=x``)."""
    values: list[Value] = []
    previous = ""
    for index, argument in enumerate(command):
        option = _OPTION.fullmatch(previous)
        name = option.group(1) if option else "argument"
        values.append(Value((*loc, index), name, argument))
        previous = argument
    return values


def mapping_values(loc: Loc, mapping: dict[str, str]) -> list[Value]:
    """The values of a map (environment, parameters, tags), each named by its key."""
    return [Value((*loc, key), key, text) for key, text in mapping.items()]


def scan(values: Iterable[Value]) -> list[Hit]:
    """The values detect-secrets reads as secrets, in the order given."""
    wanted = [(value, _lines(value)) for value in values]
    _detect({line for _, lines in wanted for line in lines})
    hits: list[Hit] = []
    for value, lines in wanted:
        kinds = {kind for line in lines for kind in _verdicts[line]}
        if kinds and _KEYWORD in kinds and _arn(value.text):
            # detect-secrets drops a secret that is an ARN; a whole value that is one names a resource, and
            # "secretsmanager:" in it is no keyword. Its token detectors (keys, tokens) still judge it.
            kinds.discard(_KEYWORD)
        if kinds:
            hits.append(Hit(value.loc, tuple(sorted(kinds))))
    return hits


def _arn(text: str) -> bool:
    from detect_secrets.filters.heuristic import is_aws_arn

    return bool(is_aws_arn(text))


def _lines(value: Value) -> list[str]:
    """The virtual file lines that stand for one value: as written, split at "=", and decoded from base64."""
    text = value.text
    if not text.strip() or _PLACEHOLDER.fullmatch(text):
        return []
    name = " ".join(value.name.split()) or "value"
    lines = [_line(name, text)]
    # "--password=x" or "PASSWORD=x" in one argument: the keyword detector needs the name beside the value.
    option, sep, rest = text.lstrip("-").partition("=")
    if sep and rest and _NAME.fullmatch(option):
        lines.append(_line(option, rest))
    decoded = _decoded(text)
    if decoded is not None:
        lines.append(_line(name, decoded))
    return lines


def _line(name: str, text: str) -> str:
    # json.dumps escapes line breaks: one value stays one line.
    return f"{name}: {json.dumps(text, ensure_ascii=False)}"


def _decoded(text: str) -> str | None:
    """The text a base64 value encodes, or None when it is not base64 of printable text."""
    compact = "".join(text.split())
    if len(compact) < _MIN_BASE64 or len(compact) % 4 != 0:
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not decoded.strip() or not all(c.isprintable() or c in "\r\n\t" for c in decoded):
        return None
    return decoded


_verdicts: dict[str, tuple[str, ...]] = {}
_DETECTING = threading.Lock()  # detect-secrets' settings are global to the process
_CACHE_FORMAT = 1
_CACHE_LIMIT = 200_000
"""Clean digests kept at most; past it the cache starts over."""


def forget() -> None:
    """Forget this process's verdicts (the cache directory keeps its clean ones)."""
    _verdicts.clear()


def cache_path(directory: Path | None = None) -> Path | None:
    """The clean-verdict cache of the installed detect-secrets and this configuration; None when not installed."""
    import importlib.util

    from batchplane.policy.iam.catalogue import cache_dir

    found = importlib.util.find_spec("detect_secrets")  # locates the package without importing it
    if found is None or not found.submodule_search_locations:
        return None
    version = Path(next(iter(found.submodule_search_locations))) / "__version__.py"
    try:
        info = version.stat()
    except OSError:
        return None
    key = json.dumps([_CACHE_FORMAT, str(version), info.st_size, info.st_mtime_ns, PLUGINS, FILTERS, _VIRTUAL_FILE])
    return (directory or cache_dir()) / f"secrets-clean-{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _read_clean(path: Path | None) -> set[str]:
    if path is None:
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clean = data["clean"] if data.get("format") == _CACHE_FORMAT else []
        return {d for d in clean if isinstance(d, str)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _write_clean(path: Path | None, clean: set[str]) -> None:
    if path is None:
        return
    from batchplane.files import atomic_write

    kept = sorted(clean) if len(clean) <= _CACHE_LIMIT else []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"format": _CACHE_FORMAT, "clean": kept}).encode())
    except OSError:
        pass  # a read-only cache only costs the scan next time


def _detect(lines: set[str]) -> None:
    """Judge the lines not judged yet: from the clean cache, else by detect-secrets."""
    pending = [line for line in lines if line not in _verdicts]
    if not pending:
        return
    path = cache_path()
    clean = _read_clean(path)
    new = sorted(line for line in pending if _digest(line) not in clean)
    for line in set(pending) - set(new):
        _verdicts[line] = ()
    if not new:
        return
    _scan(new)
    found_clean = {_digest(line) for line in new if not _verdicts[line]}
    if found_clean - clean:
        _write_clean(path, clean | found_clean)


def _scan(new: list[str]) -> None:
    """Scan the lines with detect-secrets and remember what it found on each."""
    from detect_secrets.core.scan import scan_diff  # ~0.15 s: only when there is something to scan
    from detect_secrets.settings import transient_settings

    header = f"--- a/{_VIRTUAL_FILE}\n+++ b/{_VIRTUAL_FILE}\n@@ -0,0 +1,{len(new)} @@\n"
    diff = header + "".join(f"+{line}\n" for line in new)
    found: dict[int, set[str]] = {}
    config = {"plugins_used": [dict(p) for p in PLUGINS], "filters_used": [{"path": p} for p in FILTERS]}
    with _DETECTING, transient_settings(config) as settings:
        settings.disable_filters(_INVALID_FILE_FILTER)
        for secret in scan_diff(diff):
            found.setdefault(secret.line_number, set()).add(str(secret.type))
    for number, line in enumerate(new, start=1):
        _verdicts[line] = tuple(sorted(found.get(number, ())))
