"""The provenance section of an analysis: metadata, C2PA, perceptual hashes and
near-duplicates among the tenant's earlier items.

Runs on the ``cpu`` queue before any model. Each part reports its own failure
inside the section instead of failing the analysis: a malformed XMP packet or
manifest is itself a finding, not a crash.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from detectors.base import MediaType
from forensics.models import Analysis, MediaItem, PerceptualHash, Review
from provenance.c2pa_check import check_c2pa
from provenance.metadata import extract_metadata
from provenance.neardup import NearDupIndex
from provenance.perceptual import MATCH_THRESHOLD, MIN_QUALITY, pdq_image, pdq_video

log = logging.getLogger(__name__)
VIDEO_HASH_FRAMES = 16
MAX_NEAR_DUPLICATES = 10


def collect_provenance(item: Any, path: Path) -> dict[str, Any]:
    media_type = MediaType(item.media_type)
    section: dict[str, Any] = {
        "sha256": item.sha256,
        "media_type": item.media_type,
        "mime_type": item.mime_type,
        "size_bytes": item.size_bytes,
        "properties": item.properties,
        "metadata": extract_metadata(path, media_type),
    }
    if media_type is MediaType.TEXT:
        return section
    section["c2pa"] = check_c2pa(
        path, mime_type=item.mime_type, trust_anchors=settings.FORENSICS_C2PA_TRUST_ANCHORS or None
    ).to_dict()
    hashes = store_perceptual_hashes(item, path, media_type)
    section["pdq"] = [{"frame_index": h.frame_index, "hash": h.pdq, "quality": h.quality} for h in hashes]
    section["near_duplicates"] = near_duplicates(item, hashes)
    known = [d for d in section["near_duplicates"] if d["known_fake"]]
    if known:
        section["metadata"]["flags"].insert(
            0, f"Near-duplicate (PDQ distance {known[0]['distance']}) of an item a reviewer confirmed synthetic."
        )
    return section


def store_perceptual_hashes(item: Any, path: Path, media_type: MediaType) -> list[PerceptualHash]:
    if media_type is MediaType.IMAGE:
        h = pdq_image(path)
        rows = [(-1, h.hex, h.quality)]
    else:
        rows = [(f.frame_index, f.hash, f.quality) for f in pdq_video(path, num_frames=VIDEO_HASH_FRAMES)]
    out = []
    for frame_index, hex_hash, quality in rows:
        obj, _ = PerceptualHash.objects.update_or_create(
            item=item, frame_index=frame_index,
            defaults={"tenant_id": item.tenant_id, "pdq": hex_hash, "quality": quality},
        )
        out.append(obj)
    return out


@dataclass
class TenantIndex:
    index: NearDupIndex = field(default_factory=NearDupIndex)
    owner: dict[Hashable, Any] = field(default_factory=dict)  # hash row id -> item id
    last_id: int = 0


_indexes: dict[int, TenantIndex] = {}


def tenant_index(tenant_id: int) -> TenantIndex:
    """The tenant's usable PDQ hashes, kept per worker process and topped up with rows added since."""
    cached = _indexes.setdefault(tenant_id, TenantIndex())
    fresh = (PerceptualHash.objects.filter(tenant_id=tenant_id, quality__gt=MIN_QUALITY, id__gt=cached.last_id)
             .order_by("id").values_list("id", "item_id", "pdq"))
    for row_id, item_id, pdq in fresh.iterator(chunk_size=5000):
        cached.index.add(row_id, pdq)
        cached.owner[row_id] = item_id
        cached.last_id = row_id
    return cached


def near_duplicates(item: Any, hashes: list[PerceptualHash], max_distance: int = MATCH_THRESHOLD) -> list[dict[str, Any]]:
    """Earlier items of the same tenant within ``max_distance`` bits, nearest first, with their verdicts.

    Low-quality hashes (flat images) are left out on both sides: they match everything.
    """
    usable = [h for h in hashes if h.quality > MIN_QUALITY]
    if not usable:
        return []
    cached = tenant_index(item.tenant_id)
    best: dict[Any, int] = {}
    for h in usable:
        for row_id, distance in cached.index.search(h.pdq, max_distance=max_distance, limit=64):
            owner = cached.owner[row_id]
            if owner != item.id:
                best[owner] = min(distance, best.get(owner, 256))
    alive = set(MediaItem.objects.filter(tenant_id=item.tenant_id, id__in=best).values_list("id", flat=True))
    best = {k: v for k, v in best.items() if k in alive}
    matches = sorted(best.items(), key=lambda pair: pair[1])[:MAX_NEAR_DUPLICATES]
    out = []
    for item_id, distance in matches:
        latest = Analysis.objects.filter(item_id=item_id, state="done").order_by("-finished_at").first()
        review = Review.objects.filter(analysis__item_id=item_id).order_by("-created_at").first()
        out.append({
            "item_id": str(item_id), "distance": distance,
            "analysis_id": str(latest.id) if latest else None,
            "verdict": latest.verdict if latest else None, "score": latest.score if latest else None,
            "review_decision": review.decision if review else None,
            # A person confirmed it synthetic, and (above the second-review score) a second
            # person agreed: the tenant's list of known fakes. A pending first decision is not enough.
            "known_fake": bool(review and review.decision == Review.Decision.CONFIRM_SYNTHETIC
                               and review.outcome in (Review.Outcome.FINAL, Review.Outcome.CONFIRMED)),
        })
    return out
