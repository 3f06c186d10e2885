"""Submitting media for analysis: the one entry point used by the UI, the API and the CLI.

A submission is validated completely before anything is written to the
database; the database rows and the audit event are created in one
transaction; the job is queued only after that transaction commits.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from detectors.base import MediaType
from forensics.ingest import storage
from forensics.ingest.errors import IngestError, TooLarge, UnsupportedMedia
from forensics.ingest.probe import Limits, decode_text, probe, starts_like_text, text_properties
from forensics.ingest.sniff import SNIFF_BYTES, Sniffed, sniff
from forensics.models import Analysis, MediaItem
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle
from webapp.accounts.tenancy import Actor

log = logging.getLogger(__name__)


def current_limits() -> Limits:
    return Limits(
        max_bytes=settings.FORENSICS_MAX_UPLOAD_BYTES,
        max_image_pixels=settings.FORENSICS_MAX_IMAGE_PIXELS,
        max_video_seconds=settings.FORENSICS_MAX_VIDEO_SECONDS,
        max_text_chars=settings.FORENSICS_MAX_TEXT_CHARS,
    )


def _looks_like_text(staged: storage.StagedFile, limits: Limits) -> bool:
    # UTF-8 needs at most 4 bytes a character; anything bigger cannot be accepted text.
    if staged.size > 4 * limits.max_text_chars:
        return False
    return decode_text(staged.path.read_bytes()) is not None


TEXT_PREFIX_BYTES = 64 * 1024  # how much of a file too large to be accepted text is read to recognise text


def _refuse_long_text(staged: storage.StagedFile, limits: Limits) -> None:
    """A text file too large to decode whole is still a text: over the limit (413), not an unknown type (415)."""
    if staged.size <= 4 * limits.max_text_chars:
        return
    with staged.path.open("rb") as fh:
        if starts_like_text(fh.read(TEXT_PREFIX_BYTES)):
            raise TooLarge(
                f"The text file is {staged.size:,} bytes, more than {limits.max_text_chars:,} characters can take; "
                f"the limit is {limits.max_text_chars} characters (FORENSICS_MAX_TEXT_CHARS)."
            )


def submit_chunks(
    actor: Actor, chunks: Iterable[bytes], *, original_name: str = "", source: str = "api"
) -> Analysis:
    """Validate and store an uploaded file, then queue its analysis."""
    limits = current_limits()
    staged = storage.stage_chunks(chunks, Path(settings.MEDIA_ROOT), limits.max_bytes)
    try:
        with staged.path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        try:
            sniffed = sniff(head, looks_like_text=_looks_like_text(staged, limits))
        except UnsupportedMedia:
            _refuse_long_text(staged, limits)
            raise
        properties = probe(staged.path, sniffed, limits)
    except IngestError as exc:
        storage.discard(staged)
        log.info("upload refused", extra={"tenant": actor.tenant.slug, "reason": exc.code, "file": original_name})
        raise
    except BaseException:
        storage.discard(staged)
        raise
    return _record(actor, staged, sniffed, properties, original_name=original_name, source=source)


def submit_path(actor: Actor, path: Path, *, source: str = "cli") -> Analysis:
    if not path.is_file():
        raise UnsupportedMedia(f"{path} is not a file.")
    return submit_chunks(actor, storage.read_chunks(path), original_name=path.name, source=source)


def submit_text(actor: Actor, text: str, *, source: str = "api") -> Analysis:
    limits = current_limits()
    properties = text_properties(text, limits)
    staged = storage.stage_chunks([text.encode("utf-8")], Path(settings.MEDIA_ROOT), 4 * limits.max_text_chars)
    return _record(actor, staged, Sniffed(MediaType.TEXT, "text/plain"), properties, original_name="", source=source)


def _record(
    actor: Actor, staged: storage.StagedFile, sniffed: Sniffed, properties: dict, *, original_name: str, source: str
) -> Analysis:
    # The blob is committed first, so no row can ever point at a missing file.
    rel = storage.commit_blob(staged, Path(settings.MEDIA_ROOT))
    with transaction.atomic():
        item, created = MediaItem.objects.get_or_create(
            tenant=actor.tenant,
            sha256=staged.sha256,
            defaults={
                "media_type": sniffed.media_type.value,
                "mime_type": sniffed.mime_type,
                "size_bytes": staged.size,
                "original_name": original_name[:255],
                "storage_path": rel,
                "properties": properties,
            },
        )
        analysis = Analysis.objects.create(tenant=actor.tenant, item=item, submitted_by=actor.label, source=source)
        append_event(
            actor.tenant, actor.label, "analysis.submitted",
            item_id=str(item.id), analysis_id=str(analysis.id),
            payload={
                "sha256": item.sha256, "media_type": item.media_type, "mime_type": item.mime_type,
                "size_bytes": item.size_bytes, "original_name": original_name, "source": source,
                "new_item": created,
            },
        )
        transaction.on_commit(lambda: enqueue(analysis))
    log.info(
        "analysis submitted",
        extra={"tenant": actor.tenant.slug, "analysis": str(analysis.id), "sha256": item.sha256,
               "media_type": item.media_type},
    )
    return analysis


def enqueue(analysis: Analysis) -> None:
    """Hand the analysis to the queue. If the broker is down the row stays
    ``queued`` and the stale-job sweeper enqueues it again later."""
    lifecycle.send("forensics.tasks.run_provenance_stage", analysis.id, "analysis")
