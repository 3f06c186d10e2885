"""Privacy units: one image of a tenant wherever it appears, found by content hash and PDQ near-duplicate.

A budget that belongs to an upload protects nobody once the same photos are uploaded again, re-encoded, or mixed
into a larger zip. So every member of every private dataset is hashed (SHA-256 of its bytes and its PDQ hash,
with the provenance package's code and threshold) and joins the tenant's unit of an earlier image that is
byte-identical or within ``MATCH_THRESHOLD`` bits of PDQ distance; otherwise it starts a new unit. Units are
assigned while holding the tenant's budget row, so two concurrent uploads of one image cannot make two units.
Images whose PDQ hash is too unreliable to match on (flat pictures) are matched by their bytes only.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image

from privacy.datasets import LabelledImage
from privacy.models import DatasetImage, PrivacyUnit, PrivateDataset, TenantPrivacyBudget
from provenance.neardup import NearDupIndex
from provenance.perceptual import MATCH_THRESHOLD, pdq_image
from webapp.accounts.models import Tenant

Split = DatasetImage.Split
Match = DatasetImage.Match


@dataclass(frozen=True)
class HashedImage:
    member: LabelledImage
    split: str
    sha256: str
    pdq: str      # "" when no usable PDQ hash
    quality: int


def hash_members(path: Path, train: Sequence[LabelledImage], holdout: Sequence[LabelledImage]) -> list[HashedImage]:
    """Both hashes of every member (decoded once; call before taking any lock: PDQ costs milliseconds each)."""
    hashed = []
    with zipfile.ZipFile(path) as zf:
        for split, members in ((Split.TRAIN, train), (Split.HOLDOUT, holdout)):
            for member in members:
                data = zf.read(member.name)
                try:
                    with Image.open(io.BytesIO(data)) as img:
                        pdq = pdq_image(img)
                    hex_, quality = (pdq.hex if pdq.usable else ""), pdq.quality
                except Exception:  # noqa: BLE001 - a picture PDQ cannot hash still has its bytes to match on
                    hex_, quality = "", 0
                hashed.append(HashedImage(member, split, hashlib.sha256(data).hexdigest(), hex_, quality))
    return hashed


def tenant_budget(tenant: Tenant) -> TenantPrivacyBudget:
    """The tenant's per-image budget row, created with no cap of its own and the default δ on first use."""
    return TenantPrivacyBudget.objects.get_or_create(
        tenant=tenant, defaults={"delta": settings.FORENSICS_PRIVACY_DEFAULT_DELTA, "epsilon_total": None})[0]


def lock_tenant_budget(tenant: Tenant) -> TenantPrivacyBudget:
    """The tenant's per-image budget row, created on first use and locked (call inside a transaction)."""
    tenant_budget(tenant)
    return TenantPrivacyBudget.objects.select_for_update().get(tenant=tenant)


def assign_units(dataset: PrivateDataset, hashed: Sequence[HashedImage]) -> list[DatasetImage]:
    """Create the dataset's image rows, each in the unit of an earlier copy or near-copy, or in a new unit.

    Call inside a transaction: it locks the tenant's budget row for the whole assignment."""
    lock_tenant_budget(dataset.tenant)
    earlier = DatasetImage.objects.filter(dataset__tenant=dataset.tenant).values_list("id", "sha256", "pdq",
                                                                                       "unit_id")
    unit_of: dict[Hashable, object] = {}  # index key -> unit id (int) or a new PrivacyUnit
    by_sha: dict[str, object] = {}
    pairs = []
    for row_id, sha, pdq, unit_id in earlier:
        by_sha.setdefault(sha, unit_id)
        if pdq:
            unit_of[row_id] = unit_id
            pairs.append((row_id, pdq))
    index = NearDupIndex.build(pairs)
    rows, new_units = [], []
    for i, image in enumerate(hashed):
        distance, unit = None, by_sha.get(image.sha256)
        match = Match.EXACT if unit is not None else Match.NEW
        if unit is None and image.pdq:
            hits = index.search(image.pdq, MATCH_THRESHOLD, limit=1)
            if hits:
                unit, distance, match = unit_of[hits[0][0]], hits[0][1], Match.NEAR
        if unit is None:
            unit = PrivacyUnit(tenant=dataset.tenant)
            new_units.append(unit)
        by_sha.setdefault(image.sha256, unit)
        if image.pdq:  # later members of this upload match earlier ones too
            unit_of[("new", i)] = unit
            index.add(("new", i), image.pdq)
        rows.append((image, unit, match, distance))
    PrivacyUnit.objects.bulk_create(new_units)
    return DatasetImage.objects.bulk_create([
        DatasetImage(dataset=dataset, name=image.member.name, label=image.member.label, split=image.split,
                     sha256=image.sha256, pdq=image.pdq, pdq_quality=image.quality, match=match,
                     pdq_distance=distance, **({"unit": unit} if isinstance(unit, PrivacyUnit) else {"unit_id": unit}))
        for image, unit, match, distance in rows])


@dataclass(frozen=True)
class TrainingSet:
    """The images a job on the dataset may train on: the train split, one image per unit."""

    images: list[DatasetImage]     # in member-name order, the first image of each unit
    duplicates: list[DatasetImage]  # later images of a unit already in ``images``

    def without(self, unit_ids: set[int]) -> list[DatasetImage]:
        return [i for i in self.images if i.unit_id not in unit_ids]


def training_set(dataset: PrivateDataset) -> TrainingSet:
    """Two images of one unit in a split would let one person weigh twice in a step; only the first trains."""
    kept: list[DatasetImage] = []
    duplicates: list[DatasetImage] = []
    seen = set()
    for image in DatasetImage.objects.filter(dataset=dataset, split=Split.TRAIN).order_by("name"):
        (duplicates if image.unit_id in seen else kept).append(image)
        seen.add(image.unit_id)
    return TrainingSet(kept, duplicates)


def is_indexed(dataset: PrivateDataset) -> bool:
    return DatasetImage.objects.filter(dataset=dataset).exists()
