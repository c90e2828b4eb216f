"""Job images without an engine: sources, hashes, build contexts, provenance, registries, the lock."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from batchplane.errors import ExitCode, ToolError
from batchplane.images import build
from batchplane.images.build import context_tar, push
from batchplane.images.lock import ImageLock, LockEntry, read_lock, with_entries, write_lock
from batchplane.images.pipeline import ImageResult, pin
from batchplane.images.registry import Registry, registry_for
from batchplane.images.sources import ImageSource, UnknownImageError, provenance, sources
from batchplane.layout import LOCK_FILE
from batchplane.render.roots import image_reference
from batchplane.spec import load_spec
from tests.conftest import REPO
from tests.unit.policy_support import base, spec_from

DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
COMMIT_TIME = "2026-01-02T03:04:05+00:00"

IMAGE_FILES = {
    "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n",
    ".dockerignore": "# only the package goes in\ntests/\nREADME.md\n",
    "requirements.txt": "boto3\n",
    "ingest/__init__.py": "",
    "ingest/job.py": "print('ingest')\n",
    "tests/test_job.py": "def test_job(): pass\n",
    "README.md": "# ingest\n",
}


def _image(repo: Path, name: str = "ingest", files: dict[str, str] | None = None) -> Path:
    folder = repo / "job_images" / name
    for relative, text in (IMAGE_FILES if files is None else files).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return folder


def _only(repo: Path, name: str = "ingest") -> ImageSource:
    [source] = sources(repo, [name])
    return source


@pytest.fixture(autouse=True)
def _no_host_build_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Results must not depend on the machine: its base image override or CA bundle.
    monkeypatch.delenv("BATCHPLANE_BASE_IMAGE", raising=False)
    monkeypatch.setenv("BATCHPLANE_BUILD_CA_BUNDLE", "")


# --- sources ------------------------------------------------------------------


def test_every_folder_with_a_dockerfile_is_an_image_in_name_order(tmp_path: Path) -> None:
    _image(tmp_path, "zeta")
    _image(tmp_path, "alpha")
    (tmp_path / "job_images" / "notes").mkdir()
    assert [s.name for s in sources(tmp_path)] == ["alpha", "zeta"]


def test_named_images_are_returned_once_in_the_order_asked(tmp_path: Path) -> None:
    _image(tmp_path, "alpha")
    _image(tmp_path, "zeta")
    assert [s.name for s in sources(tmp_path, ["zeta", "alpha", "zeta"])] == ["zeta", "alpha"]


def test_an_unknown_image_is_a_usage_error_listing_the_known_ones(tmp_path: Path) -> None:
    _image(tmp_path, "alpha")
    with pytest.raises(UnknownImageError) as raised:
        sources(tmp_path, ["alpha", "nope"])
    assert raised.value.exit_code == ExitCode.USAGE == 2
    assert "no job image named nope" in str(raised.value)
    assert "known: alpha" in str(raised.value)


def test_a_repository_without_job_images_knows_none(tmp_path: Path) -> None:
    with pytest.raises(UnknownImageError, match="known: none"):
        sources(tmp_path, ["ingest"])


def test_the_build_context_honours_dockerignore(tmp_path: Path) -> None:
    _image(tmp_path)
    assert _only(tmp_path).files == (
        ".dockerignore",
        "Dockerfile",
        "ingest/__init__.py",
        "ingest/job.py",
        "requirements.txt",
    )


def test_dockerignore_exceptions_bring_files_back(tmp_path: Path) -> None:
    _image(tmp_path, files={**IMAGE_FILES, ".dockerignore": "*.md\n!KEEP.md\n", "KEEP.md": "kept\n"})
    files = _only(tmp_path).files
    assert "KEEP.md" in files
    assert "README.md" not in files


def test_caches_never_enter_the_context_even_without_dockerignore(tmp_path: Path) -> None:
    files = {
        "Dockerfile": "FROM scratch\n",
        "ingest/job.py": "",
        "ingest/__pycache__/job.cpython-312.pyc": "",
        ".mypy_cache/3.12/x.json": "{}",
        ".pytest_cache/v/cache/lastfailed": "{}",
    }
    _image(tmp_path, files=files)
    assert _only(tmp_path).files == ("Dockerfile", "ingest/job.py")


def test_the_example_images_leave_tests_samples_and_readmes_out() -> None:
    [source] = sources(REPO, ["csv-ingest"])
    assert {"Dockerfile", "requirements.txt", "csv_ingest/job.py"} <= set(source.files)
    assert not [f for f in source.files if f.startswith(("tests/", "sample/")) or f == "README.md"]


# --- source hash ----------------------------------------------------------------


def test_the_source_hash_depends_on_content_not_on_where_the_folder_is(tmp_path: Path) -> None:
    _image(tmp_path / "one")
    _image(tmp_path / "two")
    first, second = _only(tmp_path / "one"), _only(tmp_path / "two")
    assert first.source_hash == second.source_hash
    assert first.source_hash.startswith("sha256:")


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("ingest/job.py", "print('changed')\n"),
        ("ingest/new.py", "x = 1\n"),
        ("Dockerfile", "FROM python:3.13-slim\n"),
    ],
)
def test_a_change_inside_the_context_changes_the_source_hash(tmp_path: Path, relative: str, text: str) -> None:
    folder = _image(tmp_path)
    before = _only(tmp_path).source_hash
    (folder / relative).write_text(text, encoding="utf-8")
    assert _only(tmp_path).source_hash != before


def test_a_renamed_file_changes_the_source_hash(tmp_path: Path) -> None:
    folder = _image(tmp_path)
    before = _only(tmp_path).source_hash
    (folder / "ingest" / "job.py").rename(folder / "ingest" / "main.py")
    assert _only(tmp_path).source_hash != before


@pytest.mark.parametrize("relative", ["tests/test_job.py", "README.md", "ingest/__pycache__/job.cpython-312.pyc"])
def test_a_change_outside_the_context_keeps_the_source_hash(tmp_path: Path, relative: str) -> None:
    folder = _image(tmp_path)
    before = _only(tmp_path).source_hash
    (folder / relative).parent.mkdir(parents=True, exist_ok=True)
    (folder / relative).write_text("something else\n", encoding="utf-8")
    assert _only(tmp_path).source_hash == before


def test_the_base_image_is_part_of_the_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _image(tmp_path)
    default = _only(tmp_path).source_hash
    monkeypatch.setenv("BATCHPLANE_BASE_IMAGE", "mirror.example.com/python:3.12-slim")
    assert _only(tmp_path).build_args == (("BASE_IMAGE", "mirror.example.com/python:3.12-slim"),)
    assert _only(tmp_path).source_hash != default


# --- build context ----------------------------------------------------------------


def _members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        result = {}
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            assert handle is not None
            result[info.name] = (info, handle.read())
        return result


def test_the_context_holds_exactly_the_context_files_with_their_content(tmp_path: Path) -> None:
    folder = _image(tmp_path)
    source = _only(tmp_path)
    members = _members(context_tar(source))
    assert sorted(members) == sorted(source.files)
    assert members["ingest/job.py"][1] == (folder / "ingest" / "job.py").read_bytes()


def test_the_context_has_fixed_owners_and_times(tmp_path: Path) -> None:
    _image(tmp_path)
    for info, _ in _members(context_tar(_only(tmp_path))).values():
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (0, 0, 0, "", "")


def test_the_context_is_byte_identical_after_a_fresh_checkout(tmp_path: Path) -> None:
    folder = _image(tmp_path)
    before = context_tar(_only(tmp_path))
    for path in folder.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    assert context_tar(_only(tmp_path)) == before


def test_executable_files_keep_their_execute_bit(tmp_path: Path) -> None:
    folder = _image(tmp_path, files={**IMAGE_FILES, "entrypoint.sh": "#!/bin/sh\n"})
    (folder / "entrypoint.sh").chmod(0o755)
    members = _members(context_tar(_only(tmp_path)))
    assert members["entrypoint.sh"][0].mode == 0o755
    assert members["ingest/job.py"][0].mode == 0o644


def test_the_hosts_ca_bundle_is_added_to_the_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _image(tmp_path)
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nproxy\n", encoding="utf-8")
    monkeypatch.setenv("BATCHPLANE_BUILD_CA_BUNDLE", str(bundle))
    members = _members(context_tar(_only(tmp_path)))
    assert members["ca-bundle.crt"][1] == bundle.read_bytes()


@pytest.mark.parametrize("setting", ["", "/nonexistent/ca.pem"])
def test_no_ca_bundle_when_disabled_or_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    _image(tmp_path)
    monkeypatch.setenv("BATCHPLANE_BUILD_CA_BUNDLE", setting)
    assert "ca-bundle.crt" not in _members(context_tar(_only(tmp_path)))


def test_an_images_own_ca_bundle_wins_over_the_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _image(tmp_path, files={**IMAGE_FILES, "ca-bundle.crt": "the image's own\n"})
    bundle = tmp_path / "host.pem"
    bundle.write_text("the host's\n", encoding="utf-8")
    monkeypatch.setenv("BATCHPLANE_BUILD_CA_BUNDLE", str(bundle))
    data = context_tar(_only(tmp_path))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames().count("ca-bundle.crt") == 1
    assert _members(data)["ca-bundle.crt"][1] == b"the image's own\n"


def test_the_ca_bundle_does_not_change_the_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _image(tmp_path)
    before = _only(tmp_path).source_hash
    bundle = tmp_path / "host.pem"
    bundle.write_text("the host's\n", encoding="utf-8")
    monkeypatch.setenv("BATCHPLANE_BUILD_CA_BUNDLE", str(bundle))
    assert _only(tmp_path).source_hash == before


# --- provenance ---------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_COMMITTER_DATE": COMMIT_TIME, "GIT_AUTHOR_DATE": COMMIT_TIME}
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding one committed image (and a file outside job_images/)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    _image(repo)
    (repo / "platform.yaml").write_text("name: acme\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


NOW = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)


def test_a_clean_image_is_tagged_with_the_commit_and_dated_by_it(committed: Path) -> None:
    source = _only(committed)
    made = provenance(committed, source, now=NOW)
    assert made.tag == f"git-{_git(committed, 'rev-parse', '--short=7', 'HEAD')}"
    assert made.labels == {
        "org.opencontainers.image.title": "ingest",
        "org.opencontainers.image.revision": _git(committed, "rev-parse", "HEAD"),
        "org.opencontainers.image.created": COMMIT_TIME,
        "org.opencontainers.image.source": "job_images/ingest",
        "org.batchplane.source-hash": source.source_hash,
    }


def test_rebuilding_a_clean_commit_gives_the_same_tag_and_labels(committed: Path) -> None:
    source = _only(committed)
    assert provenance(committed, source, now=NOW) == provenance(committed, source, now=datetime(2030, 1, 1, tzinfo=UTC))


def test_the_source_label_is_the_origin_remote_when_there_is_one(committed: Path) -> None:
    _git(committed, "remote", "add", "origin", "https://git.example.com/acme/platform.git")
    made = provenance(committed, _only(committed), now=NOW)
    assert made.labels["org.opencontainers.image.source"] == "https://git.example.com/acme/platform.git"


@pytest.mark.parametrize(
    ("relative", "text"),
    [("ingest/job.py", "print('edited')\n"), ("ingest/untracked.py", "x = 1\n")],
    ids=["modified", "untracked"],
)
def test_uncommitted_changes_in_the_image_folder_mark_it_dirty(committed: Path, relative: str, text: str) -> None:
    (committed / "job_images" / "ingest" / relative).write_text(text, encoding="utf-8")
    made = provenance(committed, _only(committed), now=NOW)
    sha = _git(committed, "rev-parse", "--short=7", "HEAD")
    assert made.tag == f"git-{sha}-dirty"
    assert made.labels["org.opencontainers.image.revision"] == _git(committed, "rev-parse", "HEAD") + "-dirty"
    assert made.labels["org.opencontainers.image.created"] == "2026-03-04T05:06:07+00:00"


def test_changes_outside_the_image_folder_keep_it_clean(committed: Path) -> None:
    (committed / "platform.yaml").write_text("name: changed\n", encoding="utf-8")
    _image(committed, "other")
    made = provenance(committed, _only(committed), now=NOW)
    assert made.tag == f"git-{_git(committed, 'rev-parse', '--short=7', 'HEAD')}"


def test_outside_git_the_tag_comes_from_the_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    _image(repo)
    source = _only(repo)
    made = provenance(repo, source, now=NOW)
    assert made.tag == "src-" + source.source_hash.removeprefix("sha256:")[:12]
    assert made.labels["org.opencontainers.image.revision"] == "unknown"
    assert made.labels["org.opencontainers.image.created"] == "2026-03-04T05:06:07+00:00"
    assert made.labels["org.opencontainers.image.source"] == "job_images/ingest"


# --- registries ---------------------------------------------------------------------


def test_ecr_is_the_registry_of_the_first_environments_account() -> None:
    registry = registry_for(load_spec(REPO / "platform.yaml"), None)
    assert registry == Registry("111111111111.dkr.ecr.eu-west-1.amazonaws.com", "ecr", "eu-west-1", "111111111111")
    assert registry.repository("acme", "report") == "111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/report"


def test_ecr_in_another_account_and_in_china(tmp_path: Path) -> None:
    document = base()
    document["region"] = "cn-north-1"
    document["registry"] = {"type": "ecr", "account_id": "999999999999"}
    registry = registry_for(spec_from(document, tmp_path), None)
    assert registry.host == "999999999999.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert (registry.kind, registry.account_id) == ("ecr", "999999999999")


def test_an_external_registry_is_pushed_to_at_its_url(tmp_path: Path) -> None:
    document = base()
    document["registry"] = {"type": "external", "url": "registry.example.com:5000/team"}
    registry = registry_for(spec_from(document, tmp_path), None)
    assert (registry.host, registry.kind) == ("registry.example.com:5000/team", "external")


def test_the_local_registry_replaces_the_specs_in_local_mode() -> None:
    registry = registry_for(load_spec(REPO / "platform.yaml"), "127.0.0.1:5056")
    assert (registry.host, registry.kind) == ("127.0.0.1:5056", "local")
    assert registry.repository("acme", "report") == "127.0.0.1:5056/acme/report"


@pytest.mark.parametrize("registry", [{"type": "ecr"}, {"type": "external", "url": "registry.example.com/team"}])
def test_images_are_pushed_where_job_definitions_pull_them_from(tmp_path: Path, registry: dict[str, str]) -> None:
    document = base()
    document["registry"] = registry
    spec = spec_from(document, tmp_path)
    reference, _ = image_reference(spec.platform, ImageLock(), "ingest", "dev")
    pushed = registry_for(spec, None).repository(spec.platform.name, "ingest")
    assert reference == f"{pushed}:latest"


@pytest.mark.parametrize(
    ("message", "retried"),
    [
        ("dial tcp 127.0.0.1:5056: connect: connection refused", True),
        ('Get "https://registry.example.com/v2/": EOF', True),
        ("net/http: TLS handshake: i/o timeout", True),
        ("dial tcp: lookup registry.example.com: no such host", True),
        ("received unexpected HTTP status: 503 Service Unavailable", True),
        ("ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))", True),
        ("denied: requested access to the resource is denied", False),
        ("unauthorized: authentication required", False),
        ("name unknown: repository name not known to registry", False),
    ],
)
def test_only_a_registry_that_does_not_answer_counts_as_unreachable(message: str, retried: bool) -> None:
    assert build._unreachable(message) is retried


class _Engine:
    """The push half of docker's APIClient: answers pushes from a script of chunk lists or exceptions."""

    def __init__(self, *answers: list[dict[str, Any]] | Exception) -> None:
        self.answers = list(answers)
        self.pushes = 0

    def push(self, repository: str, **_: Any) -> Iterator[dict[str, Any]]:
        self.pushes += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return iter(answer)


