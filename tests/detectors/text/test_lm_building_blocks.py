"""The pieces of text-lm-features that need no pretrained model: normalisation with its map back to the
user's text, shared openings, n-gram models, the chunked next-token statistics, features and the classifier."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detectors.text.data import HUMAN, MACHINE, LabelledText, shared_opening, without_shared_openings
from detectors.text.lm_features import FEATURE_NAMES, TOKEN_QUANTITIES, feature_vector, token_contributions
from detectors.text.lm_model import fit_logistic
from detectors.text.lm_training import (
    Scored,
    cross_fitted_features,
    equal_corpus_weights,
    features_of,
    metrics,
    ngram_fold,
)
from detectors.text.ngram import NGramModel
from detectors.text.normalize import normalise
from detectors.text.scoring_lm import LENS_LAYERS, TokenStats, next_token_statistics


def test_normalise_folds_typography_and_whitespace_and_maps_back_to_the_original() -> None:
    original = "  He said\n\n“hello”  —  then   left.\t"
    norm = normalise(original)
    assert norm.text == 'He said "hello" - then left.'
    start = norm.text.index("hello")
    a, b = norm.original_span(start, start + len("hello"))
    assert original[a:b] == "hello"
    a, b = norm.original_span(0, len(norm.text))
    assert original[a:b].strip() == original.strip()


def test_shared_opening_is_cut_back_to_a_word_boundary() -> None:
    assert shared_opening("The cat sat on the mat", "The cat sang a song") == len("The cat ")
    assert shared_opening("abc", "xyz") == 0
    assert shared_opening("same text", "same text") == len("same text")


def test_the_shared_opening_leaves_both_texts_of_a_pair() -> None:
    texts = [LabelledText("In 1954 the writers met and argued for days.", HUMAN, "s_a.json", "g", "s"),
             LabelledText("In 1954 the writers met a king in France.", MACHINE, "s_a.json", "g", "s", "a")]
    human, machine = without_shared_openings(texts)
    assert human.text == "and argued for days." and machine.text == "a king in France."


def test_next_token_statistics_match_the_direct_formulas_in_any_chunking() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 40) * 3
    targets = torch.randint(0, 40, (2, 5))
    logp = torch.log_softmax(logits, -1)
    p = logp.exp()
    for rows in (1, 3, 64):
        stats = next_token_statistics(logits.to(torch.bfloat16).float(), targets, rows=rows)
        ref = torch.log_softmax(logits.to(torch.bfloat16).float(), -1)
        assert torch.allclose(stats["logprob"], ref.gather(-1, targets[..., None])[..., 0], atol=1e-5)
        assert torch.allclose(stats["entropy"], -(ref.exp() * ref).sum(-1), atol=1e-4)
        assert torch.allclose(stats["second"], (ref.exp() * ref.square()).sum(-1), atol=1e-3)
        expected_rank = (ref > ref.gather(-1, targets[..., None])).sum(-1) + 1
        assert torch.equal(stats["rank"].long(), expected_rank)
    assert (p.sum(-1) - 1).abs().max() < 1e-5


def test_the_logit_lens_statistics_match_the_direct_formulas_per_layer_in_any_chunking() -> None:
    torch.manual_seed(1)
    logits, hidden = torch.randn(2, 5, 40) * 3, [torch.randn(2, 5, 8), torch.randn(2, 5, 8)]
    targets = torch.randint(0, 40, (2, 5))
    head = torch.nn.Linear(8, 40)
    logp = torch.log_softmax(logits, -1)
    for rows in (1, 4, 64):
        with torch.no_grad():
            stats = next_token_statistics(logits, targets, rows=rows, lens=hidden, head=head)
            assert stats["lens_logprob"].shape == (2, 2, 5)
            for layer, state in enumerate(hidden):
                logq = torch.log_softmax(head(state), -1)
                assert torch.allclose(stats["lens_logprob"][layer], logq.gather(-1, targets[..., None])[..., 0],
                                      atol=1e-5)
                assert torch.allclose(stats["lens_entropy"][layer], -(logq.exp() * logq).sum(-1), atol=1e-4)
                assert torch.allclose(stats["lens_cross_entropy"][layer], -(logp.exp() * logq).sum(-1), atol=1e-4)
        assert torch.allclose(stats["logprob"], logp.gather(-1, targets[..., None])[..., 0], atol=1e-5)
    assert "lens_logprob" not in next_token_statistics(logits, targets)


def _stats(ids: list[int], logprob: float = -2.0) -> TokenStats:
    ids_a = np.array(ids, dtype=np.int64)
    padded = np.array([-1, -1, *ids[:-1]], dtype=np.int64)
    previous = np.stack([padded[:-1], padded[1:]], axis=1)
    n = len(ids)
    return TokenStats(ids_a, previous, tuple((i, i + 1) for i in range(n)), np.full(n, logprob, np.float32),
                      np.full(n, 3.0, np.float32), np.full(n, 12.0, np.float32), np.arange(1, n + 1, dtype=np.int32), n,
                      *(np.full((len(LENS_LAYERS), n), value, np.float32) for value in (logprob - 1.5, 2.0, 4.0)))


def test_the_trigram_model_prefers_what_human_text_said_and_is_a_distribution() -> None:
    vocab = 12
    model = NGramModel.fit([np.array([1, 2, 3, 1, 2, 3, 1, 2, 4])], vocab)
    seen = _stats([1, 2, 3])
    unseen = _stats([1, 2, 7])
    assert model.logprobs(seen.ids, seen.previous)[1][-1] > model.logprobs(unseen.ids, unseen.previous)[1][-1]
    context = np.array([[1, 2]] * vocab)
    unigram, trigram = model.logprobs(np.arange(vocab), context)
    assert np.exp(trigram).sum() == pytest.approx(1.0, abs=1e-9)
    assert np.exp(unigram).sum() == pytest.approx(1.0, abs=1e-9)
    restored = NGramModel.from_tensors(model.to_tensors(), vocab)
    assert np.allclose(restored.logprobs(seen.ids, seen.previous)[1], model.logprobs(seen.ids, seen.previous)[1])


def test_features_are_finite_and_token_shares_sum_to_the_mean_features_part_of_the_logit() -> None:
    model = NGramModel.fit([np.arange(20) % 7], 10)
    stats = _stats([1, 2, 3, 4, 5, 6, 1, 2, 3, 4] * 5)
    x = feature_vector(stats, model, "a text with some words. Another sentence here!")
    assert x.shape == (len(FEATURE_NAMES),) and np.isfinite(x).all()
    rng = np.random.default_rng(0)
    weights, mean, std = rng.normal(size=len(FEATURE_NAMES)), rng.normal(size=len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES)) * 2
    shares = token_contributions(stats, model, weights, mean, std)
    k = len(TOKEN_QUANTITIES)
    assert shares.sum() == pytest.approx(float(((x[:k] - mean[:k]) / std[:k] * weights[:k]).sum()), rel=1e-9)


def test_the_logistic_regression_learns_a_planted_signal() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 5))
    y = (x[:, 2] + 0.2 * rng.normal(size=400) > 0).astype(float)
    weight, _ = fit_logistic(x, y, l2=1e-4)
    assert np.argmax(np.abs(weight)) == 2 and weight[2] > 0


def test_each_corpus_and_class_weighs_the_same_shared_equally_by_its_domains() -> None:
    counts = {("squad", HUMAN): 3, ("squad", MACHINE): 30, ("writing", MACHINE): 10, ("arxiv", HUMAN): 2,
              ("arxiv", MACHINE): 4, ("wikihow", MACHINE): 1, ("reddit", MACHINE): 5}
    items = [Scored(LabelledText("x", label, "s", "g", domain), None)  # type: ignore[arg-type]
             for (domain, label), n in counts.items() for _ in range(n)]
    weights = equal_corpus_weights(items)

    def total(domains: set[str], label: int) -> float:
        return float(sum(w for s, w in zip(items, weights) if s.text.domain in domains and s.text.label == label))

    base_models, chat = {"squad", "writing"}, {"arxiv", "wikihow", "reddit"}
    for label in (HUMAN, MACHINE):
        assert total(base_models, label) == pytest.approx(1.0)
        assert total(chat, label) == pytest.approx(1.0)
    assert total({"squad"}, MACHINE) == pytest.approx(total({"writing"}, MACHINE)) == pytest.approx(0.5)
    assert total({"wikihow"}, MACHINE) == pytest.approx(total({"reddit"}, MACHINE)) == pytest.approx(1 / 3)


def test_training_texts_get_n_gram_features_from_models_that_never_saw_their_group() -> None:
    vocab = 400
    rng = np.random.default_rng(3)
    items = []
    for g in range(12):  # each group: a human text and its continuation, in tokens of its own
        words = rng.choice(vocab, size=8, replace=False)
        for label in (HUMAN, MACHINE):
            ids = [int(w) for w in rng.choice(words, size=80)]
            items.append(Scored(LabelledText("Some words. And more.", label, "s", f"group-{g}", "squad"), _stats(ids)))
    assert len({ngram_fold(s) for s in items}) > 1
    crossed = cross_fitted_features(items, vocab)
    everyone = NGramModel.fit([s.stats.ids for s in items if s.text.label == HUMAN], vocab)
    trigram = FEATURE_NAMES.index("mean:trigram")
    for i, item in enumerate(items):
        others = NGramModel.fit([s.stats.ids for s in items
                                 if s.text.label == HUMAN and ngram_fold(s) != ngram_fold(item)], vocab)
        assert np.allclose(crossed[i], features_of([item], others)[0])
        # A model that had seen the group finds its texts far likelier than one that had not.
        assert features_of([item], everyone)[0][trigram] > crossed[i][trigram] + 1.0


def test_metrics_warn_when_few_human_texts_make_the_1pct_fpr_row_degenerate() -> None:
    labels = np.array([0] * 50 + [1] * 50)
    scores = np.r_[np.linspace(0, 0.5, 50), np.linspace(0.4, 1, 50)]
    row = metrics(labels, scores, threshold=0.6)
    assert row["n_human"] == 50 and "zero false positives" in row["note"]
    assert 0.9 < row["auroc"] <= 1 and row["fpr_at_threshold"] == 0.0


def test_the_training_cache_keeps_finished_chunks_and_scores_only_what_is_missing(tmp_path) -> None:
    from detectors.text.stats_cache import StatsCache

    class CountingLM:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def statistics(self, texts, max_tokens):  # type: ignore[no-untyped-def]
            self.seen += list(texts)
            return [_stats([1, 2, 3, len(t)]) for t in texts]

    lm = CountingLM()
    StatsCache(tmp_path, "ab" * 32, max_tokens=16).fill(lm, ["one", "two", "one"])  # type: ignore[arg-type]
    assert lm.seen == ["one", "two"]
    reopened = StatsCache(tmp_path, "ab" * 32, max_tokens=16)
    assert reopened.missing(["one", "two", "three"]) == ["three"]
    assert reopened.get("two").ids.tolist() == [1, 2, 3, 3]
    assert StatsCache(tmp_path, "cd" * 32, max_tokens=16).missing(["one"]) == ["one"]  # another LM: nothing reused
