"""The Binoculars statistic itself, on hand-built logits and on tiny real HF models."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from detectors.text.binoculars import (
    CALIBRATION_FILE,
    BinocularsDetector,
    BinocularsPair,
    binoculars_score,
    binoculars_terms,
    calibrate_pair,
)
from tests.detectors.text.conftest import sample_texts, tiny_pair


def test_uniform_models_give_exactly_one() -> None:
    vocab = 50
    logits = torch.zeros(7, vocab)
    targets = torch.randint(0, vocab, (7,))
    surprise, expected = binoculars_terms(logits, logits, targets)
    assert torch.allclose(surprise, torch.full((7,), math.log(vocab)))
    assert torch.allclose(expected, torch.full((7,), math.log(vocab)))
    assert binoculars_score(surprise, expected) == pytest.approx(1.0)


def test_terms_match_the_definition_with_observer_weights_and_performer_log_probs() -> None:
    generator = torch.Generator().manual_seed(0)
    obs, perf = torch.randn(5, 11, generator=generator), torch.randn(5, 11, generator=generator)
    targets = torch.tensor([3, 0, 10, 7, 7])
    surprise, expected = binoculars_terms(obs, perf, targets)
    p, log_q = np.exp(obs.numpy()), perf.numpy()
    p /= p.sum(1, keepdims=True)
    log_q = log_q - np.log(np.exp(log_q).sum(1, keepdims=True))
    np.testing.assert_allclose(surprise.numpy(), [-log_q[i, t] for i, t in enumerate(targets.tolist())], rtol=1e-5)
    np.testing.assert_allclose(expected.numpy(), -(p * log_q).sum(1), rtol=1e-5)
    assert binoculars_score(surprise, expected) == pytest.approx(surprise.mean().item() / expected.mean().item())


def test_identical_models_reduce_to_perplexity_over_entropy() -> None:
    """With observer = performer the denominator is the model's own entropy; picking the
    most likely token every time (greedy, 'machine-like') gives B < 1."""
    generator = torch.Generator().manual_seed(1)
    logits = 3 * torch.randn(40, 30, generator=generator)
    greedy = logits.argmax(-1)
    surprise, expected = binoculars_terms(logits, logits, greedy)
    entropy = -(torch.softmax(logits, -1) * torch.log_softmax(logits, -1)).sum(-1)
    assert torch.allclose(expected, entropy, atol=1e-5)
    assert binoculars_score(surprise, expected) < 1.0


def test_padding_in_a_batch_does_not_change_a_text(tiny_models) -> None:  # type: ignore[no-untyped-def]
    observer, performer = tiny_models
    texts = sample_texts(3, words=40, seed=1)
    pair = BinocularsPair(observer, performer, batch_size=1)
    alone = [pair.score([t])[0] for t in texts]
    batched = BinocularsPair(observer, performer, batch_size=8).score(texts + ["short one"])
    for text, a, b in zip(texts, alone, batched):
        assert a.binoculars == pytest.approx(b.binoculars, rel=1e-4)
        assert a.tokens == a.tokens_total == len(pair.encode(text)[0])  # the start token lets every token be scored


def test_mismatched_tokenizers_are_refused(tmp_path: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    observer, _ = tiny_models
    _, other_performer = tiny_pair(tmp_path, tokenizer_texts=sample_texts(50, seed=9) + ["zebra xylophone"] * 30,
                                   vocab_size=280)
    with pytest.raises(ValueError, match="different tokenizers"):
        BinocularsPair(observer, other_performer)


def test_missing_calibration_says_which_command_to_run(tiny_models) -> None:  # type: ignore[no-untyped-def]
    observer, performer = tiny_models
    (performer / CALIBRATION_FILE).unlink(missing_ok=True)
    with pytest.raises(FileNotFoundError, match="calibrate-binoculars --observer"):
        BinocularsDetector(observer=observer, performer=performer)


def test_calibrate_from_jsonl_then_detect(tmp_path: Path) -> None:
    observer, performer = tiny_pair(tmp_path / "pair")
    human, machine = tmp_path / "human.jsonl", tmp_path / "machine.jsonl"
    human.write_text("".join(json.dumps({"text": t}) + "\n" for t in sample_texts(25, words=80, seed=2)))
    machine.write_text("".join(json.dumps(t) + "\n" for t in sample_texts(25, words=80, seed=3)))
    result = calibrate_pair(observer, performer, human=human, machine=machine)
    assert (performer / CALIBRATION_FILE).exists()
    assert result["calibrated_on"]["n_human"] == 25 and 0.0 <= result["calibration"]["threshold"] <= 1.0
    detector = BinocularsDetector(observer=observer, performer=performer)
    probabilities = detector.score_texts(sample_texts(2, words=80, seed=4) + ["too short"])
    assert all(0.0 <= p <= 1.0 for p in probabilities[:2]) and probabilities[2] is None
    info = detector.model_info()
    assert info["observer_sha256"] != info["performer_sha256"] and len(info["performer_sha256"]) == 64


def test_calibration_of_other_weights_is_refused(tmp_path: Path, tiny_models) -> None:  # type: ignore[no-untyped-def]
    observer, performer = tiny_models
    (performer / CALIBRATION_FILE).write_text(json.dumps({
        "observer_sha256": "0" * 64, "performer_sha256": "0" * 64,
        "calibration": {"a": 1.0, "b": 0.0, "threshold": 0.5, "target_fpr": 0.01}}))
    with pytest.raises(ValueError, match="different observer"):
        BinocularsDetector(observer=observer, performer=performer)
    (performer / CALIBRATION_FILE).unlink()
