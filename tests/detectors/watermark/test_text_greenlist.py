"""Green-list text watermark: real statistics on known token sequences."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from detectors.base import FindingLabel, MediaInput, MediaType
from detectors.registry import create_detector, register_detector  # noqa: F401
from detectors.watermark.text_greenlist import (
    FLAG_CONTEXT,
    FLAG_REPEAT,
    GreenlistDetector,
    GreenlistLogitsProcessor,
    GreenlistParams,
    GreenlistPRF,
    TextGreenlistWatermarkDetector,
    green_list,
    z_score,
)

VOCAB = 5000
PARAMS = GreenlistParams(key=b"tenant-secret", gamma=0.25, delta=2.0)


def watermarked_sequence(params: GreenlistParams, length: int, seed: int = 0, green_prob: float = 0.9) -> list[int]:
    """Tokens drawn from the green list with probability ``green_prob`` (a strongly biased sampler)."""
    rng = np.random.default_rng(seed)
    prf = GreenlistPRF(params)
    seq = [int(t) for t in rng.integers(0, VOCAB, params.context_width)]
    while len(seq) < length:
        mask = prf.green_mask_for_seed(prf.context_seed(seq), VOCAB)
        pool = np.flatnonzero(mask if rng.random() < green_prob else ~mask)
        seq.append(int(rng.choice(pool)))
    return seq


def test_green_list_has_gamma_fraction_and_depends_on_context_and_key() -> None:
    g1 = green_list([17], VOCAB, PARAMS)
    assert abs(len(g1) / VOCAB - 0.25) < 0.03
    assert not np.array_equal(g1, green_list([18], VOCAB, PARAMS))
    assert not np.array_equal(g1, green_list([17], VOCAB, GreenlistParams(key=b"other")))
    assert np.array_equal(g1, green_list([99, 17], VOCAB, PARAMS))  # h=1: only the previous token counts


@pytest.mark.parametrize("context_width,seeding", [(1, "hash"), (3, "hash"), (3, "min")])
def test_watermarked_sequence_gives_large_z(context_width: int, seeding: str) -> None:
    params = GreenlistParams(key="k", gamma=0.25, context_width=context_width, seeding=seeding)
    result = GreenlistDetector(params).score(watermarked_sequence(params, 200))
    assert result.applicable and result.detected
    assert result.z > 10
    assert result.green_fraction > 0.8
    assert result.p_value < 1e-20


def test_unwatermarked_and_wrong_key_are_not_detected() -> None:
    det = GreenlistDetector(PARAMS)
    zs = [det.score(np.random.default_rng(s).integers(0, VOCAB, 200).tolist()).z for s in range(30)]
    assert max(abs(z) for z in zs) < 4
    assert abs(float(np.mean(zs))) < 0.8  # mean of 30 N(0,1) draws
    marked = watermarked_sequence(PARAMS, 200)
    wrong = GreenlistDetector(GreenlistParams(key=b"another-tenant")).score(marked)
    assert abs(wrong.z) < 4 and not wrong.detected


def test_z_score_formula() -> None:
    assert z_score(50, 100, 0.25) == pytest.approx((50 - 25) / math.sqrt(100 * 0.25 * 0.75))


def test_repeated_ngrams_are_ignored() -> None:
    params = PARAMS
    prf = GreenlistPRF(params)
    # A bigram that happens to be green, repeated 100 times: counted once.
    a = 5
    b = int(green_list([a], VOCAB, params)[0])
    assert prf.is_green([a], b)
    seq = [a, b] * 100
    det = GreenlistDetector(params, min_tokens=1)
    result = det.score(seq)
    assert result.num_scored == 2  # (a, b) and (b, a) once each
    assert result.flags[0] == FLAG_CONTEXT
    assert result.flags.count(FLAG_REPEAT) == len(seq) - 1 - 2
    assert not result.detected
    naive = GreenlistDetector(params, min_tokens=1, ignore_repeated_ngrams=False).score(seq)
    assert naive.num_scored == len(seq) - 1 and naive.z > 4  # what the rule protects against


def test_token_flags_align_with_tokens() -> None:
    seq = watermarked_sequence(PARAMS, 60)
    result = GreenlistDetector(PARAMS).score(seq)
    assert len(result.flags) == len(seq)
    assert result.flags.count("green") == result.num_green


def test_too_short_is_not_applicable() -> None:
    result = GreenlistDetector(PARAMS, min_tokens=25).score(watermarked_sequence(PARAMS, 10))
    assert not result.applicable and result.z is None and "need 25" in result.reason


def test_window_finds_watermark_pasted_into_human_text() -> None:
    rng = np.random.default_rng(3)
    human = rng.integers(0, VOCAB, 600).tolist()
    marked = watermarked_sequence(PARAMS, 60, seed=4, green_prob=1.0)
    seq = human[:300] + marked + human[300:]
    result = GreenlistDetector(PARAMS, window=50).score(seq)
    assert result.window_max_z > 8
    assert result.p_value_window < result.p_value_global
    start, end = result.window_span
    assert 290 <= start and end <= 370
    assert result.detected


def test_logits_processor_adds_delta_exactly_to_green_ids() -> None:
    proc = GreenlistLogitsProcessor(PARAMS)
    input_ids = torch.tensor([[3, 1, 4], [1, 5, 9]])
    scores = torch.randn(2, VOCAB)
    out = proc(input_ids, scores.clone())
    for row in range(2):
        green = torch.from_numpy(green_list(input_ids[row].tolist(), VOCAB, PARAMS))
        diff = out[row] - scores[row]
        assert torch.allclose(diff[green], torch.full((len(green),), 2.0))
        red = torch.ones(VOCAB, dtype=torch.bool)
        red[green] = False
        assert torch.all(diff[red] == 0)


def test_hf_generate_with_processor_is_detected() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, LogitsProcessorList

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_positions=256, n_embd=32, n_layer=1, n_head=2)).eval()
    params = GreenlistParams(key=b"gen-key", gamma=0.25, delta=4.0)
    out = model.generate(
        torch.tensor([[1, 2, 3]]), do_sample=True, max_new_tokens=120, min_new_tokens=120, top_k=0,
        logits_processor=LogitsProcessorList([GreenlistLogitsProcessor(params)]), pad_token_id=0,
    )
    result = GreenlistDetector(params).score(out[0].tolist())
    assert result.detected and result.z > 8
    plain = model.generate(torch.tensor([[1, 2, 3]]), do_sample=True, max_new_tokens=120, min_new_tokens=120,
                           top_k=0, pad_token_id=0)
    assert abs(GreenlistDetector(params).score(plain[0].tolist()).z) < 4


class _WordTokenizer:
    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, text: str) -> list[int]:
        return [self.vocab.setdefault(w, len(self.vocab)) for w in text.split()]


def test_detector_findings() -> None:
    det = TextGreenlistWatermarkDetector(key=b"tenant-secret")
    marked = watermarked_sequence(PARAMS, 150)
    findings = det.predict([
        MediaInput(MediaType.TEXT, metadata={"token_ids": marked}),
        MediaInput(MediaType.TEXT, metadata={"token_ids": np.random.default_rng(1).integers(0, VOCAB, 150).tolist()}),
        MediaInput(MediaType.TEXT, metadata={"token_ids": marked[:10]}),
        MediaInput(MediaType.TEXT, text="a short human sentence with few words"),
    ])
    hit, clean, short, text = findings
    assert hit.label is FindingLabel.SYNTHETIC and hit.score == 1.0 and hit.threshold == 0.5
    assert hit.evidence["z"] > 10 and hit.evidence["green_fraction"] > 0.8
    assert len(hit.evidence["token_flags"]) == 150
    assert "key" not in str(hit.evidence["watermark"]).lower().replace("key_id", "")
    assert clean.label is FindingLabel.AUTHENTIC and clean.score < 0.5
    assert short.label is FindingLabel.NOT_APPLICABLE and short.score is None and "too short" in short.reason
    assert text.label is FindingLabel.NOT_APPLICABLE


def test_detector_without_key_is_not_applicable_and_registered() -> None:
    det = create_detector("text-greenlist-watermark")
    (finding,) = det.predict([MediaInput(MediaType.TEXT, text="hello " * 100)])
    assert finding.label is FindingLabel.NOT_APPLICABLE and "no text watermark key" in finding.reason
    assert MediaType.TEXT in det.media_types


def test_tokenizer_helper_with_custom_tokenizer() -> None:
    from detectors.watermark.text_greenlist import score_text

    tok = _WordTokenizer()
    text = " ".join(f"w{i}" for i in range(100))
    result = score_text(text, tok, PARAMS)
    assert result.applicable and abs(result.z) < 4


def test_evaluation_helpers_on_a_tiny_corpus() -> None:
    from detectors.watermark.evaluate import BigramLM, attack

    rng = np.random.default_rng(0)
    corpus = [rng.integers(1, 300, 80).tolist() for _ in range(20)]
    lm = BigramLM(corpus, 300)
    gen = torch.Generator().manual_seed(0)
    params = GreenlistParams(key=b"eval", gamma=0.25, delta=2.0)
    marked = lm.sample([5], 150, gen, GreenlistLogitsProcessor(params))
    plain = lm.sample([5], 150, gen)
    det = GreenlistDetector(params)
    assert det.score(marked).z > 5
    assert abs(det.score(plain).z) < 4
    edited = attack(marked, "sub", 0.2, np.random.default_rng(1), 300)
    assert len(edited) == len(marked) and det.score(edited).z < det.score(marked).z
    assert len(attack(marked, "del", 0.2, np.random.default_rng(1), 300)) < len(marked)
    assert len(attack(marked, "ins", 0.2, np.random.default_rng(1), 300)) > len(marked)
