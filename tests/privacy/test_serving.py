"""A tenant's private detector version serves that tenant's analyses, and only that tenant's."""
from __future__ import annotations

import zipfile

from forensics import services
from forensics.models import DetectorResult
from privacy import jobs
from privacy.models import TenantDetectorVersion
from privacy.serving import detector_options
from tests.support.privacy_fixtures import upload_dataset
from webapp.accounts.tenancy import system_actor


def test_an_analysis_uses_its_own_tenant_s_private_version(actor, other_tenant, dataset_zip, eager_celery, settings,
                                                           clean_ledger) -> None:
    settings.FORENSICS_DISABLED_DETECTORS = ["face-synthetic", "video-faces"]  # synthetic-image runs here
    from webapp.celery import app

    app.conf.task_always_eager = False  # train in this process below, analyses eagerly afterwards
    job = jobs.submit_job(actor, upload_dataset(actor, dataset_zip), target_epsilon=3.0, epochs=1, batch_size=6,
                          learning_rate=0.01)
    jobs.run_job(str(job.id))
    job.refresh_from_db()
    app.conf.task_always_eager = True
    version = TenantDetectorVersion.objects.get(tenant=actor.tenant, detector="synthetic-image", active=True)
    assert detector_options(actor.tenant, "synthetic-image")["weights"].endswith(version.weights_path)
    assert detector_options(other_tenant, "synthetic-image") == {} == detector_options(actor.tenant, "face-synthetic")

    with zipfile.ZipFile(dataset_zip) as zf:
        image = zf.read(next(n for n in zf.namelist() if n.endswith(".jpg")))
    mine = services.submit_chunks(actor, [image], original_name="a.jpg")
    theirs = services.submit_chunks(system_actor(other_tenant, "user:b"), [image], original_name="b.jpg")
    info_mine = DetectorResult.objects.get(analysis=mine, detector="synthetic-image").model_info
    info_theirs = DetectorResult.objects.get(analysis=theirs, detector="synthetic-image").model_info
    assert info_mine["weights_sha256"] == version.sha256 and info_mine["private"] is True
    assert info_mine["epsilon"] == job.result_card["privacy"]["epsilon"]
    assert info_theirs["weights_sha256"] != version.sha256 and "private" not in info_theirs
