"""A text gets a verdict from the shipped LLM-text detectors through the API, with the
word spans that drove it; a short text is inconclusive with the minimum stated; a text in
another language is inconclusive with the language named."""
import json

import pytest

from detectors.text.data import SHARED_TEXT_DIR

TEXT_MODELS = ("text-supervised", "text-binoculars", "text-lm-features")
pytestmark = pytest.mark.skipif(not SHARED_TEXT_DIR.is_dir(), reason="../shared/datasets/human-vs-llm-text is absent")


@pytest.fixture
def text_models(settings):  # type: ignore[no-untyped-def]
    settings.FORENSICS_DISABLED_DETECTORS = [
        name for name in settings.FORENSICS_DISABLED_DETECTORS if name not in TEXT_MODELS
    ]


def analyse(api, text: str) -> dict:  # type: ignore[no-untyped-def]
    return api.get(api.post("/api/v1/analyses", {"text": text}, format="json")["Location"]).json()


def test_a_machine_text_gets_a_scored_verdict_with_highlighted_words(api, text_models, eager_celery) -> None:
    machine = json.loads((SHARED_TEXT_DIR / "writing_gpt2-xl.json").read_text())["sampled"][7]
    body = analyse(api, machine)
    findings = {d["detector"]: d for d in body["detectors"]}
    for name in TEXT_MODELS:
        finding = findings[name]
        assert finding["label"] in {"synthetic", "authentic"} and 0 <= finding["score"] <= 1, finding["reason"]
        assert finding["version"] and finding["threshold"] is not None
        spans = finding["evidence"]["spans"]
        assert spans and {s["label"] for s in spans} <= {"machine", "human"}
        assert all(machine[s["start"]:s["end"]].strip() for s in spans)  # offsets point at real text
    assert body["verdict"] in {"likely_synthetic", "likely_authentic", "inconclusive"}


def test_a_short_text_is_inconclusive_and_says_how_long_it_must_be(api, text_models, eager_celery) -> None:
    body = analyse(api, "A short note, far too short to judge.")
    for finding in (d for d in body["detectors"] if d["detector"] in TEXT_MODELS):
        assert finding["label"] == "not_applicable" and "at least" in finding["reason"]
    assert body["verdict"] == "inconclusive"


def test_the_verdict_names_the_deciding_detector_and_a_foreign_text_is_out_of_scope(api, text_models,
                                                                                    eager_celery) -> None:
    machine = json.loads((SHARED_TEXT_DIR / "squad_gpt-j-6B.json").read_text())["sampled"][3]
    body = analyse(api, machine)
    scored = [d for d in body["detectors"] if d["score"] is not None]
    decider = max(scored, key=lambda d: (d["score"] >= d["threshold"], d["score"]))
    assert decider["detector"] in body["verdict_reason"]
    german = ("Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu prüfen. Nach einer "
              "langen Diskussion über die Kosten der Reparatur der alten Brücke argumentierten mehrere Mitglieder, "
              "dass die Stadt einen regionalen Zuschuss beantragen sollte, anstatt die Steuern zu erhöhen. ") * 2
    finding = next(d for d in analyse(api, german)["detectors"] if d["detector"] == "text-lm-features")
    assert finding["label"] == "not_applicable" and "(de," in finding["reason"]
