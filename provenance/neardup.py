"""Exact near-duplicate search over 256-bit PDQ hashes.

Why this design: matching must be exact (a missed match within the threshold is a
missed re-upload of known media), and the index must stay fast at 100,000+
hashes inside one worker process, with no external service.

Two exact strategies were implemented and measured (``bench_neardup``):

* ``"scan"`` (the default): each hash is four uint64 words in one contiguous
  numpy array; a query XORs all rows and counts bits with ``np.bitwise_count``
  (numpy >= 2). It is exact by construction, its cost is linear and predictable
  (no dependence on how the hashes are distributed), and it needs no tuning.
* ``"mih"``: multi-index hashing (Norouzi, Punjani & Fleet, 2012). The 256 bits
  are split into ``m`` = 16 chunks of 16 bits. Guarantee, by the generalised
  pigeonhole principle: if ``d(q, x) <= r`` then at least one chunk differs in
  at most ``floor(r / m)`` bits (otherwise every chunk would differ in
  ``floor(r/m) + 1`` bits or more and ``d >= m * (floor(r/m) + 1) > r``). So
  probing every chunk's table with all chunk values within ``floor(r/m)`` bits
  of the query chunk (for r = 31: the value itself and its 16 one-bit
  neighbours, 17 probes per chunk, 272 in all) yields a candidate set that
  contains every true match; candidates are then verified by exact distance.
  No false negatives for any ``r``, though probing cost grows quickly with
  ``floor(r/m)``. (With plain exact-chunk lookups you would need m >= r + 1 =
  32 chunks of 8 bits, and 8-bit buckets each hold n/256 rows: poor pruning.)
  Caveat: real PDQ hashes are not uniform, so some buckets are much fuller
  than n / 65536 and the candidate set grows accordingly.

Measured on this 2-core machine with ``bench_neardup`` (uniform random hashes,
median of 50-100 queries at r = 31; two runs):

    n        scan build / query     mih build / query
    10,000   0.01 s  / 0.05 ms      0.13-0.14 s / 0.11-0.17 ms
    100,000  0.11 s  / 0.48-0.63 ms 2.0-2.2 s   / 0.40-0.57 ms
    200,000  0.30 s  / 0.84 ms      4.0 s       / 0.91 ms

Query times are within run-to-run noise of each other at 100k, both far below
the ~6-50 ms it takes to compute the query's own PDQ hash; MIH costs ~18x more
to build, ~16 dict entries per hash of memory, and degrades on clustered real
hashes, while the scan's cost never depends on the data. So the scan is the
default; MIH stays available, tested for exactness, for much larger sets.
"""
from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Literal

import numpy as np

from provenance.perceptual import HASH_BITS, HEX_LENGTH, MATCH_THRESHOLD

WORDS = HASH_BITS // 64
Strategy = Literal["scan", "mih"]


def hex_to_words(hex_hash: str) -> np.ndarray:
    """Canonical 64-char PDQ hex to four big-endian uint64 words (bit 255 is the first word's MSB)."""
    text = hex_hash.strip().lower()
    if len(text) != HEX_LENGTH:
        raise ValueError(f"a PDQ hash is {HEX_LENGTH} hex characters, got {len(text)}")
    return np.frombuffer(bytes.fromhex(text), dtype=">u8").astype(np.uint64)


def words_to_hex(words: np.ndarray) -> str:
    return np.asarray(words, dtype=np.uint64).astype(">u8").tobytes().hex()


