"""The budget follows the image: re-uploads, re-encoded copies and larger zips share privacy units and spend.

Every test uploads real datasets (CelebA photos and generator fakes) and submits jobs through ``submit_job``;
nothing is mocked. The budgets are chosen so one ε=2 job fits and a second composed over the same images
(ε ≈ 2.7) does not.
"""
from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from opacus.accountants import RDPAccountant
from PIL import Image

from privacy import jobs, ledger, unit_ledger, units
from privacy.dataset_store import create_dataset
from privacy.models import (
    AppendOnlyError,
    BudgetLedgerEntry,
    DatasetImage,
    PrivateDataset,
    PrivateFinetuneJob,
    UnitReservation,
)
from privacy.presenters import dataset_to_dict
from privacy.tenant_budget import set_tenant_budget
from tests.support.privacy_data import make_labelled_zip
from tests.support.privacy_fixtures import upload_dataset

JOB = {"target_epsilon": 2.0, "epochs": 2, "batch_size": 6, "learning_rate": 0.01}


@pytest.fixture(scope="module")
def reencoded_zip(dataset_zip, tmp_path_factory) -> Path:
    """The same images as JPEG quality 75 at 0.9x size: no byte in common, every PDQ within the threshold."""
    out = tmp_path_factory.mktemp("reencoded") / "faces-reencoded.zip"
    with zipfile.ZipFile(dataset_zip) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            image = Image.open(io.BytesIO(src.read(name))).convert("RGB")
            image = image.resize((round(image.width * 0.9), round(image.height * 0.9)), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=75)
            dst.writestr(str(Path(name).with_suffix(".jpg")), buffer.getvalue())
    return out


@pytest.fixture(scope="module")
def larger_zip(dataset_zip, tmp_path_factory) -> Path:
    """The whole dataset zip plus 12 other photos, in one archive."""
    folder = tmp_path_factory.mktemp("larger")
    extra = make_labelled_zip(folder / "extra.zip", 12, 0, seed=11, prefix="more/")
    out = folder / "faces-and-more.zip"
    with zipfile.ZipFile(out, "w") as dst:
        for source in (dataset_zip, extra):
            with zipfile.ZipFile(source) as src:
                for name in src.namelist():
                    dst.writestr(name, src.read(name))
    return out


def upload(actor, path: Path, epsilon_total: float, name: str) -> PrivateDataset:  # type: ignore[no-untyped-def]
    return upload_dataset(actor, path, epsilon_total=epsilon_total, name=name)


def train_units(dataset: PrivateDataset) -> set[int]:
    return {i.unit_id for i in units.training_set(dataset).images}


def spent(unit_id: int, tenant) -> float:  # type: ignore[no-untyped-def]
    return unit_ledger.unit_epsilon(unit_id, units.tenant_budget(tenant))


def test_a_reupload_of_the_same_zip_joins_the_same_units_and_is_refused(actor, dataset_zip) -> None:
    first = upload(actor, dataset_zip, 2.5, "faces")
    assert jobs.submit_job(actor, first, **JOB).state == "queued"
    again = upload(actor, dataset_zip, 2.5, "faces again")
    images = list(DatasetImage.objects.filter(dataset=again))
    assert {i.match for i in images} == {"exact"} and train_units(again) == train_units(first)

    refused = jobs.submit_job(actor, again, **JOB)
    assert refused.state == "refused"
    assert "18 of 18 training images would pass their privacy budget" in refused.error
    assert f"unit {min(train_units(first))} (dataset/" in refused.error and "and 13 more" in refused.error
    assert "No image has budget left for it" in refused.error
    assert not BudgetLedgerEntry.objects.filter(job=refused).exists()
    # A bigger budget on the re-upload does not help: the first upload's budget follows its images.
    generous = upload(actor, dataset_zip, 100.0, "faces, generous")
    assert jobs.submit_job(actor, generous, **JOB).state == "refused"
    assert max(spent(u, actor.tenant) for u in train_units(first)) <= 2.5


