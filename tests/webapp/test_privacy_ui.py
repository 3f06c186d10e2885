"""The console's private fine-tuning pages and the ``private_finetune`` command."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from privacy import jobs
from privacy.models import PrivateDataset, PrivateFinetuneJob
from tests.conftest import make_user
from tests.support.privacy_fixtures import dataset_zip  # noqa: F401 - fixture


def test_upload_budget_submit_and_result_card_in_the_console(client, tenant, dataset_zip) -> None:
    client.force_login(make_user(tenant, "boss", "admin"))
    page = client.get("/privacy/")
    assert page.status_code == 200 and b"Upload a labelled dataset" in page.content and b"Total" in page.content
    response = client.post("/privacy/", {"name": "faces", "epsilon_total": "3.5", "delta": "0.00001",
                                         "file": SimpleUploadedFile("faces.zip", dataset_zip.read_bytes())})
    dataset = PrivateDataset.objects.get(tenant=tenant)
    assert response.status_code == 302 and response["Location"] == f"/privacy/datasets/{dataset.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "ε left 3.500" in page and "Nothing reserved yet." in page

    response = client.post(f"/privacy/datasets/{dataset.pk}/jobs", {"target_epsilon": "3", "epochs": "1",
                                                                     "batch_size": "6", "learning_rate": "0.01"})
    job = PrivateFinetuneJob.objects.get(tenant=tenant)
    assert response.status_code == 302 and response["Location"] == f"/privacy/jobs/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and "reserved (noise σ" in page and 'data-refresh="2"' in page
    jobs.run_job(str(job.id))  # what the worker does
    page = client.get(f"/privacy/jobs/{job.pk}/").content.decode()
    assert "Membership-inference AUC" in page and "Private (served)" in page and 'data-refresh' not in page
    ledger_page = client.get(f"/privacy/datasets/{dataset.pk}/").content.decode()
    assert "reserve" in ledger_page and "ε left 0.5" in ledger_page

    response = client.post(f"/privacy/datasets/{dataset.pk}/jobs", {"target_epsilon": "3", "epochs": "1",
                                                                     "batch_size": "6"}, follow=True)
    assert "Refused: this job needs ε=" in response.content.decode()


def test_a_moderator_cannot_set_a_budget(client, tenant, dataset_zip) -> None:
    client.force_login(make_user(tenant, "mod", "moderator"))
    assert b"Total" not in client.get("/privacy/").content
    client.post("/privacy/", {"name": "faces", "file": SimpleUploadedFile("faces.zip", dataset_zip.read_bytes())})
    dataset = PrivateDataset.objects.get(tenant=tenant)
    assert dataset.epsilon_total == 0.0
    assert client.post(f"/privacy/datasets/{dataset.pk}/budget", {"epsilon_total": "9"}).status_code == 403


def test_the_command_uploads_a_dataset_submits_a_job_and_is_refused_over_budget(tenant, dataset_zip, capsys) -> None:
    """Without --in-process the job is queued for the workers (training is covered by the other tests)."""
    call_command("private_finetune", "--tenant", "acme", "--zip", str(dataset_zip), "--budget", "3.5",
                 "--epsilon", "3", "--epochs", "1", "--batch-size", "6", "--lr", "0.01")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["dataset"]["counts"]["train"] == 18 and lines[1]["state"] == "queued"
    assert PrivateFinetuneJob.objects.get(pk=lines[1]["job"]).config["batch_size"] == 6
    dataset = PrivateDataset.objects.get(tenant=tenant)
    with pytest.raises(SystemExit) as refused:
        call_command("private_finetune", "--tenant", "acme", "--dataset", str(dataset.pk), "--epsilon", "3",
                     "--epochs", "1", "--batch-size", "6")
    assert refused.value.code == 2 and "ask an admin to raise the budget" in capsys.readouterr().err


def test_the_privacy_page_shows_the_per_image_budget_and_admins_set_it(client, tenant, other_tenant) -> None:
    from privacy.units import tenant_budget
    from provenance.models import AuditEvent

    client.force_login(make_user(tenant, "boss", "admin"))
    page = client.get("/privacy/").content.decode()
    assert "Per-image privacy budget" in page and "no tenant cap is set" in page
    assert 'action="/privacy/budget"' in page

    response = client.post("/privacy/budget", {"epsilon_per_image": "3.5"})
    assert response.status_code == 302 and response["Location"] == "/privacy/"
    assert tenant_budget(tenant).epsilon_total == 3.5 and tenant_budget(other_tenant).epsilon_total is None
    page = client.get("/privacy/").content.decode()
    assert "ε = 3.5" in page and "Per-image privacy budget updated" in page
    event = AuditEvent.objects.get(tenant=tenant, action="privacy.tenant_budget_set")
    assert event.actor == "user:boss" and event.payload["after"]["epsilon_total"] == 3.5

    refused = client.post("/privacy/budget", {"epsilon_per_image": "-2"})
    assert refused.status_code == 400 and "epsilon_per_image" in refused.content.decode()
    assert client.post("/privacy/budget", {}).status_code == 400 and tenant_budget(tenant).epsilon_total == 3.5
    assert client.post("/privacy/budget", {"no_cap": "1"}).status_code == 302
    assert tenant_budget(tenant).epsilon_total is None


def test_a_moderator_sees_the_per_image_budget_but_cannot_set_it(client, tenant) -> None:
    from privacy.tenant_budget import set_tenant_budget
    from privacy.units import tenant_budget
    from webapp.accounts.tenancy import system_actor

    set_tenant_budget(system_actor(tenant, "system:cli"), epsilon_total=6.0)
    client.force_login(make_user(tenant, "mod", "moderator"))
    page = client.get("/privacy/").content.decode()
    assert "ε = 6.0" in page and 'action="/privacy/budget"' not in page
    assert client.post("/privacy/budget", {"epsilon_per_image": "60"}).status_code == 403
    assert tenant_budget(tenant).epsilon_total == 6.0