LOCAL = Registry("127.0.0.1:5056", "local")
PUSHED = [{"status": "Pushed"}, {"aux": {"Tag": "git-abc1234", "Digest": DIGEST, "Size": 1}}]


def test_a_push_returns_the_manifest_digest() -> None:
    assert push(_Engine(PUSHED), LOCAL, "127.0.0.1:5056/acme/ingest", "git-abc1234", None) == DIGEST


def test_a_registry_that_does_not_answer_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "BACKOFF_SECONDS", 0)
    engine = _Engine([{"error": "dial tcp 127.0.0.1:5056: connect: connection refused"}], PUSHED)
    assert push(engine, LOCAL, "127.0.0.1:5056/acme/ingest", "git-abc1234", None) == DIGEST
    assert engine.pushes == 2


def test_a_registry_that_never_answers_fails_the_push_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "BACKOFF_SECONDS", 0)
    engine = _Engine(*[ConnectionError("Connection refused")] * build.PUSH_ATTEMPTS)
    with pytest.raises(ToolError) as raised:
        push(engine, LOCAL, "127.0.0.1:5056/acme/ingest", "git-abc1234", None)
    assert engine.pushes == build.PUSH_ATTEMPTS
    assert raised.value.exit_code == ExitCode.TOOL_FAILED
    assert f"to the registry 127.0.0.1:5056 failed after {build.PUSH_ATTEMPTS} attempt(s)" in str(raised.value)