def test_a_reencoded_resized_copy_is_the_same_units_by_pdq_and_is_refused(actor, dataset_zip, reencoded_zip) -> None:
    first = upload(actor, dataset_zip, 2.5, "faces")
    assert jobs.submit_job(actor, first, **JOB).state == "queued"
    copy = upload(actor, reencoded_zip, 2.5, "faces, re-encoded")
    images = list(DatasetImage.objects.filter(dataset=copy))
    assert {i.match for i in images} == {"near"} and all(0 < i.pdq_distance <= 31 for i in images)
    assert {i.unit_id for i in images} == set(DatasetImage.objects.filter(dataset=first).values_list("unit_id",
                                                                                                      flat=True))
    refused = jobs.submit_job(actor, copy, **JOB)
    assert refused.state == "refused" and "18 of 18 training images would pass" in refused.error
    # Dropping the exhausted units leaves nothing to train on: still refused, never over budget.
    assert jobs.submit_job(actor, copy, drop_exhausted=True, **JOB).state == "refused"
    assert max(spent(u, actor.tenant) for u in train_units(first)) <= 2.5


def test_a_larger_zip_is_refused_naming_the_exhausted_units_or_trains_on_the_rest(actor, dataset_zip,
                                                                                  larger_zip) -> None:
    first = upload(actor, dataset_zip, 2.5, "faces")
    assert jobs.submit_job(actor, first, **JOB).state == "queued"
    used = train_units(first)
    larger = upload(actor, larger_zip, 2.5, "faces and more")
    overlap = train_units(larger) & used
    assert overlap and train_units(larger) - used  # some images were trained on, some are new

    refused = jobs.submit_job(actor, larger, **JOB)
    assert refused.state == "refused"
    assert f"{len(overlap)} of {len(train_units(larger))} training images would pass" in refused.error
    assert "resubmit with drop_exhausted" in refused.error and "ε left min 2.5" in refused.error

    job = jobs.submit_job(actor, larger, drop_exhausted=True, **JOB)
    assert job.state == "queued", job.error
    trained = set(UnitReservation.objects.filter(entry__job=job).values_list("unit_id", flat=True))
    assert trained == train_units(larger) - used
    names_of_overlap = set(DatasetImage.objects.filter(dataset=larger, split="train", unit_id__in=overlap)
                           .values_list("name", flat=True))
    assert names_of_overlap <= set(job.excluded_members)
    assert ledger.reservation_of(job).sample_rate == pytest.approx(JOB["batch_size"] / len(trained))
    assert all(spent(u, actor.tenant) <= 2.5 for u in train_units(larger) | used)

    jobs.run_job(str(job.id))  # it trains on exactly the reserved units, under exactly the reserved mechanism
    job.refresh_from_db()
    assert job.state == "done", job.error
    per_image = job.result_card["privacy"]["per_image"]
    assert per_image["units"] == len(trained) and per_image["epsilon"]["max"] <= 2.5
    assert job.result_card["membership_inference"]["private"]["members"] == len(trained)


def test_each_unit_s_epsilon_is_opacus_stepped_by_hand_over_every_job_that_touched_it(
        actor, dataset_zip, reencoded_zip, larger_zip) -> None:
    jobs_done = []
    for path, target, name in ((dataset_zip, 2.0, "faces"), (reencoded_zip, 1.0, "copy"),
                               (larger_zip, 1.5, "larger")):
        dataset = upload(actor, path, 20.0, name)
        job = jobs.submit_job(actor, dataset, **{**JOB, "target_epsilon": target})
        assert job.state == "queued", job.error
        jobs_done.append(job)
    policy = units.tenant_budget(actor.tenant)
    every_unit = set(UnitReservation.objects.values_list("unit_id", flat=True))
    touched_by_all = set.intersection(*(set(UnitReservation.objects.filter(entry__job=j).values_list(
        "unit_id", flat=True)) for j in jobs_done))
    assert touched_by_all and every_unit - touched_by_all
    for unit_id in every_unit:
        reference = RDPAccountant()
        for entry in BudgetLedgerEntry.objects.filter(unit_reservations__unit_id=unit_id).order_by("id"):
            for _ in range(entry.steps):  # what DPOptimizer's hook does, one step at a time
                reference.step(noise_multiplier=entry.noise_multiplier, sample_rate=entry.sample_rate)
        expected = reference.get_epsilon(delta=policy.delta)
        assert unit_ledger.unit_epsilon(unit_id, policy) == pytest.approx(expected, rel=1e-9)
        last = UnitReservation.objects.filter(unit_id=unit_id).order_by("id").last()
        assert last.epsilon_unit == pytest.approx(expected, rel=1e-9)


