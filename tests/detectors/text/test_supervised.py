"""text-supervised: deterministic features, a model that learns a planted signal, calibration,
the minimum length, evidence spans per the contract, and the shipped weights on held-out texts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detectors.base import FindingLabel, MediaInput, MediaType
from detectors.calibration import fit_platt
from detectors.evaluation.metrics import auc_score
from detectors.text.data import HUMAN, MACHINE, SHARED_TEXT_DIR, load_shared_corpus, split_corpus
from detectors.text.features import count_words, extract, tokenize
from detectors.text.spans import MAX_SPANS
from detectors.text.supervised import SupervisedTextDetector, logits_of, word_contributions
from detectors.text.supervised_training import TrainConfig, train_model

VOCABULARY = ["the", "cat", "sat", "on", "a", "mat", "while", "river", "stone", "market", "window", "garden", "letter", "quiet", "green", "old", "road", "morning", "paper", "light", "table", "voice", "city", "winter", "song", "bread", "friend", "door", "hill"]


def synthetic_texts(n: int, marker: str | None, seed: int, words: int = 60) -> list[str]:
    """Random sentences; machine ones use ``marker`` often, the planted signal."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        tokens = list(rng.choice(VOCABULARY, words))
        if marker:
            for position in rng.choice(words, 6, replace=False):
                tokens[position] = marker
        out.append(" ".join(tokens).capitalize() + ".")
    return out


@pytest.fixture(scope="module")
def detector() -> SupervisedTextDetector:
    return SupervisedTextDetector()


def test_features_are_deterministic_and_point_into_the_text() -> None:
    text = "Don’t stop — the café’s menu, “naïve” as it is, lists 3 dishes!\nNew line here."
    first, second = extract(text), extract(text)
    assert np.array_equal(first.index, second.index) and np.array_equal(first.value, second.value)
    assert first.words == second.words and len(first.index) == len(first.first_word) == len(first.n_words)
    for word in tokenize(text):
        assert text[word.start:word.end].strip() and not text[word.start:word.end].isspace()
    assert count_words("a , b . c") == 3
    # Typography is folded: the curly and straight apostrophes give the same features.
    assert np.array_equal(extract("don’t go").index, extract("don't go").index)


def test_training_learns_a_planted_signal() -> None:
    human, machine = synthetic_texts(40, None, 1), synthetic_texts(40, "delve", 2)
    model = train_model([extract(t) for t in human + machine], np.array([HUMAN] * 40 + [MACHINE] * 40),
                        TrainConfig(epochs=8, batch_size=20, lr=0.05))
    held_human, held_machine = synthetic_texts(20, None, 3), synthetic_texts(20, "delve", 4)
    logits = logits_of(model, [extract(t) for t in held_human + held_machine])
    assert auc_score(np.array([0] * 20 + [1] * 20), logits) > 0.95
    features = extract(held_machine[0])
    contributions = word_contributions(model, features)
    marker = [c for w, c in zip(features.words, contributions) if w.form == "delve"]
    others = [c for w, c in zip(features.words, contributions) if w.form != "delve"]
    assert min(marker) > max(others)
    # The per-word contributions add up to the n-gram part of the logit.
    with torch.no_grad():
        style_part = model.style((torch.from_numpy(features.style) - model.style_mean) / model.style_std).item()
    assert contributions.sum() == pytest.approx(float(logits_of(model, [features])[0]) - style_part, abs=1e-3)


def test_platt_calibration_is_monotone_in_the_logit() -> None:
    rng = np.random.default_rng(0)
    logits = np.r_[rng.normal(-1, 1, 200), rng.normal(1.5, 1, 200)]
    labels = np.r_[np.zeros(200), np.ones(200)]
    calibration = fit_platt(logits, labels)
    grid = np.linspace(-5, 5, 101)
    assert calibration.a > 0 and np.all(np.diff(calibration.probability(grid)) > 0)
    assert np.mean(calibration.probability(logits[200:]) >= calibration.threshold) > 0.2


def test_too_short_is_not_applicable_with_the_minimum(detector: SupervisedTextDetector) -> None:
    short = "Only a handful of words here, far too few to judge."
    finding = detector.predict([MediaInput(MediaType.TEXT, text=short)])[0]
    minimum = detector.model.min_words
    assert finding.label is FindingLabel.NOT_APPLICABLE and finding.score is None
    assert finding.reason == f"text too short: {count_words(short)} words, at least {minimum} needed"
    assert detector.score_texts([short, ""]) == [None, None]


def test_spans_follow_the_evidence_contract(detector: SupervisedTextDetector) -> None:
    text = ("Ünïcode façade — the committee’s report, published in 1998, argued that the river “had changed”. "
            "Nobody agreed.\n") * 8
    finding = detector.predict([MediaInput(MediaType.TEXT, text=text)])[0]
    assert finding.label in (FindingLabel.SYNTHETIC, FindingLabel.AUTHENTIC) and 0 <= finding.score <= 1
    assert finding.threshold == detector.model.calibration.threshold
    spans = finding.evidence["spans"]
    assert spans and finding.evidence["spans_truncated"] is False
    assert set(finding.evidence["spans_legend"]) == {"machine", "human"}
    last_end = 0
    for span in spans:
        assert last_end <= span["start"] < span["end"] <= len(text)
        assert span["label"] in ("machine", "human") and 0.0 <= span["weight"] <= 1.0
        assert text[span["start"]:span["end"]].strip() == text[span["start"]:span["end"]]
        last_end = span["end"]
    assert max(s["weight"] for s in spans) == 1.0


def test_very_long_texts_cut_spans_at_the_limit(detector: SupervisedTextDetector) -> None:
    text = " ".join(synthetic_texts(1, None, 5, words=MAX_SPANS + 200))
    evidence = detector.predict([MediaInput(MediaType.TEXT, text=text)])[0].evidence
    assert len(evidence["spans"]) == MAX_SPANS and evidence["spans_truncated"] is True


def test_model_info_names_the_weights(detector: SupervisedTextDetector) -> None:
    info = detector.model_info()
    assert info["name"] == "text-supervised" and len(info["weights_sha256"]) == 64
    assert info["min_words"] == detector.model.min_words and 0 < info["threshold"] < 1


@pytest.mark.skipif(not SHARED_TEXT_DIR.is_dir(), reason=f"text corpus not available at {SHARED_TEXT_DIR}")
def test_shipped_model_beats_a_floor_on_held_out_texts(detector: SupervisedTextDetector) -> None:
    test = split_corpus(load_shared_corpus(), "test")
    humans, machines = [t for t in test if t.label == HUMAN], [t for t in test if t.label == MACHINE]
    sample = humans[::len(humans) // 150][:150] + machines[::len(machines) // 150][:150]  # every domain and LLM
    scores = detector.score_texts([t.text for t in sample])
    judged = [(t.label, s) for t, s in zip(sample, scores) if s is not None]
    assert len(judged) >= 290
    labels, values = zip(*judged)
    assert auc_score(np.array(labels), np.array(values)) > 0.75
