"""The compliance period report lists the tenant's private fine-tuning jobs with their guarantee and ledger."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from privacy import jobs
from tests.support.privacy_fixtures import upload_dataset
from webapp.reporting.reports import build_period_report


def test_the_period_report_lists_private_jobs_with_their_budget(actor, other_tenant, dataset_zip) -> None:
    dataset = upload_dataset(actor, dataset_zip, epsilon_total=2.5)
    accepted = jobs.submit_job(actor, dataset, target_epsilon=2.0, epochs=2, batch_size=6)
    refused = jobs.submit_job(actor, dataset, target_epsilon=2.0, epochs=2, batch_size=6)
    now = timezone.now()
    report = build_period_report(actor.tenant, now - timedelta(days=1), now + timedelta(days=1))
    rows = {r["job_id"]: r for r in report["private_finetuning_jobs"]}
    assert rows[str(accepted.id)]["state"] == "queued" and rows[str(refused.id)]["state"] == "refused"
    row = rows[str(accepted.id)]
    assert row["dataset_sha256"] == dataset.sha256 and row["target_epsilon"] == "2.0000" and row["delta"] == "1e-05"
    assert float(row["epsilon_reserved"]) <= 2.0
    assert row["dataset_ledger"]["epsilon_spent"] == row["epsilon_reserved"]
    assert row["dataset_ledger"]["epsilon_total"] == "2.5000"
    assert row["epsilon_per_image_max"] == row["epsilon_reserved"] and row["images_trained"] == 18
    assert rows[str(refused.id)]["epsilon_reserved"] is None and "lower the target" in rows[str(refused.id)]["error"]
    assert build_period_report(other_tenant, now - timedelta(days=1), now + timedelta(days=1))[
        "private_finetuning_jobs"] == []


def test_the_pdf_report_has_a_private_fine_tuning_table(actor, dataset_zip) -> None:
    import pypdfium2

    from webapp.reporting.pdf import render_pdf

    dataset = upload_dataset(actor, dataset_zip, epsilon_total=2.5)
    job = jobs.submit_job(actor, dataset, target_epsilon=2.0, epochs=2, batch_size=6)
    jobs.run_job(str(job.id))  # trained and audited here, so the report has the audit's member definition
    now = timezone.now()
    report = build_period_report(actor.tenant, now - timedelta(days=1), now + timedelta(days=1))
    pdf = pypdfium2.PdfDocument(render_pdf(report, []))
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Private fine-tuning (DP-SGD)" in text and dataset.name in text and "of 2.5000" in text
    assert "per image max" in " ".join(text.split())
    assert "Attack members for the job of" in " ".join(text.split())  # the lineage definition, with its counts


def test_a_re_upload_s_job_reports_what_its_images_spent_through_the_first_upload(actor, dataset_zip) -> None:
    first = upload_dataset(actor, dataset_zip, epsilon_total=10.0, name="faces")
    jobs.submit_job(actor, first, target_epsilon=2.0, epochs=2, batch_size=6)
    again = upload_dataset(actor, dataset_zip, epsilon_total=10.0, name="faces again")
    second = jobs.submit_job(actor, again, target_epsilon=1.0, epochs=2, batch_size=6)
    now = timezone.now()
    report = build_period_report(actor.tenant, now - timedelta(days=1), now + timedelta(days=1))
    row = {r["job_id"]: r for r in report["private_finetuning_jobs"]}[str(second.id)]
    # The job alone spent under 1; its images, trained on twice, have spent more than either job alone.
    assert float(row["epsilon_reserved"]) <= 1.0
    assert float(row["epsilon_per_image_max"]) > 2.0
    assert float(row["dataset_ledger"]["epsilon_spent"]) == float(row["epsilon_reserved"])
