"""The membership-inference audit runs against the composed leakage: members are the privacy units any job of
the model's lineage trained on, and a held-out image some lineage job trained on is never a non-member.

Real uploads and real jobs (CelebA photos and generator fakes, trained on CPU); nothing is mocked.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from privacy import jobs, lineage
from privacy.models import DatasetImage, PrivateDataset, TenantDetectorVersion
from tests.support.privacy_data import make_labelled_zip
from tests.support.privacy_fixtures import upload_dataset

JOB = {"target_epsilon": 3.0, "epochs": 2, "batch_size": 6, "learning_rate": 0.01}


def units_of(dataset: PrivateDataset, split: str) -> set[int]:
    return set(DatasetImage.objects.filter(dataset=dataset, split=split).values_list("unit_id", flat=True))


def holdout_and_more(dataset: PrivateDataset, dataset_zip: Path, folder: Path) -> Path:
    """A second upload: the first dataset's held-out images (same bytes) and 12 other photos and fakes."""
    extra = make_labelled_zip(folder / "extra.zip", 6, 6, seed=11, prefix="more/")
    out = folder / "holdout-and-more.zip"
    held_out = DatasetImage.objects.filter(dataset=dataset, split="holdout").values_list("name", flat=True)
    with zipfile.ZipFile(out, "w") as dst:
        with zipfile.ZipFile(dataset_zip) as src:
            for name in held_out:
                dst.writestr(name, src.read(name))
        with zipfile.ZipFile(extra) as src:
            for name in src.namelist():
                dst.writestr(name, src.read(name))
    return out


def test_the_audit_counts_every_lineage_job_s_images_and_never_their_holdout_copies(actor, dataset_zip,
                                                                                     tmp_path) -> None:
    faces = upload_dataset(actor, dataset_zip, name="faces")
    second = upload_dataset(actor, holdout_and_more(faces, dataset_zip, tmp_path), name="holdout and more")
    # The second upload trains on some of the first one's held-out images: the hole the lineage closes.
    reused = units_of(faces, "holdout") & units_of(second, "train")
    assert reused and not units_of(faces, "train") & units_of(second, "train")

    earlier = jobs.submit_job(actor, second, **JOB)
    later = jobs.submit_job(actor, faces, **JOB)
    # A job whose model is not registered yet released nothing to attack: not in the lineage.
    alone = lineage.audit_sets(later)
    assert alone.jobs == [str(later.id)] and len(alone.members) == 18 and all(alone.own)
    assert {i.unit_id for i in alone.non_members} == units_of(faces, "holdout")

    jobs.run_job(str(earlier.id))
    earlier.refresh_from_db()
    assert earlier.state == "done", earlier.error
    assert TenantDetectorVersion.objects.filter(source_job=earlier).exists()

    sets = lineage.audit_sets(later)
    members = {i.unit_id: own for i, own in zip(sets.members, sets.own)}
    non_members = {i.unit_id for i in sets.non_members}
    assert sets.jobs == [str(later.id), str(earlier.id)]
    # (a) an image only the earlier job trained on is a member of the later job's audit (not one of its own).
    only_earlier = units_of(second, "train") - units_of(faces, "train")
    assert only_earlier and all(members[u] is False for u in only_earlier)
    assert {u for u, own in members.items() if own} == units_of(faces, "train")
    assert set(members) == units_of(faces, "train") | units_of(second, "train")
    # (b) a held-out image of this job's dataset that the earlier job trained on is not a non-member.
    assert not reused & non_members and not set(members) & non_members
    assert non_members == (units_of(faces, "holdout") | units_of(second, "holdout")) - set(members)
    assert sets.holdout_dropped == DatasetImage.objects.filter(
        dataset__in=[faces, second], split="holdout", unit_id__in=list(members)).count() >= len(reused)

    # The job's result and model card say which members the attack used, with the counts.
    jobs.run_job(str(later.id))
    later.refresh_from_db()
    assert later.state == "done", later.error
    mia = later.result_card["membership_inference"]
    defined = mia["members_definition"]
    assert defined["name"] == "lineage" and defined["lineage_jobs"] == [str(later.id), str(earlier.id)]
    assert (defined["members"], defined["members_this_job"], defined["non_members"]) == (
        len(members), 18, len(non_members))
    assert defined["members_earlier_jobs_only"] == len(only_earlier)
    assert mia["private"]["members"] == len(members) and mia["private"]["non_members"] == len(non_members)
    assert mia["this_job_members"]["private"]["members"] == 18
    card = TenantDetectorVersion.objects.get(source_job=later).card["membership_inference_audit"]
    assert card["members_definition"] == defined and "lineage" in card["attack"]
