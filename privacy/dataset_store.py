"""A tenant's labelled datasets: upload (validated, stored content-addressed, audited) and budget setting.

The zip is validated by ``privacy.datasets.inspect_zip`` (bombs, traversal, non-images, empty classes) before
anything is stored; only its bytes and counts are kept, never extracted files. A dataset can also be built from
images already in the service, each with a label: they are packed into the same zip layout and go the same way.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from forensics.ingest import storage
from forensics.models import Analysis
from privacy import unit_ledger, units
from privacy.accounting import ACCOUNTANTS
from privacy.datasets import DatasetError, LabelledImage, inspect_zip, split_holdout
from privacy.ledger import mechanism_of
from privacy.models import BudgetLedgerEntry, DatasetImage, PrivateDataset, PrivateFinetuneJob, TenantPrivacyBudget
from provenance.audit import append_event
from webapp.accounts.tenancy import Actor

HOLDOUT_SEED = 0  # the split is a property of the dataset: every job on it trains and evaluates on the same halves


class StoredDatasetMissing(DatasetError):
    """The dataset's stored zip is gone from the service's storage: a storage fault, not a fault of the upload.

    Its own type (a job's public reason starts with it) and message, because a read of the missing file is refused
    as an unreadable upload ("upload a .zip of real/ and fake/ folders"), which sends the user to fix an archive
    that was fine. A ``DatasetError`` still, so every caller that presents one says what to do instead of a 500.
    The message names no server path; the traceback (the ``FileNotFoundError`` it comes from) keeps it for the log.
    """

    def __init__(self, dataset: PrivateDataset) -> None:
        super().__init__(f"the stored zip of dataset {dataset.name!r} ({dataset.id}) is missing from the service's "
                         "storage: upload the dataset again, or ask the operator to restore it")


def zip_path(dataset: PrivateDataset) -> Path:
    """The dataset's stored zip, which every reader of it goes through: a missing file is StoredDatasetMissing."""
    path = Path(settings.MEDIA_ROOT) / dataset.storage_path
    try:
        path.stat()
    except FileNotFoundError as exc:
        raise StoredDatasetMissing(dataset) from exc
    return path


def inspect(path: Path) -> list[LabelledImage]:
    return inspect_zip(path, max_files=settings.FORENSICS_PRIVACY_MAX_DATASET_FILES,
                       max_bytes=settings.FORENSICS_PRIVACY_MAX_DATASET_BYTES,
                       max_pixels=settings.FORENSICS_MAX_IMAGE_PIXELS)


def splits(dataset: PrivateDataset) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(train, holdout) members of the stored zip, the same on every call."""
    return split_holdout(inspect(zip_path(dataset)), dataset.holdout_fraction, HOLDOUT_SEED)


def _check_budget(epsilon_total: float | None, delta: float | None) -> None:
    if epsilon_total is not None and not epsilon_total >= 0:
        raise ValueError(f"the total ε must be 0 or more, got {epsilon_total}")
    if delta is not None and not 0 < delta < 1:
        raise ValueError(f"δ must be between 0 and 1 (use less than 1/number of images), got {delta}")


def _check_under_tenant(actor: Actor, epsilon_total: float | None) -> None:
    """A dataset's budget may lower the tenant's per-image budget, never raise it."""
    cap = TenantPrivacyBudget.objects.filter(tenant=actor.tenant).values_list("epsilon_total", flat=True).first()
    if epsilon_total is not None and cap is not None and epsilon_total > cap:
        raise ValueError(f"a dataset's ε={epsilon_total:g} cannot exceed the tenant's per-image budget ε={cap:g}: "
                         "set it at or below the tenant's, or ask an admin to raise the tenant's")


def create_dataset(actor: Actor, chunks: Iterable[bytes], name: str, *, epsilon_total: float | None = None,
                   delta: float | None = None, accountant: str = "rdp") -> PrivateDataset:
    """Validate and store an uploaded zip. Only an admin may set the budget here; others get ε=0 until one does."""
    if not actor.can("analyse"):
        raise PermissionError("uploading a dataset needs the 'analyse' scope")
    if (epsilon_total is not None or delta is not None) and not actor.can("admin"):
        raise PermissionError("only a tenant admin can set a dataset's privacy budget; upload without it")
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"unknown accountant {accountant!r}: use one of {', '.join(ACCOUNTANTS)}")
    _check_budget(epsilon_total, delta)
    _check_under_tenant(actor, epsilon_total)
    media_root = Path(settings.MEDIA_ROOT)
    staged = storage.stage_chunks(chunks, media_root, settings.FORENSICS_MAX_UPLOAD_BYTES)
    try:
        members = inspect(staged.path)
        fraction = settings.FORENSICS_PRIVACY_HOLDOUT_FRACTION
        train, holdout = split_holdout(members, fraction, HOLDOUT_SEED)
        hashed = units.hash_members(staged.path, train, holdout)  # before any lock: PDQ takes a while
    except BaseException:
        storage.discard(staged)
        raise
    rel = storage.commit_blob(staged, media_root)
    with transaction.atomic():
        dataset = PrivateDataset.objects.create(
            tenant=actor.tenant, name=name.strip()[:200] or "dataset", storage_path=rel, sha256=staged.sha256,
            size_bytes=staged.size, n_real=sum(m.label == 0 for m in members),
            n_fake=sum(m.label == 1 for m in members), holdout_fraction=fraction, n_train=len(train),
            n_holdout=len(holdout), epsilon_total=epsilon_total or 0.0,
            delta=delta if delta is not None else settings.FORENSICS_PRIVACY_DEFAULT_DELTA,
            accountant=accountant, created_by=actor.label)
        images = units.assign_units(dataset, hashed)
        append_event(actor.tenant, actor.label, "privacy.dataset_created", payload={
            "dataset_id": str(dataset.id), "name": dataset.name, "sha256": dataset.sha256,
            "n_real": dataset.n_real, "n_fake": dataset.n_fake, "n_train": dataset.n_train,
            "n_holdout": dataset.n_holdout, "epsilon_total": dataset.epsilon_total, "delta": dataset.delta,
            "accountant": dataset.accountant, "privacy_units": _unit_summary(images)})
    return dataset


def _unit_summary(images: Sequence[DatasetImage]) -> dict[str, int]:
    """How many images started a unit, and how many joined one as a byte copy or a PDQ near-copy."""
    return {"units": len({i.unit_id for i in images}), "new": sum(i.match == "new" for i in images),
            "exact_copies": sum(i.match == "exact" for i in images),
            "near_copies": sum(i.match == "near" for i in images)}


def ensure_indexed(dataset: PrivateDataset) -> None:
    """Give a dataset uploaded before per-image accounting its units, and record its jobs' live reservations
    against them, so that its past spend follows its images from now on."""
    if units.is_indexed(dataset):
        return
    train, holdout = splits(dataset)
    hashed = units.hash_members(zip_path(dataset), train, holdout)
    with transaction.atomic():
        locked = PrivateDataset.objects.select_for_update().get(pk=dataset.pk)
        if units.is_indexed(locked):
            return
        units.assign_units(locked, hashed)
        policy = units.lock_tenant_budget(locked.tenant)
        entries = BudgetLedgerEntry.objects.filter(dataset=locked, kind=BudgetLedgerEntry.Kind.RESERVE).exclude(
            job_id__in=unit_ledger.released_jobs()).order_by("id")
        training = units.training_set(locked)
        for entry in entries:
            excluded = set(PrivateFinetuneJob.objects.get(pk=entry.job_id).excluded_members)
            images = [i for i in training.images if i.name not in excluded]
            unit_ledger.record(entry, unit_ledger.assess(policy, locked, images, mechanism_of(entry)))


def create_dataset_from_items(actor: Actor, labelled: Sequence[tuple[str, str]], name: str,
                              **budget: Any) -> PrivateDataset:
    """A dataset from the tenant's analysed images: ``labelled`` is [(analysis id, "real"|"fake"), ...]."""
    if not labelled:
        raise DatasetError("no items given: list analyses of images, each with the label real or fake")
    ids = [analysis_id for analysis_id, _ in labelled]
    found = {str(a.id): a for a in Analysis.objects.filter(tenant=actor.tenant, pk__in=ids).select_related("item")}
    buffer, packed = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for analysis_id, label in labelled:
            analysis = found.get(str(analysis_id))
            if analysis is None:
                raise DatasetError(f"analysis {analysis_id} does not exist in your tenant")
            if label not in ("real", "fake"):
                raise DatasetError(f"label {label!r} of {analysis_id}: use 'real' or 'fake'")
            if analysis.item.media_type != "image":
                raise DatasetError(f"analysis {analysis_id} is a {analysis.item.media_type}, not an image")
            if analysis.item.sha256 in packed:  # one image counts once, or the guarantee's unit would be wrong
                raise DatasetError(f"analysis {analysis_id} is the same image as another listed item: list it once")
            packed.add(analysis.item.sha256)
            zf.write(Path(settings.MEDIA_ROOT) / analysis.item.storage_path, f"{label}/{analysis.item.sha256}")
    return create_dataset(actor, [buffer.getvalue()], name, **budget)


def set_budget(actor: Actor, dataset: PrivateDataset, *, epsilon_total: float | None = None,
               delta: float | None = None) -> PrivateDataset:
    """Set the dataset's total ε (any time) and δ (only before the first reservation: the ledger composes at it)."""
    if not actor.can("admin"):
        raise PermissionError("only a tenant admin can set a dataset's privacy budget")
    if dataset.tenant_id != actor.tenant.id:
        raise PermissionError("this dataset belongs to another tenant")
    _check_budget(epsilon_total, delta)
    _check_under_tenant(actor, epsilon_total)
    with transaction.atomic():
        locked = PrivateDataset.objects.select_for_update().get(pk=dataset.pk)
        before = {"epsilon_total": locked.epsilon_total, "delta": locked.delta}
        if delta is not None and delta != locked.delta and BudgetLedgerEntry.objects.filter(dataset=locked).exists():
            raise ValueError("δ cannot change once jobs have reserved budget at it: the ledger composes every "
                             "job at one δ. Upload the data as a new dataset for a different δ")
        if epsilon_total is not None:
            locked.epsilon_total = epsilon_total
        if delta is not None:
            locked.delta = delta
        locked.save(update_fields=["epsilon_total", "delta"])
        append_event(actor.tenant, actor.label, "privacy.budget_set", payload={
            "dataset_id": str(locked.id), "before": before,
            "after": {"epsilon_total": locked.epsilon_total, "delta": locked.delta}})
    return locked