def test_a_refused_push_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "BACKOFF_SECONDS", 0)
    engine = _Engine([{"error": "denied: requested access to the resource is denied"}], PUSHED)
    with pytest.raises(ToolError, match="after 1 attempt"):
        push(engine, LOCAL, "127.0.0.1:5056/acme/ingest", "git-abc1234", None)
    assert engine.pushes == 1


# --- the lock ---------------------------------------------------------------------


def _pushed(name: str, digest: str | None, tag: str = "git-abc1234") -> ImageResult:
    action = "pushed" if digest else "built"
    return ImageResult(name, action, tag, digest, "sha256:" + "01" * 32, f"127.0.0.1:5056/acme/{name}")


def test_pin_records_pushed_digests_for_the_environment(tmp_path: Path) -> None:
    assert pin(tmp_path, "dev", [_pushed("ingest", DIGEST), _pushed("report", OTHER_DIGEST, "git-def5678")]) is True
    lock = read_lock(tmp_path)
    source_hash = "sha256:" + "01" * 32
    assert lock.entry("ingest", "dev") == LockEntry(digest=DIGEST, tag="git-abc1234", source_hash=source_hash)
    assert lock.entry("report", "dev") == LockEntry(digest=OTHER_DIGEST, tag="git-def5678", source_hash=source_hash)
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]


