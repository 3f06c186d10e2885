"""text-lm-features with the shipped weights and the scoring LM that set-up converts: scope (empty, short,
non-English texts are not judged, with the reason), batching that never changes a score, one forward pass per
text shared through the worker's cache, evidence spans per the contract, and held-out chat-model texts."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.base import FindingLabel, MediaInput, MediaType
from detectors.evaluation.metrics import auc_score
from detectors.registry import create_detector
from detectors.text.data import HUMAN, MACHINE, SHARED_CHAT_DIR, load_chat_corpus, split_corpus

ENGLISH = (
    "The committee met on Tuesday to review the budget for the coming year. After a long discussion about the "
    "costs of repairing the old bridge, several members argued that the town should apply for a regional grant "
    "instead of raising local taxes. The chair asked the treasurer to prepare two versions of the plan, one with "
    "the grant and one without it, so that residents could compare them at the public meeting next month. "
    "Nobody expected the vote to be close, but the mood in the room suggested otherwise."
)
GERMAN = (
    "Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu prüfen. Nach einer langen "
    "Diskussion über die Kosten der Reparatur der alten Brücke argumentierten mehrere Mitglieder, dass die Stadt "
    "einen regionalen Zuschuss beantragen sollte, anstatt die örtlichen Steuern zu erhöhen. Der Vorsitzende bat "
    "den Kassenwart, zwei Fassungen des Plans vorzubereiten."
)


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    return create_detector("text-lm-features")


def text(value: str) -> MediaInput:
    return MediaInput(MediaType.TEXT, text=value)


def test_scope_is_stated_not_guessed(detector) -> None:  # type: ignore[no-untyped-def]
    empty, short, german = detector.predict([text("   "), text("Far too short to judge."), text(GERMAN)])
    assert empty.label is FindingLabel.NOT_APPLICABLE and "no text" in empty.reason
    assert short.label is FindingLabel.NOT_APPLICABLE and f"at least {detector.min_tokens}" in short.reason
    assert german.label is FindingLabel.NOT_APPLICABLE and "(de," in german.reason
    assert german.evidence["language"] == "de"


def test_a_text_unlike_anything_it_was_trained_on_is_not_judged(detector) -> None:  # type: ignore[no-untyped-def]
    shouting = detector.predict([text(ENGLISH.upper())])[0]
    assert shouting.label is FindingLabel.NOT_APPLICABLE and "unlike the texts" in shouting.reason
    assert abs(shouting.evidence["z"]) > 8


def test_a_judged_text_has_a_calibrated_score_drivers_and_spans_on_the_original_text(detector) -> None:  # type: ignore[no-untyped-def]
    original = ENGLISH.replace(". ", ".\n\n  ").replace("bridge", "“bridge”")
    finding = detector.predict([text(original)])[0]
    assert finding.label in (FindingLabel.SYNTHETIC, FindingLabel.AUTHENTIC)
    assert 0.0 <= finding.score <= 1.0 and finding.threshold == detector.model.calibration.threshold
    assert finding.evidence["drivers"] and finding.evidence["tokens"] >= detector.min_tokens
    spans = finding.evidence["spans"]
    assert spans and {s["label"] for s in spans} <= {"machine", "human"}
    ends = [0] + [s["end"] for s in spans]
    assert all(s["start"] >= e for s, e in zip(spans, ends))  # sorted, non-overlapping
    assert all(original[s["start"]:s["end"]].strip() for s in spans)  # offsets point at the user's text
    assert any(original[s["start"]:s["end"]].strip("“” ") == "bridge" for s in spans)


def test_batching_and_the_shared_cache_never_change_a_score(detector) -> None:  # type: ignore[no-untyped-def]
    texts = [ENGLISH, ENGLISH[: len(ENGLISH) * 3 // 4] + " The rest was never written down.", ENGLISH.lower()]
    alone = [detector.score_texts([t])[0] for t in texts]
    detector.lm._results.clear()
    together = detector.score_texts(texts)
    # The scoring LM runs in bfloat16 on the CPU, where a padded batch takes other matmul kernels than a single
    # text: the last bits differ, and by how much depends on the CPU (2026-12-06: up to 0.0065 in the final
    # probability on this machine, under 0.002 on the previous one). Batching must not move a score beyond
    # that rounding, nor ever flip a verdict that is not on the threshold's edge.
    assert np.allclose(alone, together, atol=1e-2)
    threshold = detector.model.calibration.threshold
    assert [a >= threshold for a, t in zip(alone, together) if abs(a - threshold) > 1e-2] == \
        [t >= threshold for a, t in zip(alone, together) if abs(a - threshold) > 1e-2]
    cached = detector.lm.statistics([texts[0]], max_tokens=detector.max_tokens)[0]
    assert detector.lm.statistics([texts[0]], max_tokens=detector.max_tokens)[0] is cached


def test_model_info_names_both_models_for_the_audit_trail(detector) -> None:  # type: ignore[no-untyped-def]
    info = detector.model_info()
    assert len(info["weights_sha256"]) == 64 and len(info["scoring_lm_sha256"]) == 64
    assert info["threshold"] == detector.model.calibration.threshold and info["test_auc"] > 0.85


@pytest.mark.skipif(not SHARED_CHAT_DIR.is_dir(), reason=f"the chat-model corpus is absent ({SHARED_CHAT_DIR})")
def test_held_out_chat_model_texts_rank_above_human_texts(detector) -> None:  # type: ignore[no-untyped-def]
    """The failure this detector replaces: the earlier ones rated Llama-2-chat text as more human than human."""
    test = split_corpus(load_chat_corpus(), "test")
    humans = [t.text for t in test if t.label == HUMAN][:30]
    machines = [t.text for t in test if t.label == MACHINE][:30]
    scores = detector.score_texts(humans + machines)
    judged = [(label, s) for label, s in zip([0] * len(humans) + [1] * len(machines), scores) if s is not None]
    labels, values = np.array([j[0] for j in judged]), np.array([j[1] for j in judged])
    assert auc_score(labels, values) >= 0.85
