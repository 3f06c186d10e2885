"""Who counts as a member in a job's membership-inference audit: the units its model's lineage trained on.

The per-image guarantee is composed over every job that trained on an image, so the audit is run against the
same composed view: an image any model of the lineage trained on is a member, and only an image none of them
trained on may serve as a non-member.

The lineage. Fine-tunes here do not chain in their weights: every job starts from the shipped base detector's
weights (``privacy.training.load_base`` reads them from ``MODELS_DIR``; the card's ``base_model`` names them),
never from the tenant's earlier version. A lineage by weight descent would therefore always be the job alone.
What a tenant's users and an attacker query is the tenant's *slot* for that detector, which each finished job
takes over from the one before (``jobs.complete`` retires the active version). So the lineage of the model a
job trains is: that job, plus every job of the same tenant whose model is registered as a tenant version of
the same base detector (active or retired) when the audit runs. Jobs that never registered a model (refused,
failed, queued) released no model to attack and are left out; their spend still counts in the ledger.

Members are one image per privacy unit (a unit is one image wherever it appears: byte copies and PDQ
near-copies), the image the job recorded against the unit in the unit ledger (this job's own image when it
trained on the unit). Non-members are the holdout images of the lineage's datasets, one per unit, leaving out
every unit a lineage job trained on (an image in one dataset's holdout and another's training split, or a
near-copy of a training image, is not a non-member).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from privacy.dataset_store import zip_path
from privacy.datasets import LabelledImage, load_images
from privacy.mia import LabelledImages
from privacy.models import (
    BudgetLedgerEntry,
    DatasetImage,
    PrivateDataset,
    PrivateFinetuneJob,
    TenantDetectorVersion,
    UnitReservation,
)
from privacy.unit_ledger import released_jobs

DEFINITION = "lineage"
WHAT = ("members = one image per privacy unit that any job of this model's lineage trained on (this job and every "
        "earlier job of the tenant whose model is a version of the same base detector), non-members = holdout "
        "images of the lineage's datasets whose unit no lineage job trained on")


@dataclass(frozen=True)
class AuditSets:
    jobs: list[str]                   # the lineage's job ids, this job first
    members: list[DatasetImage]       # one per unit, by unit id
    own: list[bool]                   # per member: this job trained on its unit
    non_members: list[DatasetImage]   # one per unit, by unit id
    holdout_dropped: int              # holdout images left out: a lineage job trained on their unit

    def definition(self) -> dict[str, Any]:
        """What the audit records about its members (the model card and the job's result carry it)."""
        own = sum(self.own)
        return {"name": DEFINITION, "what": WHAT, "lineage_jobs": self.jobs, "members": len(self.members),
                "members_this_job": own, "members_earlier_jobs_only": len(self.members) - own,
                "non_members": len(self.non_members), "holdout_dropped_trained_by_lineage": self.holdout_dropped}


def lineage_jobs(job: PrivateFinetuneJob) -> list[PrivateFinetuneJob]:
    """This job, then every job of the tenant with a registered model of the same base detector, oldest first."""
    detector = job.config["base_detector"]
    earlier = PrivateFinetuneJob.objects.filter(
        tenant=job.tenant, pk__in=TenantDetectorVersion.objects.filter(tenant=job.tenant, detector=detector)
        .values("source_job_id")).exclude(pk=job.pk).order_by("created_at", "id")
    return [job, *earlier]


def audit_sets(job: PrivateFinetuneJob) -> AuditSets:
    """The lineage's members and non-members for ``job``'s audit (from the unit ledger; nothing is decoded)."""
    lineage = lineage_jobs(job)
    ids = [j.pk for j in lineage]
    reservations = (UnitReservation.objects.filter(entry__job_id__in=ids, entry__kind=BudgetLedgerEntry.Kind.RESERVE)
                    .exclude(entry__job_id__in=released_jobs()).select_related("image", "entry")
                    .order_by("id"))
    chosen: dict[int, DatasetImage] = {}
    own: set[int] = set()
    for r in reservations:
        if r.entry.job_id == job.pk:
            own.add(r.unit_id)
            chosen[r.unit_id] = r.image  # the image this model trained on
        else:
            chosen.setdefault(r.unit_id, r.image)
    trained = set(chosen)
    datasets = {j.dataset_id for j in lineage}
    non_members: dict[int, DatasetImage] = {}
    dropped = 0
    for image in DatasetImage.objects.filter(dataset_id__in=datasets, split=DatasetImage.Split.HOLDOUT).order_by(
            "dataset_id", "name"):
        if image.unit_id in trained:
            dropped += 1
        else:
            non_members.setdefault(image.unit_id, image)
    members = [chosen[u] for u in sorted(chosen)]
    return AuditSets(jobs=[str(i) for i in ids], members=members, own=[m.unit_id in own for m in members],
                     non_members=[non_members[u] for u in sorted(non_members)], holdout_dropped=dropped)


def load(images: Sequence[DatasetImage]) -> LabelledImages:
    """The images decoded, in the order given (each from its own dataset's stored zip)."""
    by_dataset: dict[Any, list[int]] = defaultdict(list)
    for i, image in enumerate(images):
        by_dataset[image.dataset_id].append(i)
    out: list[Any] = [None] * len(images)
    for dataset in PrivateDataset.objects.filter(pk__in=list(by_dataset)):
        positions = by_dataset[dataset.pk]
        decoded = load_images(zip_path(dataset), [LabelledImage(images[i].name, images[i].label) for i in positions])
        for i, item in zip(positions, decoded):
            out[i] = item
    return out
