"""The instance catalogue: moto's DescribeInstanceTypes data, Batch's keyword expansion, and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchplane.capacity import catalogue as instances
from batchplane.capacity.catalogue import catalogue, expand, load_catalogue


def test_m4_large_offers_the_memory_the_batch_guide_documents_less_the_agent() -> None:
    # The AWS Batch user guide: an m4.large registers 7985 MiB; the ECS agent keeps 32 MiB of it.
    assert catalogue()["m4.large"].usable_memory_mib == 7985 - 32


def test_keywords_expand_to_batchs_families() -> None:
    assert {t.family for t in expand(["optimal"]).types} == {"m6i", "c6i", "r6i", "c7i"}
    assert {t.family for t in expand(["default_x86_64"]).types} == {"m6i", "c6i", "r6i", "c7i"}
    arm = expand(["default_arm64"]).types
    assert {t.family for t in arm} == {"m6g", "c6g", "r6g", "c7g"}
    assert all("arm64" in t.architectures for t in arm)


def test_a_family_stands_for_its_own_sizes_only() -> None:
    types = expand(["c5"]).types
    assert types
    assert {t.family for t in types} == {"c5"}  # not c5a, c5d, c5n
    assert "c5.large" in {t.name for t in types}


def test_expand_returns_what_it_does_not_know() -> None:
    assert expand(["c5.large", "c5.huge", "zz9", "c5"]).unknown == ("c5.huge", "zz9")


def test_the_catalogue_is_cached_once_and_reads_back_the_same(tmp_path: Path) -> None:
    fresh = load_catalogue(tmp_path)
    [cached] = tmp_path.glob("instance-catalogue-*.json")
    assert cached.stat().st_size < 100_000  # compact: moto's data is 4 MB
    assert load_catalogue(tmp_path) == fresh == catalogue()


def test_a_cached_catalogue_is_read_without_rebuilding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_catalogue(tmp_path)

    def rebuild(path: Path) -> None:
        raise AssertionError(f"read {path} again for a valid cache")

    monkeypatch.setattr(instances, "_read_source", rebuild)
    assert load_catalogue(tmp_path)["m4.large"].memory_mib == 8192


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    load_catalogue(tmp_path)
    [cached] = tmp_path.glob("instance-catalogue-*.json")
    whole = cached.read_bytes()
    cached.write_bytes(whole[: len(whole) // 2])  # an interrupted copy, say
    assert load_catalogue(tmp_path)["c5.large"].vcpus == 2
    assert cached.read_bytes() == whole


def test_a_cache_of_another_format_is_rebuilt(tmp_path: Path) -> None:
    load_catalogue(tmp_path)
    [cached] = tmp_path.glob("instance-catalogue-*.json")
    whole = cached.read_bytes()
    cached.write_bytes(whole.replace(b'"format":1', b'"format":0', 1))
    assert load_catalogue(tmp_path)["c5.large"].vcpus == 2
    assert cached.read_bytes() == whole


def test_an_unwritable_cache_directory_still_gives_a_catalogue(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert load_catalogue(blocked / "cache")["m4.large"].vcpus == 2
