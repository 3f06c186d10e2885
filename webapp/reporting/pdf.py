"""The human-readable period report: tables, and the pictures reviewers saw
(heatmaps, face boxes, video timelines) for the items that were flagged."""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

MAX_ITEM_ROWS = 500


def _table(rows: list[list[Any]], widths: Sequence[float] | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#14213d")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ced8")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f9")]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _metric(info: dict[str, Any], key: str) -> str:
    """One cell of the model table. Detectors report different metrics (the text detectors have no test FPR,
    watermark detectors no test split at all), so a missing or empty value is a dash, never an error."""
    value = info.get(key)
    return "—" if value is None or value == "" else str(value)


def render_pdf(report: dict[str, Any], pictures: Sequence[tuple[str, bytes]]) -> bytes:
    """``pictures``: (caption, PNG bytes) to include as evidence."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story: list[Any] = [
        Paragraph(f"Media forensics period report — {report['tenant']}", styles["Title"]),
        Paragraph(f"Period {report['period']['start']} to {report['period']['end']} · generated "
                  f"{report['generated_at']} by {report['generated_by']}", small),
        Paragraph(f"Audit chain head covered: event #{report['audit_chain_head']['seq']} "
                  f"{report['audit_chain_head']['entry_hash']}", small),
        Spacer(1, 4 * mm),
        Paragraph("Summary", styles["Heading2"]),
    ]
    counts = report["counts"]
    summary = [["measure", "value"], ["analyses", counts["analyses"]], ["reviewed by a person", counts["reviewed"]],
               ["machine-readable mark found (AI Act Art. 50)", counts["machine_readable_mark_found"]],
               ["median turnaround (s)", report["turnaround_seconds"]["median"] or "—"]]
    summary += [[f"verdict: {k}", v] for k, v in sorted(counts["by_verdict"].items())]
    summary += [[f"media type: {k}", v] for k, v in sorted(counts["by_media_type"].items())]
    story += [_table(summary, [110 * mm, 40 * mm]), Spacer(1, 4 * mm)]
    if report["model_versions"]:
        story.append(Paragraph("Model versions used", styles["Heading2"]))
        rows = [["detector", "weights sha256", "shipped threshold", "target FPR", "test AUC", "test TPR / FPR at threshold"]]
        rows += [[name, _metric(info, "weights_sha256")[:16], _metric(info, "threshold"), _metric(info, "target_fpr"),
                  _metric(info, "test_auc"),
                  f"{_metric(info, 'test_tpr_at_threshold')} / {_metric(info, 'test_fpr_at_threshold')}"]
                 for name, info in sorted(report["model_versions"].items())]
        story += [_table(rows), Spacer(1, 4 * mm)]
    calibrations = report.get("calibrations") or []
    story.append(Paragraph("Operating points", styles["Heading2"]))
    if calibrations:
        rows = [["calibration", "fitted on", "target FPR", "expected FPR (95% interval)", "thresholds"]]
        for c in calibrations:
            lo, hi = c.get("fpr_interval") or [None, None]
            expected = c.get("expected_fpr")
            rows.append([f"v{c['version']} {c['id'][:8]}", f"{c['real_items']} real, {c['synthetic_items']} synthetic",
                         f"{100 * c['target_fpr']:g}%",
                         "—" if expected is None else f"{100 * expected:.1f}% ({100 * (lo or 0):.1f}–{100 * (hi or 0):.1f}%)",
                         Paragraph(", ".join(f"{k} {v:.4f}" for k, v in sorted(c["thresholds"].items())), small)])
        story.append(_table(rows, [26 * mm, 34 * mm, 18 * mm, 40 * mm, 62 * mm]))
    unnamed = sum(1 for item in report["items"] if item.get("operating_point", "").startswith("shipped"))
    story.append(Paragraph(f"{unnamed} item(s) were judged at the shipped thresholds of the model cards; "
                           f"{len(report['items']) - unnamed} at a calibration of this tenant (column 'op').", small))
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph("Items", styles["Heading2"]))
    rows = [["submitted", "sha256", "type", "verdict", "score", "op", "C2PA", "mark", "review"]]
    for item in report["items"][:MAX_ITEM_ROWS]:
        review = f"{item['review_decision']} by {item['reviewer']}: {item['review_reason']}" if item["review_decision"] else ""
        op = item.get("operating_point", "")
        op = op.split(" (")[0].replace("tenant calibration ", "") if not op.startswith("shipped") else "shipped"
        rows.append([item["submitted_at"][:19], item["sha256"][:12], item["media_type"], item["verdict"] or item["state"],
                     item["score"] or "—", op, item["c2pa_state"] or "—", item["machine_readable_mark"] or "",
                     Paragraph(review, small)])
    story.append(_table(rows, [28 * mm, 20 * mm, 12 * mm, 24 * mm, 12 * mm, 12 * mm, 14 * mm, 18 * mm, 40 * mm]))
    if len(report["items"]) > MAX_ITEM_ROWS:
        story.append(Paragraph(f"… {len(report['items']) - MAX_ITEM_ROWS} more items in the JSON/CSV export.", small))
    jobs = report.get("private_finetuning_jobs") or []
    if jobs:
        story += [Spacer(1, 4 * mm), Paragraph("Private fine-tuning (DP-SGD)", styles["Heading2"]),
                  Paragraph("Membership-inference attack AUC near 0.5 means the attack could not tell training "
                            "images from others; it is a lower bound on leakage, the guarantee is (ε, δ).", small)]
        rows = [["submitted", "dataset", "state", "ε spent / target", "δ", "dataset ledger ε", "attack AUC DP / non-DP"]]
        for job in jobs:
            ledger = job["dataset_ledger"]
            rows.append([job["submitted_at"][:19], Paragraph(job["dataset_name"], small), job["state"],
                         Paragraph(f"{job['epsilon_spent'] or '—'} / {job['target_epsilon'] or '—'}"
                                   + (f" (per image max {job['epsilon_per_image_max']})"
                                      if job.get("epsilon_per_image_max") else ""), small), job["delta"],
                         f"{ledger['epsilon_spent']} of {ledger['epsilon_total']}",
                         f"{job['mia_auc']['private'] or '—'} / {job['mia_auc']['nonprivate'] or '—'}"])
        story.append(_table(rows, [28 * mm, 30 * mm, 14 * mm, 26 * mm, 12 * mm, 30 * mm, 34 * mm]))
        audited = [job for job in jobs if job.get("mia_members")]
        for job in audited:  # which images the attack counted as members: the model's lineage, not only its job
            m = job["mia_members"]
            story.append(Paragraph(
                f"Attack members for the job of {job['submitted_at'][:19]}: {m.get('members')} images "
                f"({m.get('members_this_job')} from this job, {m.get('members_earlier_jobs_only')} only from earlier "
                f"jobs of the same detector); {m.get('non_members')} held-out non-members "
                f"({m.get('holdout_dropped_trained_by_lineage')} held-out images dropped because a lineage job "
                f"trained on them). {m.get('what') or ''}", small))
    if pictures:
        story += [Spacer(1, 4 * mm), Paragraph("Evidence for flagged items", styles["Heading2"]),
                  Paragraph("Heatmaps show where a network looked, not what is fake.", small)]
        for caption, png in pictures:
            story.append(KeepTogether([Image(io.BytesIO(png), width=60 * mm, height=60 * mm, kind="proportional"),
                                       Paragraph(caption, small), Spacer(1, 3 * mm)]))
    story += [Spacer(1, 4 * mm), Paragraph("Limits of the evidence", styles["Heading2"])]
    story += [Paragraph(f"• {line}", small) for line in report["evidence_limits"]]
    story.append(Paragraph("This PDF is signed with the service's Ed25519 key (detached signature); verify it with "
                           "manage.py verify_report and the key at /.well-known/forensics-report-key.pem.", small))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title=f"Period report {report['tenant']}").build(story)
    return buf.getvalue()