def test_a_failed_job_that_never_stepped_gives_its_units_budget_back(actor, dataset_zip) -> None:
    first = upload(actor, dataset_zip, 2.5, "faces")
    job = jobs.submit_job(actor, first, **JOB)
    jobs.fail(job, "the dataset file was unreadable")
    again = upload(actor, dataset_zip, 2.5, "faces again")
    assert jobs.submit_job(actor, again, **JOB).state == "queued"


def test_two_copies_of_one_image_in_a_zip_are_one_unit_and_train_once(actor, dataset_zip, tmp_path) -> None:
    doubled = tmp_path / "doubled.zip"
    with zipfile.ZipFile(dataset_zip) as src, zipfile.ZipFile(doubled, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
            if "/real/" in name:
                dst.writestr(name.replace("/real/", "/real/copy-"), src.read(name))
    dataset = upload(actor, doubled, 8.0, "doubled")
    training = units.training_set(dataset)
    assert training.duplicates and len({i.unit_id for i in training.images}) == len(training.images)
    job = jobs.submit_job(actor, dataset, **JOB)
    assert sorted(job.excluded_members) == sorted(d.name for d in training.duplicates)
    assert ledger.reservation_of(job).sample_rate == pytest.approx(JOB["batch_size"] / len(training.images))


def test_the_tenant_budget_caps_every_image_and_every_dataset(actor, dataset_zip) -> None:
    set_tenant_budget(actor, epsilon_total=2.5)
    with pytest.raises(ValueError, match="cannot exceed the tenant's per-image budget"):
        upload(actor, dataset_zip, 8.0, "too generous")
    # A dataset without its own budget (set by no admin: 0) cannot train; one at the tenant's can, once.
    from webapp.accounts.tenancy import Actor

    moderator = Actor(actor.tenant, "user:mod", "moderator", frozenset({"analyse", "read"}))
    from forensics.ingest.storage import read_chunks

    unset = create_dataset(moderator, read_chunks(dataset_zip), "unset")
    assert jobs.submit_job(actor, unset, **JOB).state == "refused"
    capped = upload(actor, dataset_zip, 2.5, "at the cap")
    assert jobs.submit_job(actor, capped, **JOB).state == "queued"
    with pytest.raises(PermissionError):
        set_tenant_budget(moderator, epsilon_total=100.0)
    with pytest.raises(ValueError, match="δ and the accountant cannot change"):
        set_tenant_budget(actor, delta=1e-6)


def test_the_dataset_shows_its_images_remaining_budget_as_a_distribution(actor, dataset_zip, larger_zip) -> None:
    first = upload(actor, dataset_zip, 2.5, "faces")
    jobs.submit_job(actor, first, **JOB)
    larger = upload(actor, larger_zip, 2.5, "faces and more")
    per_image = dataset_to_dict(larger)["budget"]["per_image"]
    assert per_image["units"] == len({i.unit_id for i in DatasetImage.objects.filter(dataset=larger)})
    left = per_image["epsilon_left"]
    assert left["max"] == 2.5 and 0 < left["min"] < 1 and left["min"] <= left["median"] <= left["max"]
    assert per_image["epsilon_spent"]["max"] == pytest.approx(ledger.reservation_of(
        first.jobs.get()).epsilon_job, abs=1e-3)


def test_unit_reservations_cannot_be_changed_or_removed(actor, dataset_zip) -> None:
    dataset = upload(actor, dataset_zip, 8.0, "faces")
    jobs.submit_job(actor, dataset, **JOB)
    row = UnitReservation.objects.first()
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        UnitReservation.objects.filter(pk=row.pk).delete()
    for sql in (f"UPDATE privacy_unitreservation SET epsilon_unit = 0 WHERE id = {row.pk}",
                f"DELETE FROM privacy_unitreservation WHERE id = {row.pk}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_two_racing_jobs_on_two_uploads_of_the_same_images_never_overspend_an_image(actor, dataset_zip,
                                                                                    clean_ledger) -> None:
    """Different datasets (so different dataset locks), the same units: the unit locks decide. Real threads."""
    a, b = upload(actor, dataset_zip, 2.5, "a"), upload(actor, dataset_zip, 2.5, "b")
    barrier, states, errors = threading.Barrier(2), [], []

    def submit(dataset_id) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            states.append(jobs.submit_job(actor, PrivateDataset.objects.get(pk=dataset_id), **JOB).state)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(d.pk,)) for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(states) == ["queued", "refused"]
    assert PrivateFinetuneJob.objects.filter(state="queued").count() == 1
    assert max(spent(u, actor.tenant) for u in train_units(a)) <= 2.5
