"""Near-duplicate search over 100,000 stored PDQ hashes: the index alone, and the pipeline's
database path (a worker's first search loads the tenant's hashes; later ones only add new rows)."""
from __future__ import annotations

import time

import numpy as np

from provenance.neardup import bench_neardup, flip_bits, random_hashes

N_HASHES = 100_000


def _db_path() -> list[tuple[str, float, str, str]]:
    from forensics.models import MediaItem, PerceptualHash
    from forensics.provenance_section import near_duplicates, tenant_index
    from webapp.accounts.models import Tenant

    tenant, _ = Tenant.objects.get_or_create(slug="bench-neardup", defaults={"name": "Bench near-dup"})
    PerceptualHash.objects.filter(tenant=tenant).delete()
    items = [MediaItem.objects.create(tenant=tenant, sha256=f"{i:064x}", media_type="video", mime_type="video/mp4",
                                      size_bytes=1, storage_path="-", properties={}) for i in range(101)]
    hashes = random_hashes(N_HASHES, seed=1)
    per_item = N_HASHES // 100
    PerceptualHash.objects.bulk_create(
        [PerceptualHash(tenant=tenant, item=items[i // per_item], frame_index=i % per_item, pdq=h, quality=90)
         for i, h in enumerate(hashes)], batch_size=5000)
    probe = PerceptualHash.objects.create(tenant=tenant, item=items[100], frame_index=-1,
                                          pdq=flip_bits(hashes[12345], 12, np.random.default_rng(0)), quality=90)
    start = time.perf_counter()
    cold = near_duplicates(items[100], [probe])
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    warm = near_duplicates(items[100], [probe])
    warm_ms = (time.perf_counter() - start) * 1000
    assert cold == warm and cold[0]["item_id"] == str(items[12345 // per_item].id)
    rows = len(tenant_index(tenant.id).owner)
    return [
        ("near-dup, pipeline path, first search", cold_s, "s", f"{rows:,} stored hashes loaded from the database"),
        ("near-dup, pipeline path, later searches", warm_ms, "ms", "index kept per worker, topped up"),
    ]


def run() -> list[tuple[str, float, str, str]]:
    rows = []
    for row in bench_neardup(sizes=(N_HASHES,), queries=50):
        rows.append((f"near-dup query ({row['strategy']})", row["query_ms"], "ms", f"{row['n']:,} hashes, distance 31"))
        rows.append((f"near-dup build ({row['strategy']})", row["build_s"], "s", f"{row['n']:,} hashes"))
    return rows + _db_path()