def test_pin_keeps_other_environments_and_images(tmp_path: Path) -> None:
    prod = LockEntry(digest=OTHER_DIGEST, tag="git-0000000", source_hash="sha256:" + "02" * 32)
    write_lock(tmp_path, ImageLock(images={"ingest": {"prod": prod}, "report": {"dev": prod}}))
    assert pin(tmp_path, "dev", [_pushed("ingest", DIGEST)]) is True
    lock = read_lock(tmp_path)
    assert lock.entry("ingest", "prod") == prod
    assert lock.entry("report", "dev") == prod
    assert lock.entry("ingest", "dev") is not None


def test_pinning_the_same_digests_again_leaves_the_lock_untouched(tmp_path: Path) -> None:
    pin(tmp_path, "dev", [_pushed("ingest", DIGEST)])
    path = tmp_path / LOCK_FILE
    before = path.read_bytes()
    os.utime(path, ns=(1, 1))  # a rewrite, even of the same bytes, would move the mtime
    assert pin(tmp_path, "dev", [_pushed("ingest", DIGEST)]) is False
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, 1)


def test_images_that_were_only_built_are_not_pinned(tmp_path: Path) -> None:
    assert pin(tmp_path, "dev", [_pushed("ingest", None)]) is False
    assert not (tmp_path / LOCK_FILE).exists()


def test_with_entries_records_for_one_environment_and_keeps_the_rest() -> None:
    kept = LockEntry(digest=OTHER_DIGEST, tag="git-0000000", source_hash="sha256:" + "02" * 32)
    new = LockEntry(digest=DIGEST, tag="git-abc1234", source_hash="sha256:" + "01" * 32)
    lock = ImageLock(images={"ingest": {"prod": kept, "dev": kept}, "report": {"dev": kept}})
    updated = with_entries(lock, "dev", {"ingest": new, "export": new})
    assert updated.images == {
        "ingest": {"prod": kept, "dev": new},
        "report": {"dev": kept},
        "export": {"dev": new},
    }
    assert lock.entry("ingest", "dev") == kept  # the lock given is left as it was
    assert with_entries(lock, "dev", {}) == lock
