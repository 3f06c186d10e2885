"""Near-duplicate index: exact against brute force, with planted neighbours at and around the threshold."""
from __future__ import annotations

import numpy as np
import pytest

from provenance.neardup import NearDupIndex, bench_neardup, flip_bits, random_hashes
from provenance.perceptual import MATCH_THRESHOLD, hamming


def _brute(items: list[tuple[int, str]], query: str, max_distance: int) -> list[tuple[int, int]]:
    hits = [(k, hamming(h, query)) for k, h in items]
    return sorted([(k, d) for k, d in hits if d <= max_distance], key=lambda kd: (kd[1], kd[0]))


@pytest.fixture(scope="module")
def planted() -> tuple[list[tuple[int, str]], list[str]]:
    """5,000 random hashes plus, for each of 30 queries, neighbours at distances 0, 1, 15, 30, 31, 32 and 40."""
    rng = np.random.default_rng(7)
    items = list(enumerate(random_hashes(5000, seed=3)))
    queries = random_hashes(30, seed=11)
    for q in queries:
        for d in (0, 1, 15, 30, 31, 32, 40):
            items.append((len(items), flip_bits(q, d, rng)))
    return items, queries


@pytest.mark.parametrize("strategy", ["scan", "mih"])
@pytest.mark.parametrize("max_distance", [0, 1, 15, 31, 32])
def test_exact_against_brute_force(planted, strategy: str, max_distance: int) -> None:  # type: ignore[no-untyped-def]
    items, queries = planted
    index = NearDupIndex.build(items, strategy=strategy)  # type: ignore[arg-type]
    for q in queries:
        assert index.search(q, max_distance=max_distance, limit=None) == _brute(items, q, max_distance)


def test_default_threshold_finds_planted_neighbours_not_beyond(planted) -> None:  # type: ignore[no-untyped-def]
    items, queries = planted
    index = NearDupIndex.build(items)
    found = index.search(queries[0], limit=None)
    assert [d for _, d in found] == [0, 1, 15, 30, 31]  # 32 and 40 are outside MATCH_THRESHOLD
    assert index.search(queries[0], limit=2) == found[:2]


def test_incremental_add_equals_build(planted) -> None:  # type: ignore[no-untyped-def]
    items, queries = planted
    for strategy in ("scan", "mih"):
        grown = NearDupIndex(strategy, initial_capacity=1)  # type: ignore[arg-type]
        for key, h in items:
            grown.add(key, h)
        built = NearDupIndex.build(items, strategy=strategy)  # type: ignore[arg-type]
        assert len(grown) == len(items) and items[5][0] in grown
        for q in queries[:5]:
            assert grown.search(q, limit=None) == built.search(q, limit=None)


def test_distances_and_errors() -> None:
    index = NearDupIndex.build([("a", "0" * 64), ("b", "f" * 64)])
    assert index.distances("0" * 64).tolist() == [0, 256]
    assert index.search("f" * 64, max_distance=256, limit=None) == [("b", 0), ("a", 256)]
    assert NearDupIndex().search("0" * 64) == []
    with pytest.raises(ValueError):
        index.add("a", "1" * 64)
    with pytest.raises(ValueError):
        index.add("c", "xyz")
    with pytest.raises(ValueError):
        NearDupIndex.build([("k", "0" * 64), ("k", "1" * 64)])


def test_mih_exact_on_clustered_hashes() -> None:
    """Non-uniform data (like real PDQ hashes): many hashes share chunks; MIH must stay exact."""
    rng = np.random.default_rng(5)
    base = random_hashes(20, seed=9)
    items = [(i, flip_bits(base[i % 20], int(rng.integers(0, 60)), rng)) for i in range(3000)]
    mih = NearDupIndex.build(items, strategy="mih")
    for q in base[:5]:
        assert mih.search(q, limit=None) == _brute(items, q, MATCH_THRESHOLD)


def test_bench_rows_shape() -> None:
    rows = bench_neardup(sizes=(500,), queries=3)
    assert {r["strategy"] for r in rows} == {"scan", "mih"}
    assert all(r["n"] == 500 and r["build_s"] >= 0 and r["query_ms"] > 0 for r in rows)
