"""Near-duplicate search over 100,000 stored PDQ hashes."""
from __future__ import annotations

from provenance.neardup import bench_neardup


def run() -> list[tuple[str, float, str, str]]:
    rows = []
    for row in bench_neardup(sizes=(100_000,), queries=50):
        rows.append((f"near-dup query ({row['strategy']})", row["query_ms"], "ms", f"{row['n']:,} hashes, distance 31"))
        rows.append((f"near-dup build ({row['strategy']})", row["build_s"], "s", f"{row['n']:,} hashes"))
    return rows