class NearDupIndex:
    """An in-memory exact index from keys to PDQ hashes, searchable by Hamming distance.

    Keys are any hashable values (item ids, sha256s); each key is held once.
    Not thread-safe for concurrent ``add`` and ``search``: build, then share read-only.
    """

    def __init__(self, strategy: Strategy = "scan", *, initial_capacity: int = 1024) -> None:
        if strategy not in ("scan", "mih"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.strategy: Strategy = strategy
        self._words = np.empty((max(1, initial_capacity), WORDS), dtype=np.uint64)
        self._n = 0
        self._keys: list[Hashable] = []
        self._rows: dict[Hashable, int] = {}
        # MIH tables: one per 16-bit chunk, chunk value -> list of row numbers.
        self._tables: list[dict[int, list[int]]] | None = (
            [{} for _ in range(HASH_BITS // 16)] if strategy == "mih" else None
        )

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def build(cls, items: Iterable[tuple[Hashable, str]], strategy: Strategy = "scan") -> NearDupIndex:
        """Build an index from ``(key, hex)`` pairs in one pass (vectorised hex parsing)."""
        pairs = list(items)
        index = cls(strategy, initial_capacity=max(1, len(pairs)))
        if not pairs:
            return index
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate keys in input")
        try:
            raw = bytes.fromhex("".join(h.strip().lower() for _, h in pairs))
        except ValueError as exc:
            raise ValueError("invalid hex in input") from exc
        if len(raw) != len(pairs) * (HASH_BITS // 8):
            raise ValueError("every hash must be 64 hex characters")
        words = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(pairs), WORDS)
        index._words[: len(pairs)] = words
        index._n = len(pairs)
        index._keys = keys
        index._rows = {k: i for i, k in enumerate(keys)}
        if index._tables is not None:
            chunks = index._chunks(words)
            for c, table in enumerate(index._tables):
                for row, value in enumerate(chunks[:, c].tolist()):
                    table.setdefault(value, []).append(row)
        return index

    def add(self, key: Hashable, hex_hash: str) -> None:
        """Add one hash under ``key``. Raises ValueError if the key is already present."""
        if key in self._rows:
            raise ValueError(f"key already in index: {key!r}")
        words = hex_to_words(hex_hash)
        if self._n == len(self._words):
            grown = np.empty((len(self._words) * 2, WORDS), dtype=np.uint64)
            grown[: self._n] = self._words[: self._n]
            self._words = grown
        row = self._n
        self._words[row] = words
        self._n += 1
        self._keys.append(key)
        self._rows[key] = row
        if self._tables is not None:
            for c, value in enumerate(self._chunks(words[None, :])[0].tolist()):
                self._tables[c].setdefault(value, []).append(row)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    # -- searching --------------------------------------------------------------------------------
    def distances(self, hex_hash: str) -> np.ndarray:
        """Exact Hamming distance from the query to every stored hash, in insertion order."""
        query = hex_to_words(hex_hash)
        return self._distances_rows(query, None)

    def search(
        self, hex_hash: str, max_distance: int = MATCH_THRESHOLD, limit: int | None = 10
    ) -> list[tuple[Hashable, int]]:
        """Keys within ``max_distance`` bits of the query, nearest first (ties in insertion order).

        ``limit=None`` returns every match. Exact: never misses a stored hash within the distance.
        """
        if max_distance < 0:
            return []
        query = hex_to_words(hex_hash)
        if self._n == 0:
            return []
        if self.strategy == "mih" and max_distance < HASH_BITS // 2:
            rows = self._mih_candidates(query, max_distance)
            if rows.size == 0:
                return []
            dist = self._distances_rows(query, rows)
        else:
            rows = None
            dist = self._distances_rows(query, None)
        hit = np.flatnonzero(dist <= max_distance)
        if hit.size == 0:
            return []
        hit_rows = hit if rows is None else rows[hit]
        hit_dist = dist[hit]
        order = np.lexsort((hit_rows, hit_dist))
        if limit is not None:
            order = order[:limit]
        return [(self._keys[int(hit_rows[i])], int(hit_dist[i])) for i in order]

    def _distances_rows(self, query: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        data = self._words[: self._n] if rows is None else self._words[rows]
        # Column by column keeps temporaries at n elements instead of n x 4.
        total = np.bitwise_count(data[:, 0] ^ query[0]).astype(np.uint16)
        for w in range(1, WORDS):
            total += np.bitwise_count(data[:, w] ^ query[w])
        return total

    # -- multi-index hashing ----------------------------------------------------------------------
    @staticmethod
    def _chunks(words: np.ndarray) -> np.ndarray:
        """(n, 4) uint64 -> (n, 16) chunk values of 16 bits each, most significant first."""
        shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
        parts = (words[:, :, None] >> shifts[None, None, :]) & np.uint64(0xFFFF)
        return parts.reshape(len(words), HASH_BITS // 16).astype(np.int64)

    def _mih_candidates(self, query: np.ndarray, max_distance: int) -> np.ndarray:
        assert self._tables is not None
        m = len(self._tables)
        radius = max_distance // m
        masks = _masks_within(16, radius)
        found: list[list[int]] = []
        for c, value in enumerate(self._chunks(query[None, :])[0].tolist()):
            table = self._tables[c]
            for mask in masks:
                bucket = table.get(value ^ mask)
                if bucket:
                    found.append(bucket)
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.fromiter((r for b in found for r in b), dtype=np.int64))


_MASK_CACHE: dict[tuple[int, int], list[int]] = {}


def _masks_within(bits: int, radius: int) -> list[int]:
    """All ``bits``-wide masks with at most ``radius`` bits set (0 included)."""
    key = (bits, radius)
    if key not in _MASK_CACHE:
        from itertools import combinations

        masks = [0]
        for k in range(1, radius + 1):
            for combo in combinations(range(bits), k):
                masks.append(sum(1 << b for b in combo))
        _MASK_CACHE[key] = masks
    return _MASK_CACHE[key]


def random_hashes(n: int, seed: int = 0) -> list[str]:
    """``n`` uniformly random 256-bit hashes in hex (for tests and benchmarks)."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n, HASH_BITS // 8), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def flip_bits(hex_hash: str, count: int, rng: np.random.Generator) -> str:
    """A copy of ``hex_hash`` with exactly ``count`` distinct random bits flipped."""
    value = int(hex_hash, 16)
    for bit in rng.choice(HASH_BITS, size=count, replace=False):
        value ^= 1 << int(bit)
    return f"{value:0{HEX_LENGTH}x}"


def bench_neardup(
    sizes: Iterable[int] = (1_000, 10_000, 100_000),
    *,
    queries: int = 50,
    strategies: Iterable[Strategy] = ("scan", "mih"),
    seed: int = 0,
) -> list[dict[str, float | int | str]]:
    """Time index build and query at each size, for a ``make bench`` table.

    Each query is a stored hash with 10 random bits flipped (so exactly one planted
    neighbour plus whatever random hashes fall within 31 bits, which is none in
    practice). Returns rows ``{"strategy", "n", "build_s", "query_ms"}`` where
    ``query_ms`` is the median over ``queries`` searches at ``max_distance=31``.
    """
    rows: list[dict[str, float | int | str]] = []
    rng = np.random.default_rng(seed + 1)
    for n in sizes:
        hashes = random_hashes(n, seed)
        items = [(i, h) for i, h in enumerate(hashes)]
        picks = rng.integers(0, n, size=queries)
        probes = [flip_bits(hashes[int(i)], 10, rng) for i in picks]
        for strategy in strategies:
            start = time.perf_counter()
            index = NearDupIndex.build(items, strategy=strategy)
            build_s = time.perf_counter() - start
            timings = []
            for probe in probes:
                t0 = time.perf_counter()
                index.search(probe, max_distance=MATCH_THRESHOLD, limit=10)
                timings.append((time.perf_counter() - t0) * 1000)
            rows.append(
                {
                    "strategy": strategy,
                    "n": n,
                    "build_s": round(build_s, 4),
                    "query_ms": round(float(np.median(timings)), 3),
                }
            )
    return rows


__all__ = ["NearDupIndex", "bench_neardup", "flip_bits", "hex_to_words", "random_hashes", "words_to_hex"]


if __name__ == "__main__":  # pragma: no cover - manual benchmark entry point
    print(f"{'strategy':<8} {'n':>8} {'build s':>9} {'query ms':>9}")
    for row in bench_neardup():
        print(f"{row['strategy']:<8} {row['n']:>8} {row['build_s']:>9} {row['query_ms']:>9}")
